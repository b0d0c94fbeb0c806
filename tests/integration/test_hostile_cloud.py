"""A hostile or broken cloud against a real panel: a small aiohttp WebSocket server on
127.0.0.1 plays the cloud and sends each kind of bad message. The panel stays up, says
one line per kind of problem (however often it comes), never a traceback, keeps its
link, and a QR key still opens the door."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from aiohttp import WSMsgType, web

from panel.call.signaling import MAX_MESSAGE_BYTES
from panel.sim.issuer import DevIssuer
from tests.qr import key_opens_the_door
from tests.support import make_config, start_panel, until

ISSUER = DevIssuer(None)


class HostileCloud:
    """Accepts the panel's socket and sends what the test says; records what the panel sends.
    `silent`: accept, then neither read nor answer pings."""

    def __init__(self, *, silent: bool = False, reply=None):
        self.silent, self.reply = silent, reply
        self.connections = 0
        self.received: list[dict] = []
        self.ws: web.WebSocketResponse | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.add_routes([web.get("/ws/panel", self._socket)])
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.2)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"ws://127.0.0.1:{self._runner.addresses[0][1]}/ws/panel"

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _socket(self, request):
        ws = web.WebSocketResponse(autoping=not self.silent, max_msg_size=0)
        await ws.prepare(request)
        self.connections += 1
        self.ws = ws
        if self.silent:
            await asyncio.Event().wait()            # until the server shuts down
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                m = json.loads(msg.data)
                self.received.append(m)
                if self.reply is not None:
                    await self.reply(self, m)
        return ws

    async def send(self, message) -> None:
        if isinstance(message, bytes):
            await self.ws.send_bytes(message)
        else:
            await self.ws.send_str(message if isinstance(message, str) else json.dumps(message))


@pytest.fixture
async def world(tmp_path, request):
    cloud = HostileCloud(**getattr(request, "param", {}))
    await cloud.start()
    config = make_config(tmp_path, cloud={"url": cloud.url, "token": "t", "heartbeat_seconds": 0.4},
                         access={"trusted_keys": ISSUER.trusted_keys()}, door={"pulse_seconds": 0.3})
    panel = await start_panel(config)
    try:
        await until(lambda: panel.app.state.cloud_online, what="cloud link up")
        yield cloud, panel
    finally:
        await panel.client.close()
        await panel.stop()
        await cloud.stop()


async def handled(cloud, panel, mark: str) -> None:
    """Everything the cloud sent before is handled: a revocation sent after it is in effect."""
    await cloud.send({"type": "revocations", "ids": [mark]})
    await until(lambda: mark in panel.app.gate.revoked, what=f"revocation {mark} in effect")


async def still_fine(cloud, panel, caplog) -> None:
    assert not panel.task.done()
    assert (await panel.get_json("/status"))["cloud"] == {"link": "up"}
    await key_opens_the_door(panel, ISSUER)
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)


def said(caplog, words: str) -> int:
    return sum(words in r.getMessage() for r in caplog.records)


BAD = {
    "not json": ("{not json", "not JSON"),
    "NaN": ('{"type": "settings", "visitor_limit_hours": NaN}', "not JSON"),
    "a number too long": ('{"type": "event_ack", "id": ' + "9" * 5000 + "}", "not JSON"),
    "nesting too deep": ("[" * 100_000 + "]" * 100_000, "not JSON"),
    "an array": ("[1, 2, 3]", "not an object with a type"),
    "null": ("null", "not an object with a type"),
    "a type not a string": ('{"type": 7}', "not an object with a type"),
    "binary": (b"\x00\xff\x00", "binary message"),
    "an unknown type": ({"type": "reboot", "now": True}, "unknown type 'reboot'"),
    "an ill-typed call id": ({"type": "accepted", "call_id": {"x": 1}, "device": "d"},
                             "'accepted' message that cannot be used ('call_id' is dict"),
    "an ill-typed ack id": ({"type": "event_ack", "id": [1]}, "'event_ack' message that cannot be used"),
    "a bool for a number": ({"type": "settings", "visitor_limit_hours": True}, "'settings' message that cannot"),
    "a huge device id": ({"type": "remote_unlock", "device": "d" * 100_000, "resident_id": "r01"},
                         "'device' is 100000 characters long"),
    "residents not objects": ({"type": "directory", "residents": [1, "two"]}, "directory entry that is int"),
    "an absurd name": ({"type": "directory", "residents": [{"id": "r9", "last_name": "x" * 100_000, "unit": "1"}]},
                       "last_name is 100000 characters long"),
    "too many residents": ('{"type": "directory", "residents": ['
                           + ",".join(['{"id": "r", "last_name": "a", "unit": "1"}'] * 30_000) + "]}",
                           "directory of 30000 entries (at most 20000)"),
    "too many revocations": ({"type": "revocations", "ids": ["x"] * 300_000}, "revocations of 300000 entries"),
}


@pytest.mark.parametrize("kind", BAD)
async def test_a_bad_message_is_ignored_with_one_line_and_the_panel_carries_on(world, caplog, kind):
    cloud, panel = world
    caplog.set_level(logging.INFO)
    message, words = BAD[kind]
    directory = panel.app.gate.directory
    for _ in range(3):
        await cloud.send(message)
    await handled(cloud, panel, "mark-1")
    assert said(caplog, words) == 1, caplog.text
    assert panel.app.gate.directory is directory            # a bad directory keeps the old one
    await still_fine(cloud, panel, caplog)


async def test_junk_revocation_ids_are_left_out_and_the_rest_revoked(world, caplog):
    cloud, panel = world
    await cloud.send({"type": "revocations", "ids": ["cred-stolen", 5, None, {"a": 1}, "y" * 10_000, "", ["z"]]})
    await until(lambda: "cred-stolen" in panel.app.gate.revoked, what="the good id revoked")
    assert said(caplog, "6 revocation ids that are not short strings; those left out") == 1
    key = ISSUER.issue(holder_id="r01", holder_name="Olivia Smith", credential_id="cred-stolen")
    from tests.qr import show
    await show(panel, key)
    events = await until(lambda: panel.get_json("/events"), what="the log")
    await until(lambda: panel.app.store.events(0, 10), what="the refusal logged")
    [entry] = panel.app.store.events(0, 10)
    assert not entry.to_json()["granted"] and entry.to_json()["reason"] == "revoked", events
    await still_fine(cloud, panel, caplog)


@pytest.mark.parametrize("message,words", [
    ("x" * (MAX_MESSAGE_BYTES + 1), "a message over"),
    ('{"type": "directory", "residents": [' + ",".join(['{"id": "r", "last_name": "a", "unit": "1"}'] * 10 ** 6)
     + "]}", "a message over"),
])
async def test_an_oversized_message_closes_the_socket_once_and_the_link_comes_back(world, caplog, message, words):
    cloud, panel = world
    caplog.set_level(logging.INFO)
    try:
        await cloud.send(message)
    except ConnectionError:
        pass                                        # the panel hung up on it
    await until(lambda: cloud.connections == 2 and panel.app.state.cloud_online, timeout=10,
                what="the panel reconnected")
    assert said(caplog, words) == 1
    await handled(cloud, panel, "mark-2")
    await still_fine(cloud, panel, caplog)


async def test_a_flood_is_read_slower_said_once_and_the_door_opens_meanwhile(world, caplog):
    cloud, panel = world
    caplog.set_level(logging.INFO)

    async def flood():
        while True:                                 # until cancelled; the panel's reading paces it
            await cloud.send("{junk")
    flooding = asyncio.create_task(flood())
    try:
        await until(lambda: said(caplog, "reading it slower"), what="the flood noticed")
        await key_opens_the_door(panel, ISSUER)             # the door path does not wait behind it
        assert not flooding.done()
    finally:
        flooding.cancel()
    assert said(caplog, "reading it slower") == 1 and said(caplog, "not JSON") == 1
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("world", [{"silent": True}], indirect=True)
async def test_a_cloud_that_says_nothing_is_caught_by_the_heartbeat(world, caplog):
    cloud, panel = world
    caplog.set_level(logging.INFO)
    await until(lambda: not panel.app.state.cloud_online, what="the link taken down by the heartbeat")
    status = (await panel.get_json("/status"))["cloud"]
    assert status["link"] == "down" and "stopped answering" in status.get("problem", "")
    await key_opens_the_door(panel, ISSUER)
    assert "Traceback" not in caplog.text


# -- a hostile cloud in a call ---------------------------------------------------------------
def answering(sdp=None):
    """A cloud reply: ring, device A accepts, and (if sdp is given) it answers the offer with it."""
    async def reply(cloud, m):
        if m["type"] == "call":
            await cloud.send({"type": "ringing", "call_id": m["call_id"], "devices": 1})
            await cloud.send({"type": "accepted", "call_id": m["call_id"], "device": "A"})
        elif m["type"] == "offer" and sdp is not None:
            await cloud.send({"type": "answer", "call_id": m["call_id"], "sdp": sdp})
    return reply


async def visitor_calls_olivia(cloud, panel) -> str:
    """The visitor taps through to Olivia Smith; the call's id, once the cloud has it."""
    for name in ("Directory", "O", "L", "I", "Olivia Smith"):
        await panel.press(name)
    return (await until(lambda: sent(cloud, "call"), what="the call placed"))[0]["call_id"]


