"""The SQLite store on real files: what it keeps, and that a kill -9 loses nothing.

A kill -9 leaves the writes in the OS page cache, so the kill test shows the store
survives its process dying mid-write, not that it survives a power cut (it passes
with synchronous=OFF too): test_store_power_cut.py simulates the power cut."""

import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from panel.directory import Resident
from panel.store import Store, StoreError


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "panel.db")
    yield s
    s.close()


def test_access_log_round_trip_with_snapshot(store):
    first = store.log_access(door="main", granted=True, method="qr", who="Olivia Smith",
                             credential_id="c1", snapshot=b"\xff\xd8jpeg")
    second = store.log_access(door="main", granted=False, method="qr", reason="expired")
    events = store.events()
    assert [e.id for e in events] == [first, second]
    assert events[0].granted and events[0].who == "Olivia Smith" and events[0].has_snapshot
    assert not events[1].granted and events[1].reason == "expired" and not events[1].has_snapshot
    assert store.snapshot(first) == b"\xff\xd8jpeg"
    assert store.snapshot(second) is None
    assert [e.id for e in store.events(after=first)] == [second]
    assert store.events(after=second) == []


def test_every_log_entry_is_queued_for_the_cloud_in_order(store):
    ids = [store.log_access(door="main", granted=True, method="api", who=str(i)) for i in range(5)]
    pending = store.outbox_pending()
    assert [p.payload["event_id"] for p in pending] == ids
    store.outbox_sent([pending[0].id, pending[1].id])
    assert [p.payload["event_id"] for p in store.outbox_pending()] == ids[2:]


def test_directory_cache_is_replaced_whole(store):
    store.replace_residents([Resident("r1", "Ann", "Zed", "1"), Resident("r2", "Bob", "Abel", "2")])
    store.replace_residents([Resident("r2", "Bob", "Abel", "2"), Resident("r3", "Zoë", "Müller", "3", "Z.M.")])
    assert [r.id for r in store.residents()] == ["r2", "r3"]
    assert store.residents()[1].display_name == "Z.M."


def test_residents_keep_their_access_cards(store):
    store.replace_residents([Resident("r1", "Ann", "Zed", "1", cards=("42:1001", "raw:32:04a2b3c4")),
                             Resident("r2", "Bob", "Abel", "2")])
    assert {r.id: r.cards for r in store.residents()} == {"r1": ("42:1001", "raw:32:04a2b3c4"), "r2": ()}


def test_a_store_from_the_first_release_is_upgraded_and_keeps_its_log(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE access_log (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, door TEXT NOT NULL,
            granted INTEGER NOT NULL, method TEXT NOT NULL, who TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL DEFAULT '', credential_id TEXT NOT NULL DEFAULT '', snapshot BLOB);
        CREATE TABLE residents (id TEXT PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL,
            unit TEXT NOT NULL, display_name TEXT NOT NULL DEFAULT '');
        INSERT INTO access_log (ts, door, granted, method, who) VALUES (1.0, 'main', 1, 'qr', 'Ann Zed');
        INSERT INTO residents VALUES ('r1', 'Ann', 'Zed', '1', '');
        PRAGMA user_version = 1;
    """)
    db.close()
    s = Store(path)
    try:
        assert [e.who for e in s.events()] == ["Ann Zed"]
        assert s.residents() == [Resident("r1", "Ann", "Zed", "1")]
        s.replace_residents([Resident("r1", "Ann", "Zed", "1", cards=("42:7",))])
        assert s.residents()[0].cards == ("42:7",)
    finally:
        s.close()


def test_revocations_survive_reopening(tmp_path):
    s = Store(tmp_path / "p.db")
    s.revoke("cred-7", "moved out")
    s.close()
    s = Store(tmp_path / "p.db")
    assert s.is_revoked("cred-7") and not s.is_revoked("cred-8")
    assert s.revocations() == {"cred-7"}
    s.close()


def test_meta_values(store):
    assert store.get_meta("cursor") is None
    store.set_meta("cursor", "42")
    assert store.get_meta("cursor") == "42"


def test_store_uses_wal_and_full_sync(store):
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_closed_store_refuses_writes(tmp_path):
    s = Store(tmp_path / "x.db")
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.log_access(door="main", granted=True, method="api")


def test_unusable_path_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(StoreError, match="cannot open the panel store"):
        Store(tmp_path / "file" / "panel.db")


def test_not_a_database_is_a_clear_error(tmp_path):
    (tmp_path / "junk.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the panel store"):
        Store(tmp_path / "junk.db")


WRITER = textwrap.dedent("""
    import sys
    from panel.store import Store
    store = Store(sys.argv[1])
    i = 0
    while True:
        i += 1
        event_id = store.log_access(door="main", granted=i % 2 == 0, method="qr", who=f"holder {i}",
                                    snapshot=bytes(2000))
        print(event_id, i, flush=True)   # printed only after the write call returned
""")


def test_kill_9_right_after_a_write_loses_nothing(tmp_path):
    path = tmp_path / "panel.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    confirmed = {}
    try:
        for line in proc.stdout:
            event_id, i = map(int, line.split())
            confirmed[event_id] = i
            if len(confirmed) == 200:
                proc.send_signal(signal.SIGKILL)   # mid-stream: the writer is already in its next write
                break
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    store = Store(path)
    try:
        kept = {e.id: e for e in store.events(limit=1000)}
        for event_id, i in confirmed.items():
            assert kept[event_id].who == f"holder {i}"
            assert kept[event_id].granted == (i % 2 == 0)
        outbox_ids = {p.payload["event_id"] for p in store.outbox_pending(limit=1000)}
        assert set(confirmed) <= outbox_ids
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
    finally:
        store.close()
