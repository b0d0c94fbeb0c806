"""SQLite store for what must survive a power cut.

Holds the access log (with camera snapshots), the outbox of events for the cloud,
the cached directory and the revocation list. WAL journal with synchronous=FULL:
when a write call returns, the row is on disk (a `kill -9` or a power cut right
after loses nothing). One connection, serialised by a lock; the app calls these
methods from a worker thread (`asyncio.to_thread`) so disk waits never block the
event loop.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..directory import Resident

SCHEMA_VERSION = 3

# The connection settings the durability promise rests on (tests/integration/
# test_store_power_cut.py checks them against a simulated power cut): every COMMIT
# fsyncs the WAL before it returns.
PRAGMAS = ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=5000")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS access_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    ts            REAL    NOT NULL,             -- Unix time
    door          TEXT    NOT NULL,
    granted       INTEGER NOT NULL,
    method        TEXT    NOT NULL,             -- access: qr | card | call | app | api | exit;
                                                -- alarm: contact | tamper | relay | reader
    who           TEXT    NOT NULL DEFAULT '',
    reason        TEXT    NOT NULL DEFAULT '',  -- refusal reason or alarm code
    credential_id TEXT    NOT NULL DEFAULT '',
    snapshot      BLOB,                         -- JPEG from the panel camera
    kind          TEXT    NOT NULL DEFAULT 'access',  -- access | alarm (schema 3)
    detail        TEXT    NOT NULL DEFAULT ''   -- what an alarm says (schema 3)
);
CREATE TABLE IF NOT EXISTS outbox (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,  -- upload order
    ts      REAL    NOT NULL,
    kind    TEXT    NOT NULL,
    payload TEXT    NOT NULL,                   -- JSON
    sent_at REAL                                -- NULL until the cloud acknowledged it
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(id) WHERE sent_at IS NULL;
CREATE TABLE IF NOT EXISTS residents (
    id           TEXT PRIMARY KEY,
    first_name   TEXT NOT NULL,
    last_name    TEXT NOT NULL,
    unit         TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    cards        TEXT NOT NULL DEFAULT ''       -- access card numbers, space-separated (schema 2)
);
CREATE TABLE IF NOT EXISTS revocations (
    credential_id TEXT PRIMARY KEY,             -- a credential id, or "holder:<id>" for everything of a holder
    revoked_at    REAL NOT NULL,
    reason        TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class StoreError(Exception):
    pass


@dataclass(frozen=True)
class AccessEvent:
    id: int
    ts: float
    door: str
    granted: bool
    method: str
    who: str
    reason: str
    credential_id: str
    has_snapshot: bool
    kind: str = "access"        # or "alarm"
    detail: str = ""

    def to_json(self) -> dict:
        return {"id": self.id, "ts": self.ts, "door": self.door, "kind": self.kind, "granted": self.granted,
                "method": self.method, "who": self.who, "reason": self.reason, "detail": self.detail,
                "credential_id": self.credential_id, "has_snapshot": self.has_snapshot}


@dataclass(frozen=True)
class OutboxItem:
    id: int
    ts: float
    kind: str
    payload: dict


def _connect(path: Path) -> sqlite3.Connection:
    """Autocommit mode: the store writes BEGIN IMMEDIATE ... COMMIT itself."""
    return sqlite3.connect(path, check_same_thread=False, isolation_level=None)


class Store:
    """`connect(path)` opens the SQLite connection (the stdlib's by default); a test
    may pass another with the same small interface (`execute` returning a cursor
    with fetchone/fetchall/lastrowid, `executemany`, `executescript`, `close`),
    e.g. one over a VFS that simulates power cuts."""

    def __init__(self, path: str | Path, *, connect: Callable[[Path], sqlite3.Connection] = _connect):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = connect(self.path)
            for pragma in PRAGMAS:
                self._db.execute(f"PRAGMA {pragma}")
            self._migrate()
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"{self.path}: cannot open the panel store: {e}") from None
        self._lock = threading.Lock()

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"store schema {version} is newer than this firmware ({SCHEMA_VERSION})")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(residents)")}
        if "cards" not in columns:        # a store written by schema 1
            self._db.execute("ALTER TABLE residents ADD COLUMN cards TEXT NOT NULL DEFAULT ''")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(access_log)")}
        if "kind" not in columns:         # schema 2 and older: alarms were refusals with the detail in `who`
            self._db.execute("ALTER TABLE access_log ADD COLUMN kind TEXT NOT NULL DEFAULT 'access'")
            self._db.execute("ALTER TABLE access_log ADD COLUMN detail TEXT NOT NULL DEFAULT ''")
            self._db.execute("UPDATE access_log SET kind = 'alarm', detail = who, who = ''"
                             " WHERE method IN ('contact', 'tamper', 'relay', 'reader')")
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    @contextmanager
    def _tx(self):
        """`with self._tx() as db:` one serialised transaction, committed on exit."""
        with self._lock:
            if self._db is None:
                raise StoreError("store is closed")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- access log ---------------------------------------------------------------
    def log_access(self, *, door: str, granted: bool, method: str, who: str = "", reason: str = "",
                   credential_id: str = "", snapshot: bytes | None = None, ts: float | None = None,
                   kind: str = "access", detail: str = "") -> int:
        """Append an access-log entry (or an alarm: kind="alarm") and queue it for the
        cloud, in one transaction."""
        ts = time.time() if ts is None else ts
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO access_log (ts, door, granted, method, who, reason, credential_id, snapshot,"
                " kind, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ts, door, int(granted), method, who, reason, credential_id, snapshot, kind, detail))
            event_id = cur.lastrowid
            payload = {"event_id": event_id, "ts": ts, "door": door, "kind": kind, "granted": granted,
                       "method": method, "who": who, "reason": reason, "detail": detail,
                       "credential_id": credential_id}
            db.execute("INSERT INTO outbox (ts, kind, payload) VALUES (?, 'access', ?)",
                       (ts, json.dumps(payload)))
        return event_id

    def events(self, after: int = 0, limit: int = 100) -> list[AccessEvent]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT id, ts, door, granted, method, who, reason, credential_id, snapshot IS NOT NULL,"
                " kind, detail FROM access_log WHERE id > ? ORDER BY id LIMIT ?", (after, limit)).fetchall()
        return [AccessEvent(r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6], r[7], bool(r[8]), r[9], r[10])
                for r in rows]

    def snapshot(self, event_id: int) -> bytes | None:
        with self._tx() as db:
            row = db.execute("SELECT snapshot FROM access_log WHERE id = ?", (event_id,)).fetchone()
        return row[0] if row else None

    # -- outbox -------------------------------------------------------------------
    def outbox_pending(self, limit: int = 50) -> list[OutboxItem]:
        with self._tx() as db:
            rows = db.execute("SELECT id, ts, kind, payload FROM outbox WHERE sent_at IS NULL"
                              " ORDER BY id LIMIT ?", (limit,)).fetchall()
        return [OutboxItem(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def outbox_sent(self, ids: list[int]) -> None:
        now = time.time()
        with self._tx() as db:
            db.executemany("UPDATE outbox SET sent_at = ? WHERE id = ?", [(now, i) for i in ids])

    # -- directory cache ----------------------------------------------------------
    def replace_residents(self, residents: list[Resident]) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM residents")
            db.executemany(
                "INSERT INTO residents (id, first_name, last_name, unit, display_name, cards)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(r.id, r.first_name, r.last_name, r.unit, r.display_name, " ".join(r.cards)) for r in residents])

    def residents(self) -> list[Resident]:
        with self._tx() as db:
            rows = db.execute("SELECT id, first_name, last_name, unit, display_name, cards FROM residents"
                              " ORDER BY last_name, first_name").fetchall()
        return [Resident(*r[:5], cards=tuple(r[5].split())) for r in rows]

    # -- revocations --------------------------------------------------------------
    def revoke(self, credential_id: str, reason: str = "", ts: float | None = None) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO revocations (credential_id, revoked_at, reason) VALUES (?, ?, ?)",
                       (credential_id, time.time() if ts is None else ts, reason))

    def is_revoked(self, credential_id: str) -> bool:
        with self._tx() as db:
            return db.execute("SELECT 1 FROM revocations WHERE credential_id = ?",
                              (credential_id,)).fetchone() is not None

    def revocations(self) -> set[str]:
        with self._tx() as db:
            return {r[0] for r in db.execute("SELECT credential_id FROM revocations")}

    # -- small settings (sync cursors and the like) -------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self._tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