def sent(cloud, kind: str) -> list[dict]:
    return [m for m in cloud.received if m["type"] == kind]


@pytest.mark.parametrize("world", [{"reply": answering("v=0\r\nthis is not SDP\r\n")},
                                   {"reply": answering("garbage")},
                                   {"reply": answering("a=" + "x" * 60_000)}], indirect=True)
async def test_a_garbage_answer_ends_the_call_not_the_panel(world, caplog):
    cloud, panel = world
    call_id = await visitor_calls_olivia(cloud, panel)
    await until(lambda: any(m["call_id"] == call_id for m in sent(cloud, "hangup")), what="the panel hung up")
    assert sent(cloud, "hangup")[-1]["reason"] == "error"
    await until(lambda: panel.app.calls.session is None, what="the call's media closed")
    assert panel.app.state.screen.value == "call_ended"
    assert said(caplog, "unusable answer from the device") == 1
    await still_fine(cloud, panel, caplog)


@pytest.mark.parametrize("world", [{"reply": answering()}], indirect=True)
async def test_forged_call_messages_do_not_end_the_call_or_open_the_door(world, caplog):
    cloud, panel = world
    call_id = await visitor_calls_olivia(cloud, panel)
    await until(lambda: sent(cloud, "offer"), what="the offer to device A")
    assert panel.app.state.screen.value == "in_call"
    for forged in ({"type": "accepted", "call_id": call_id, "device": "B"},           # a second accept
                   {"type": "hangup", "call_id": call_id, "device": "B", "reason": "hung_up"},
                   {"type": "open_door", "call_id": call_id, "device": "B", "who": "Mallory"},
                   {"type": "open_door", "call_id": "another-call", "device": "A", "who": "Mallory"},
                   {"type": "control", "call_id": call_id, "device": "B", "video": False},
                   {"type": "accepted", "call_id": "not-ringing", "device": "B"}):
        await cloud.send(forged)
    await handled(cloud, panel, "mark-3")
    assert panel.app.state.screen.value == "in_call" and panel.app.state.device == "A"
    assert not panel.app.strike.unlocked
    assert [m["call_id"] for m in sent(cloud, "hangup")] == ["not-ringing"]     # only the stray accept
    assert [m["ok"] for m in sent(cloud, "door")] == [False, False]
    assert panel.app.calls.session.video_on                     # B cannot turn the visitor video off
    # Device A, which holds the call, still opens the door.
    await cloud.send({"type": "open_door", "call_id": call_id, "device": "A", "who": "Olivia Smith"})
    await until(lambda: panel.app.strike.unlocked, what="the door opened by device A")
    assert sent(cloud, "door")[-1]["ok"] is True
    assert "Traceback" not in caplog.text


