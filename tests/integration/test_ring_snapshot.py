"""The visitor's picture with the ring: the panel sends a small JPEG of its camera with
each call, the dev cloud passes it to every ringing device and keeps it in the
resident's history; the history outlives a restart of the cloud."""

from __future__ import annotations

import base64

import cv2
import numpy as np

from panel.sim.cloud import _jpeg
from panel.sim.cloud_db import CloudDb
from panel.sim.resident import KEEP, History
from tests.integration import test_calls
from tests.integration.test_calls import OLIVIA, call_olivia
from tests.support import until

world = test_calls.world        # the panel, the dev cloud and softphones


async def test_every_ringing_device_gets_the_visitor_and_the_door(world):
    cloud, panel, phone = world
    a, b = await phone("phone-a"), await phone("phone-b")
    await until(lambda: panel.app.camera.latest is not None, what="a camera frame")
    await call_olivia(panel)
    rings = [await a.expect("incoming"), await b.expect("incoming")]
    assert rings[0]["snapshot"] == rings[1]["snapshot"]
    assert [(r["door"], r["from"]) for r in rings] == [("Main entrance", "Maple Court")] * 2
    jpeg = base64.b64decode(rings[0]["snapshot"])
    assert len(jpeg) <= 20_000
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert max(picture.shape[:2]) == 320
    # It is the camera's picture: the panel's frame made as small looks the same.
    frame = cv2.resize(panel.app.camera.latest, picture.shape[1::-1], interpolation=cv2.INTER_AREA)
    assert np.abs(frame.astype(int) - picture.astype(int)).mean() < 40

    await a.decline(rings[0]["call_id"])
    await b.expect("cancelled")
    [entry] = cloud.history.of(OLIVIA)
    assert (entry["kind"], entry["outcome"], entry["door"], entry["snapshot"]) == ("call", "declined", "Main entrance",
                                                                                   True)
    assert cloud.history.snapshots[entry["id"]] == jpeg


def test_a_ring_snapshot_that_is_no_jpeg_or_too_big_is_left_out():
    small = b"\xff\xd8" + bytes(100)
    assert _jpeg(base64.b64encode(small).decode()) == small
    assert _jpeg(base64.b64encode(b"GIF89a" + bytes(100)).decode()) is None
    assert _jpeg(base64.b64encode(b"\xff\xd8" + bytes(70_000)).decode()) is None
    assert _jpeg("not base64!") is None
    assert _jpeg(None) is None


def test_the_history_outlives_a_restart_and_keeps_its_order_and_pictures(tmp_path):
    db = CloudDb(tmp_path / "cloud.db")
    history = History(db)
    history.rang("call-1", OLIVIA, "Main entrance", "Maple Court", b"\xff\xd8picture")
    history.call("call-1", outcome="answered")
    history.door(OLIVIA, ok=True, reason="", door="Main entrance", call_id="call-1")
    history.call("call-1", end=True, outcome="cancelled", reason="door_opened")   # answered stays answered
    history.door(OLIVIA, ok=False, reason="panel_offline", door="")
    before = history.of(OLIVIA)
    db.close()

    again = History(CloudDb(tmp_path / "cloud.db"))
    after = again.of(OLIVIA)
    assert after == before
    # The door opened in the call is said by the call's entry; the refusal is one of its own.
    assert [(e["kind"], e.get("outcome"), e.get("ok")) for e in after] == [
        ("door", None, False), ("call", "answered", None)]
    assert after[1]["door_opened"] and after[1]["snapshot"]
    assert again.snapshots[after[1]["id"]] == b"\xff\xd8picture"
    assert again.of("r02") == []


def test_the_history_keeps_the_latest_entries_per_resident():
    history = History(CloudDb(None))
    for i in range(KEEP + 5):
        history.rang(f"call-{i}", OLIVIA, "Main entrance", "Maple Court", b"\xff\xd8")
    entries = history.of(OLIVIA)
    assert len(entries) == KEEP and len(history.snapshots) == KEEP
    assert history.calls and entries[0]["id"] == history.calls[f"call-{KEEP + 4}"]
