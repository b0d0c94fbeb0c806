"""End to end on a running panel: a QR key shown to the camera (POST camera/frame)
opens the mock relay and is logged once; a bad one is refused with its reason."""

from __future__ import annotations

import io
import time

import pytest

from panel.access import issue_credential, qr_code
from panel.access.keys import generate_private_key, public_key_text
from tests.support import make_config, start_panel, until

ISSUER = generate_private_key()
KID = "test-2026"


def credential(**overrides) -> str:
    now = time.time()
    args = dict(holder_id="r01", holder_name="Olivia Smith", kind="resident", doors=["main"],
                not_before=now - 60, not_after=now + 3600, credential_id="cred-olivia")
    args.update(overrides)
    return issue_credential(ISSUER, KID, **args)


def qr_png(text: str) -> bytes:
    buf = io.BytesIO()
    qr_code(text).save(buf, kind="png", scale=6, border=4)
    return buf.getvalue()


@pytest.fixture
async def panel(tmp_path):
    config = make_config(tmp_path, access={"trusted_keys": {KID: public_key_text(ISSUER)}, "dedupe_seconds": 30})
    running = await start_panel(config)
    try:
        yield running
    finally:
        await running.session.close()
        await running.stop()


async def show(panel, text: str) -> None:
    async with panel.request("POST", "/camera/frame", data=qr_png(text)) as r:
        assert r.status == 200, await r.text()


async def new_events(panel, after: int, count: int) -> list[dict]:
    async def fetch():
        events = (await panel.get_json(f"/events?after={after}"))["events"]
        return events if len(events) >= count else None
    return await until(fetch, what=f"{count} access log entries")


async def test_valid_key_opens_the_door_greets_and_logs_once(panel):
    key = credential()
    await show(panel, key)
    await until(lambda: panel.app.strike.unlocked, what="relay energized")
    status = await panel.get_json("/status")
    assert status["screen"] == "access_granted" and status["door"]["relay"] == "unlocked"
    # The mock door swings open on the contact wired to the relay (after the debounce).
    await until(lambda: panel.app.state.door_open, what="door contact open")
    assert (await panel.widget("Welcome, Olivia Smith"))["role"] == "heading"
    [entry] = await new_events(panel, 0, 1)
    assert entry["granted"] and entry["method"] == "qr" and entry["who"] == "Olivia Smith"
    assert entry["credential_id"] == "cred-olivia" and entry["has_snapshot"]
    # Held in front of the camera (the injected frame stays for seconds): still one entry.
    await show(panel, key)
    frames = panel.app.scanner.frames_decoded
    await until(lambda: panel.app.scanner.frames_decoded > frames, what="the code decoded again")
    assert len((await panel.get_json("/events"))["events"]) == 1


@pytest.mark.parametrize("make,reason,words", [
    (lambda: credential(not_before=time.time() - 7200, not_after=time.time() - 1), "expired", "expired"),
    (lambda: credential(doors=["garage"]), "wrong_door", "does not open this door"),
    (lambda: issue_credential(generate_private_key(), KID, holder_id="x", holder_name="Mallory", kind="resident",
                              doors=["main"], not_before=time.time() - 60, not_after=time.time() + 60),
     "bad_signature", "not genuine"),
    (lambda: "https://example.com/not-a-key", "malformed", "cannot be read as a key"),
])
async def test_bad_key_is_refused_with_its_reason(panel, make, reason, words):
    await show(panel, make())
    [entry] = await new_events(panel, 0, 1)
    assert not entry["granted"] and entry["reason"] == reason
    status = await panel.get_json("/status")
    assert status["screen"] == "access_denied" and status["door"]["relay"] == "locked"
    reason_widget = await panel.widget(next(w["label"] for w in (await panel.get_json("/ui"))["widgets"]
                                            if w["id"] == "reason"))
    assert words in reason_widget["label"]
    assert not panel.app.strike.unlocked


async def test_revoked_key_is_refused_at_once_and_after_restart(tmp_path):
    config = make_config(tmp_path, access={"trusted_keys": {KID: public_key_text(ISSUER)}})
    running = await start_panel(config)
    try:
        await running.app.gate.revoke("cred-olivia", "lost phone")
        await show(running, credential())
        [entry] = await new_events(running, 0, 1)
        assert entry["reason"] == "revoked"
    finally:
        await running.session.close()
        await running.stop()
    running = await start_panel(config)     # the revocation is in the store
    try:
        await show(running, credential())
        [entry] = await new_events(running, 1, 1)
        assert entry["reason"] == "revoked" and not running.app.strike.unlocked
    finally:
        await running.session.close()
        await running.stop()