# -- a hostile device, through the real dev cloud ------------------------------------------
async def test_a_hostile_device_through_the_dev_cloud_is_refused(tmp_path, caplog):
    import aiohttp

    from panel.sim.softphone import Softphone
    from tests.support import LOOPBACK, start_cloud_and_panel, stop_world

    cloud, panel = await start_cloud_and_panel(tmp_path, door={"pulse_seconds": 0.3})
    a = Softphone(cloud.device_url("r01", "phone-a"), "phone-a", ice_addresses=LOOPBACK)
    session = aiohttp.ClientSession()
    try:
        await a.connect()
        for name in ("Directory", "O", "L", "I", "Olivia Smith"):
            await panel.press(name)
        call_id = (await a.expect("incoming"))["call_id"]
        await a.accept(call_id)
        await until(lambda: a.video_frames >= 1, timeout=10, what="video at phone A")
        # Noah's phone (another resident) and a second device of Olivia's, both hostile.
        for url in (cloud.device_url("r02", "evil-noah"), cloud.device_url("r01", "evil-olivia")):
            async with session.ws_connect(url) as evil:
                assert (await evil.receive_json(timeout=5))["type"] == "hello"
                for junk in ("not json", "[1]"):
                    await evil.send_str(junk)
                    assert (await evil.receive_json(timeout=5))["type"] == "error"
                await evil.send_json({"type": 5, "call_id": [call_id]})               # not answered
                await evil.send_json({"type": "accept", "call_id": call_id})           # not ringing for them
                assert (await evil.receive_json(timeout=5))["type"] in ("answered_elsewhere", "cancelled")
                await evil.send_json({"type": "open_door", "call_id": call_id})        # not their call
                assert await evil.receive_json(timeout=5) == {"type": "door", "call_id": call_id, "ok": False,
                                                     "reason": "not_in_call", "door": "Main entrance"}
                for forged in ({"type": "answer", "call_id": call_id, "sdp": "garbage"},
                               {"type": "control", "call_id": call_id, "video": False},
                               {"type": "hangup", "call_id": call_id}):
                    await evil.send_json(forged)
                await evil.send_json({"type": "open_door", "call_id": call_id})        # a marker: all handled
                assert (await evil.receive_json(timeout=5))["ok"] is False
        assert panel.app.state.screen.value == "in_call" and panel.app.state.device == "phone-a"
        assert panel.app.calls.session.video_on and not panel.app.strike.unlocked
        assert (await a.open_door(call_id))["ok"] is True                              # A still holds it
        await until(lambda: panel.app.strike.unlocked, what="the door opened by phone A")
        assert "Traceback" not in caplog.text
    finally:
        await session.close()
        await stop_world(cloud, panel, [a])
