"""The access-log upload copes with any entry, against the real dev cloud and a real panel.

A big frame in view when the door opens used to make a snapshot over the cloud's
message limit: the cloud closed the socket, the panel sent it again on the next
link, for ever (the link flapping, "Calls unavailable"), across restarts too."""

from __future__ import annotations

import io

import cv2
import numpy as np

from panel.access import qr_code
from panel.config import Config
from panel.sim.cloud import DevCloud
from panel.store import Store
from tests.support import make_config, start_cloud_and_panel, start_panel, stop_world, until


def big_frame_with(text: str) -> bytes:
    """A 3200x2400 frame of camera noise (a high-resolution camera in low light) with a QR
    key in a corner: as the panel's JPEG, over the dev cloud's message limit in base64."""
    buf = io.BytesIO()
    qr_code(text).save(buf, kind="png", scale=8, border=4)
    qr = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_COLOR)
    frame = np.random.default_rng(7).integers(0, 256, (2400, 3200, 3), dtype=np.uint8)
    frame[100:100 + qr.shape[0], 100:100 + qr.shape[1]] = qr
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok and len(data) * 4 / 3 > 4 * 1024 * 1024       # aiohttp's default, the dev cloud's
    return data.tobytes()


async def uploaded(cloud, count: int, timeout: float = 20) -> list[dict]:
    await until(lambda: len(cloud.office.log) >= count, timeout=timeout, what=f"{count} entries at the cloud")
    return cloud.office.log


async def test_a_big_frame_in_view_is_stored_small_and_uploaded(tmp_path):
    cloud, panel = await start_cloud_and_panel(tmp_path, door={"pulse_seconds": 0.3})
    try:
        key = cloud.issuer.issue(holder_id="r01", holder_name="Olivia Smith", credential_id="cred-big")
        async with panel.request("POST", "/camera/frame", data=big_frame_with(key)) as r:
            assert r.status == 200, await r.text()
        await until(lambda: panel.app.strike.unlocked, timeout=10, what="the door opening")
        await panel.open_door("staff")              # and an entry after it
        [first, second] = await uploaded(cloud, 2)
        assert first["credential_id"] == "cred-big" and second["method"] == "api"
        stored = cv2.imdecode(np.frombuffer(first["snapshot"], np.uint8), cv2.IMREAD_COLOR)
        assert max(stored.shape[:2]) <= Config().store.snapshot_max_side
        assert len(first["snapshot"]) <= Config().store.snapshot_max_bytes
        async with panel.request("GET", f"/events/{1}/snapshot.jpg") as r:
            assert r.status == 200 and await r.read() == first["snapshot"]
        assert (await panel.status())["cloud"]["link"] == "up"
    finally:
        await stop_world(cloud, panel)


async def test_an_entry_over_the_message_limit_goes_without_its_snapshot(tmp_path):
    """An entry stored by an older firmware with a 5 MB snapshot: sent without it, marked,
    and the entries after it follow; a restart sends nothing again."""
    config = make_config(tmp_path)
    store = Store(config.state_dir / "panel.db")
    store.log_access(door="main", granted=True, method="qr", who="Big Frame",
                     snapshot=np.random.default_rng(3).bytes(5 * 1024 * 1024))
    store.log_access(door="main", granted=True, method="api", who="After")
    store.close()
    cloud, panel = await start_cloud_and_panel(tmp_path)
    try:
        [big, after] = await uploaded(cloud, 2)
        assert big["who"] == "Big Frame" and big.get("snapshot") is None and big["snapshot_omitted"] == "too_large"
        assert after["who"] == "After"
        assert (await panel.status())["cloud"]["link"] == "up"
        await panel.client.close()
        await panel.stop()
        panel = await start_panel(panel.app.config)
        await panel.open_door("staff")
        entries = await uploaded(cloud, 3)
        assert [e["who"] for e in entries] == ["Big Frame", "After", "staff"]
    finally:
        await stop_world(cloud, panel)


async def test_messages_the_cloud_refuses_do_not_block_the_ones_after(tmp_path):
    """A cloud with a small message limit closes the socket on what is over it: the
    snapshot is dropped on the next try; an entry too big even without it is skipped
    after a few tries, logged, and the next entries are uploaded."""
    cloud = DevCloud(Config().property_file, panel_token="panel-token-for-tests", max_message_bytes=4096)
    config = make_config(tmp_path, cloud={"url": cloud.panel_url, "token": cloud.panel_token})
    store = Store(config.state_dir / "panel.db")
    store.log_access(door="main", granted=True, method="qr", who="Snapshot", snapshot=bytes(8000))
    store.log_access(door="main", granted=False, method="qr", reason="malformed", who="x" * 6000)
    store.log_access(door="main", granted=True, method="api", who="After")
    store.close()
    await cloud.start()
    config = config.replace("cloud", url=cloud.panel_url)
    panel = await start_panel(config)
    try:
        entries = await uploaded(cloud, 2)
        assert [e["who"] for e in entries] == ["Snapshot", "After"]
        assert entries[0].get("snapshot") is None and entries[0]["snapshot_omitted"] == "rejected"
        assert panel.app.cloud.sync.skipped == 1
        await until(lambda: panel.app.state.cloud_online, what="the link up again")
    finally:
        await stop_world(cloud, panel)
