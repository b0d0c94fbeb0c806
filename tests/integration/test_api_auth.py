"""Who may use the local API: a client that keeps guessing tokens is held off (and the log
says so once), a read-only token reads but changes nothing, short tokens are refused."""

from __future__ import annotations

import logging

import pytest

from panel.api import auth
from panel.config import ConfigError, from_dict
from tests.support import TOKEN, make_config, start_panel, until

READ_TOKEN = "read-only-token-0123456789"


@pytest.fixture
async def panel(tmp_path):
    running = await start_panel(make_config(tmp_path, api={"read_token": READ_TOKEN}))
    try:
        yield running
    finally:
        await running.session.close()
        await running.stop()


async def status_with(panel, token, path="/status", method="GET"):
    async with panel.request(method, path, token=token) as r:
        return r.status, r.headers.get("Retry-After"), (await r.json())


async def test_repeated_wrong_tokens_hold_the_address_off_and_are_logged_once(panel, caplog):
    caplog.set_level(logging.WARNING, logger="panel.api.auth")
    for i in range(auth.MAX_FAILURES):
        status, _, body = await status_with(panel, f"guess-{i:04d}-0123456789abcdef")
        assert status == 401 and "bearer token" in body["error"]
    # Now even the right token is held off for a while: a guesser learns nothing more.
    status, retry_after, body = await status_with(panel, TOKEN)
    assert status == 429 and retry_after == "1" and "127.0.0.1" in body["error"]
    status, *_ = await status_with(panel, "another-guess-0123456789abcdef")
    assert status == 429
    warnings = [r.getMessage() for r in caplog.records if "wrong tokens" in r.getMessage()]
    assert warnings == [f"local API: {auth.MAX_FAILURES} wrong tokens in a row from 127.0.0.1; refusing it for 1 s"]
    # The back-off ends, and a right token clears the count.
    async def taken():
        return (await status_with(panel, TOKEN))[0] == 200
    await until(taken, what="the right token taken again after the back-off")
    assert (await status_with(panel, "one-more-guess-0123456789abc"))[0] == 401
    assert (await panel.get_json("/status"))["door"]["relay"] == "locked"


def test_the_addresses_remembered_are_bounded():
    now = [0.0]
    guard = auth.Auth(TOKEN, clock=lambda: now[0])
    for i in range(auth.MAX_ADDRESSES * 3):
        with pytest.raises(auth.ApiError):
            guard.check(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", "Bearer wrong-0123456789abcdef", control=False)
    assert len(guard._failures) == auth.MAX_ADDRESSES


async def test_a_read_token_reads_but_changes_nothing(panel):
    for path in ("/status", "/events", "/ui", "/screen.png"):
        async with panel.request("GET", path, token=READ_TOKEN) as r:
            assert r.status == 200, path
    for path, body in (("/door/open", {}), ("/touch", {"x": 400, "y": 900}), ("/camera/frame", None)):
        async with panel.request("POST", path, token=READ_TOKEN, json=body) as r:
            assert r.status == 403, path
            assert "api.token" in (await r.json())["error"]
    status = await panel.get_json("/status")
    assert status["door"]["relay"] == "locked" and status["screen"] == "home"
    assert (await panel.open_door())["opening"]                 # the control token may


@pytest.mark.parametrize("api,words", [({"read_token": "short"}, "'api.read_token' is too short"),
                                       ({"token": "x" * 15}, "'api.token' is too short"),
                                       ({"token": TOKEN, "read_token": TOKEN}, "'api.read_token' is the same")])
def test_short_or_shared_tokens_are_a_config_error_naming_the_key(api, words):
    with pytest.raises(ConfigError, match=words):
        from_dict({"api": api, "door": {"backend": "gpio"}, "gpio": {"pin_factory": "mock"},
                   "camera": {"source": "synthetic"}, "audio": {"microphone": "tone", "speaker": "sink"}})
