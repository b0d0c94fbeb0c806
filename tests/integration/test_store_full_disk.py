"""A full disk under the panel's state folder: a real tmpfs of a few hundred KB.

The panel keeps opening the door for QR keys, says the store is full (GET status,
a discreet banner), takes the cloud's settings and directory without falling over,
and once space is freed the entries it held in memory are on disk, in order. A
panel started on a full disk starts all the same."""

from __future__ import annotations

import errno
import io
import os
import subprocess

import pytest

from panel.access import qr_code
from tests.support import start_cloud_and_panel, stop_world, until

SIZE = "512k"


@pytest.fixture
def small_disk(tmp_path):
    """tmp_path/state on its own tmpfs of SIZE; unmounted afterwards."""
    state = tmp_path / "state"
    state.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(state)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield state
    finally:
        subprocess.run(["umount", "-l", str(state)], check=False)


def fill(folder) -> os.PathLike:
    """Write a file until the disk says no more (ENOSPC); return it."""
    path = folder / "filler"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (65536, 4096, 512):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
    finally:
        os.close(fd)
    return path


def qr_png(text: str) -> bytes:
    buf = io.BytesIO()
    qr_code(text).save(buf, kind="png", scale=6, border=4)
    return buf.getvalue()


def overlap(a, b) -> bool:
    ax, ay, aw, ah = (a[k] for k in ("x", "y", "w", "h")) if isinstance(a, dict) else a
    bx, by, bw, bh = (b[k] for k in ("x", "y", "w", "h")) if isinstance(b, dict) else b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


SECTIONS = dict(door={"pulse_seconds": 0.3}, screen={"message_seconds": 0.5})


async def open_with_key(panel, cloud, n: int) -> None:
    """Show key number n; the door opens for it (and relocks)."""
    key = cloud.issuer.issue(holder_id="r01", holder_name=f"Holder {n}", credential_id=f"cred-{n}")
    opened = panel.app.door.strike
    async with panel.request("POST", "/camera/frame", data=qr_png(key)) as r:
        assert r.status == 200, await r.text()
    await until(lambda: opened.unlocked, what=f"the door opening for key {n}")
    await until(lambda: not opened.unlocked, what=f"the door relocking after key {n}")


async def store_state(panel) -> str:
    return (await panel.get_json("/status"))["store"]["state"]


async def store_ok(panel) -> bool:
    return await store_state(panel) == "ok"


async def test_a_full_disk_degrades_and_loses_nothing(small_disk):
    cloud, panel = await start_cloud_and_panel(small_disk.parent, **SECTIONS)
    try:
        filler = fill(small_disk)
        n = 0
        # The next writes fail as soon as SQLite needs a page more: the panel notices.
        while await store_state(panel) != "full":
            assert n < 12, "the store never said it was full"
            await open_with_key(panel, cloud, n)
            n += 1
        for _ in range(3):                          # the door keeps opening while full
            await open_with_key(panel, cloud, n)
            n += 1
        status = await panel.get_json("/status")
        assert status["store"]["queued"] >= 1 and "full" in status["store"]["problem"]
        widgets = (await panel.ui())["widgets"]
        [banner] = [w for w in widgets if w["id"] == "storage"]
        assert banner["role"] == "status" and "storage" in banner["label"].lower()
        # A note for staff: it covers nothing of what the visitor sees or taps.
        assert not [w["id"] for w in widgets if w is not banner and overlap(w["rect"], banner["rect"])]
        # The cloud's updates need the disk too: they hold in memory, the panel runs on.
        await cloud.push_settings()
        await cloud.push_directory()
        await open_with_key(panel, cloud, n)
        n += 1
        assert not panel.task.done()

        os.remove(filler)                           # space returns
        await until(lambda: store_ok(panel), timeout=20, what="the store writable again")

        async def logged():
            events = (await panel.get_json(f"/events?limit={n + 5}"))["events"]
            return events if len(events) >= n else None
        events = await until(logged, timeout=20, what=f"{n} entries on disk")
        assert [e["credential_id"] for e in events] == [f"cred-{i}" for i in range(n)]
        assert all(e["granted"] for e in events)
        # ... and they go to the cloud too, in order.
        await until(lambda: len(cloud.office.log) >= n, timeout=20, what="the entries uploaded")
        assert [e["credential_id"] for e in cloud.office.log] == [f"cred-{i}" for i in range(n)]
    finally:
        await stop_world(cloud, panel)


async def test_a_panel_starts_on_a_full_disk(small_disk):
    filler = fill(small_disk)                       # not even room for the store's file
    cloud, panel = await start_cloud_and_panel(small_disk.parent, **SECTIONS)
    try:
        status = await panel.get_json("/status")
        assert status["store"]["state"] in ("full", "unavailable"), status["store"]
        assert status["store"]["problem"]
        await open_with_key(panel, cloud, 0)
        await cloud.push_settings()
        await open_with_key(panel, cloud, 1)
        assert (await panel.get_json("/status"))["store"]["queued"] == 2
        assert not panel.task.done()
        os.remove(filler)
        await until(lambda: store_ok(panel), timeout=20, what="the store opened once there is room")

        async def logged():                         # the writer empties its queue after the store opens
            events = (await panel.get_json("/events"))["events"]
            return events if len(events) >= 2 else None
        events = await until(logged, timeout=20, what="the two queued entries on disk")
        assert [e["credential_id"] for e in events] == ["cred-0", "cred-1"]
    finally:
        await stop_world(cloud, panel)
