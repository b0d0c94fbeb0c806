"""[[webhooks]]: a receiver that is down, then up, gets every event in order, signed,
none lost across a kill -9 of the panel; status says what waits."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket

import pytest
from aiohttp import web

from panel.config import ConfigError, from_dict
from panel.remote import PanelProcess
from tests.configs import SIMULATED, with_simulated_parts
from tests.support import TOKEN, until

SECRET = "whsec-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """An aiohttp webhook receiver that checks every signature as README says to."""

    def __init__(self, port: int, fail_first: int = 0):
        self.port, self.fail_first = port, fail_first
        self.posts: list[dict] = []            # every POST, retries included
        self.bad: list[str] = []
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        fields = dict(part.split("=", 1) for part in request.headers["X-Panel-Signature"].split(","))
        expected = hmac.new(SECRET.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["v1"]):
            self.bad.append(request.headers["X-Panel-Signature"])
            return web.Response(status=400)
        event = json.loads(body)
        assert request.headers["Idempotency-Key"] == str(event["id"])
        self.posts.append(event)
        if self.fail_first > 0:                # the receiver's own hiccup: the panel must retry
            self.fail_first -= 1
            return web.Response(status=503)
        return web.Response(status=204)

    def delivered(self) -> list[dict]:
        """Each event once (by its idempotency id), in the order first taken."""
        seen, out = set(), []
        for e in self.posts:
            if e["id"] not in seen:
                seen.add(e["id"])
                out.append(e)
        return out

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


def write_config(tmp_path, port: int):
    path = tmp_path / "panel.toml"
    path.write_text(with_simulated_parts(
        f'[panel]\nstate_dir = "{tmp_path}/state"\n[door]\npulse_seconds = 0.3\n[api]\nport = 0\ntoken = "{TOKEN}"\n'
        f'[[webhooks]]\nurl = "http://127.0.0.1:{port}/hook"\nsecret = "{SECRET}"\n'
        f'events = ["access", "alarm", "door"]\nretry_max_seconds = 0.5\n'))
    return path


async def test_a_receiver_down_then_up_gets_every_event_in_order_across_a_kill_9(tmp_path):
    port = free_port()                          # nothing listens there yet: the receiver is down
    config = write_config(tmp_path, port)
    receiver = Receiver(port, fail_first=1)
    panel = await PanelProcess.run(config).astart()
    try:
        async with panel.client() as api:
            for who in ("one", "two", "three"):
                await api.open_door(who)
            status = await api.until_status(lambda s: s["webhooks"][0]["queued"] >= 3
                                            and s["webhooks"][0]["state"] == "retrying")
            assert "Connect" in status["webhooks"][0]["last_error"]
        await panel.akill()                     # the power goes while the events wait
        panel = await PanelProcess.run(config).astart()
        async with panel.client() as api:
            for who in ("four", "five"):
                await api.open_door(who)
            await until(lambda: _stored(api, 5), what="five entries on disk")
            await receiver.start()              # the receiver comes back
            stored = (await api.events())["events"]
            await until(lambda: [e["data"]["event_id"] for e in receiver.delivered() if e["kind"] == "access"]
                        == [e["id"] for e in stored], timeout=15, what="every access entry delivered")
            await until(lambda: "relocked" in [e["data"]["state"] for e in receiver.delivered()
                                               if e["kind"] == "door"], what="the relock delivered")
            status = await api.until_status(lambda s: s["webhooks"][0]["queued"] == 0)
    finally:
        await panel.astop()
        await receiver.stop()
    got = receiver.delivered()
    assert not receiver.bad                                         # every signature verified
    assert [e["id"] for e in got] == sorted(e["id"] for e in got)   # in outbox order
    assert [e["data"]["who"] for e in got if e["kind"] == "access"] == ["one", "two", "three", "four", "five"]
    assert {"released", "relocked"} <= {e["data"]["state"] for e in got if e["kind"] == "door"}
    assert len(receiver.posts) > len(got)       # the 503 was retried with the same idempotency id
    assert status["webhooks"][0]["state"] == "ok" and status["webhooks"][0]["lost"] == 0


async def _stored(api, n: int) -> bool:
    return len((await api.events())["events"]) >= n


@pytest.mark.parametrize("hook, says", [
    ({"url": "ftp://x", "secret": SECRET}, "'webhooks[0].url'"),
    ({"url": "http://x", "secret": "short"}, "'webhooks[0].secret' must be at least 16"),
    ({"url": "http://x", "secret": SECRET, "events": ["acess"]}, "choose from access"),
])
def test_a_bad_webhook_is_a_one_line_error_naming_the_key(hook, says):
    with pytest.raises(ConfigError, match=".*") as e:
        from_dict({**SIMULATED, "webhooks": [hook]}, "panel.toml")
    assert says in str(e.value) and "\n" not in str(e.value)
