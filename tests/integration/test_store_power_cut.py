"""A power cut right after `log_access` returns loses no acknowledged entry.

The store's own code (its PRAGMAs, schema and statements) runs on an apsw connection
through `tests.powercut.PowerCutVFS`, which throws away on a simulated power cut
everything SQLite had not synced. After the cut the firmware's ordinary Store (the
stdlib sqlite3 module) reopens the files. The second half shows the cut is real:
configured with synchronous=OFF or NORMAL, the same store does lose acknowledged
entries, so the first half would fail with those settings.
"""

import sqlite3

import pytest

import panel.store.db as store_db
from panel.store import Store
from tests.powercut import PowerCutVFS, connect_through


@pytest.fixture
def vfs():
    vfs = PowerCutVFS()
    yield vfs
    vfs.unregister()


def write_then_cut(vfs, path, count, start=1):
    """Log `count` entries through the VFS, cut the power right after the last
    `log_access` returned; return {event_id: i} of the acknowledged entries."""
    store = Store(path, connect=connect_through(vfs))
    acknowledged = {}
    for i in range(start, start + count):
        event_id = store.log_access(door="main", granted=i % 2 == 0, method="qr", who=f"holder {i}",
                                    snapshot=bytes(2000) + i.to_bytes(4, "big"))
        acknowledged[event_id] = i
    vfs.power_cut()
    store.close()      # the machine is off: this close writes nothing
    vfs.restore()
    return acknowledged


def kept_after_reboot(path):
    """What the firmware's own Store finds after the power comes back."""
    store = Store(path)
    try:
        events = {e.id: e for e in store.events(limit=10_000)}
        outbox = {p.payload["event_id"] for p in store.outbox_pending(limit=10_000)}
        snapshots = {event_id: store.snapshot(event_id) for event_id in events}
    finally:
        store.close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
    return events, outbox, snapshots


def test_the_vfs_runs_the_store_with_its_real_settings(vfs, tmp_path):
    store = Store(tmp_path / "panel.db", connect=connect_through(vfs))
    try:
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2     # FULL
    finally:
        store.close()


# 300 entries pass SQLite's automatic checkpoint (1000 WAL pages), so a cut after a
# checkpoint, with the entries split between the database file and the WAL, is covered.
@pytest.mark.parametrize("count", [1, 5, 300])
def test_a_power_cut_right_after_log_access_loses_no_acknowledged_entry(vfs, tmp_path, count):
    path = tmp_path / "panel.db"
    acknowledged = write_then_cut(vfs, path, count)
    # power back on: the panel writes on, and the power goes again
    acknowledged |= write_then_cut(vfs, path, 3, start=count + 1)
    events, outbox, snapshots = kept_after_reboot(path)
    for event_id, i in acknowledged.items():
        assert event_id in events, f"acknowledged entry {event_id} (holder {i}) lost in the power cut"
        assert events[event_id].who == f"holder {i}" and events[event_id].granted == (i % 2 == 0)
        assert snapshots[event_id] == bytes(2000) + i.to_bytes(4, "big")
    assert set(acknowledged) <= outbox


def test_the_checkpoint_case_is_really_covered(vfs, tmp_path):
    path = tmp_path / "panel.db"
    write_then_cut(vfs, path, 300)
    assert path.stat().st_size > 100 * 4096      # entries reached the database file itself


@pytest.mark.parametrize("synchronous", ["OFF", "NORMAL"])
def test_the_cut_takes_what_was_not_synced(vfs, tmp_path, monkeypatch, synchronous):
    """The same store with weaker settings loses acknowledged entries (so the test
    above can fail): with synchronous=OFF nothing is ever synced, with NORMAL a WAL
    commit is synced only at a checkpoint."""
    pragmas = tuple(f"synchronous={synchronous}" if p.startswith("synchronous=") else p
                    for p in store_db.PRAGMAS)
    assert pragmas != store_db.PRAGMAS
    monkeypatch.setattr(store_db, "PRAGMAS", pragmas)
    path = tmp_path / "panel.db"
    acknowledged = write_then_cut(vfs, path, 5)
    monkeypatch.undo()
    events, _, _ = kept_after_reboot(path)
    assert max(acknowledged) not in events
    assert not set(acknowledged) <= set(events)
