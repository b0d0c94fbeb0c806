"""SQLite store for what must survive a power cut.

Holds the access log (with camera snapshots), the outbox of events for the cloud,
the cached directory and the revocation list. WAL journal with synchronous=FULL:
when a write call returns, the row is on disk (a `kill -9` or a power cut right
after loses nothing). One connection, serialised by a lock; the app calls these
methods from a worker thread (`asyncio.to_thread`) so disk waits never block the
event loop.

Bounded: each new entry prunes the oldest beyond the retention (count, age, bytes),
entries already uploaded first. A disk that is full or unwritable degrades the store
instead of failing the panel: a log write raises StoreUnavailable (the writer holds
the entry in memory and tries again), the cloud's directory, revocations and settings
are held in memory and written by `retry()` once there is room; `health()` says which.

One module over 400 lines on purpose: every statement that touches the file goes
through the one connection, lock and degrade path defined here.
"""

from __future__ import annotations

import errno
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..directory import Resident

log = logging.getLogger("panel")

SCHEMA_VERSION = 6

# The connection settings the durability promise rests on (tests/integration/
# test_store_power_cut.py checks them against a simulated power cut): every COMMIT
# fsyncs the WAL before it returns. The WAL is kept small (checkpointed every 32 pages,
# truncated to 128 KB after): a WAL that has filled the disk cannot be checkpointed
# into the database (that needs room too), so it must never grow to fill it.
PRAGMAS = ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=5000", "wal_autocheckpoint=32",
           f"journal_size_limit={128 * 1024}")

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
    detail        TEXT    NOT NULL DEFAULT '',  -- what an alarm says (schema 3)
    release_id    TEXT    NOT NULL DEFAULT ''   -- the door release it records (schema 5; store/journal.py)
);
CREATE TABLE IF NOT EXISTS outbox (
    id       INTEGER PRIMARY KEY AUTOINCREMENT, -- upload order
    ts       REAL    NOT NULL,
    kind     TEXT    NOT NULL,
    payload  TEXT    NOT NULL,                  -- JSON
    sent_at  REAL,                              -- NULL until the cloud acknowledged it (or it was skipped)
    event_id INTEGER,                           -- the access_log entry (schema 4)
    attempts INTEGER NOT NULL DEFAULT 0,        -- sent without an acknowledgement (schema 4)
    note     TEXT    NOT NULL DEFAULT ''        -- how it went: snapshot omitted, skipped (schema 4)
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(id) WHERE sent_at IS NULL;
CREATE TABLE IF NOT EXISTS residents (
    id           TEXT PRIMARY KEY,
    first_name   TEXT NOT NULL,
    last_name    TEXT NOT NULL,
    unit         TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    cards        TEXT NOT NULL DEFAULT '',      -- access card numbers, space-separated (schema 2)
    sip          TEXT NOT NULL DEFAULT '',      -- SIP URI (schema 6)
    phone        TEXT NOT NULL DEFAULT '',      -- phone number (schema 6)
    contact      TEXT NOT NULL DEFAULT ''       -- whom a call rings, core/routing.py text form (schema 6)
);
CREATE TABLE IF NOT EXISTS revocations (
    credential_id TEXT PRIMARY KEY,             -- a credential id, or "holder:<id>" for everything of a holder
    revoked_at    REAL NOT NULL,
    reason        TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS webhook_outbox (    -- schema 5: what [[webhooks]] deliver, in order
    id       INTEGER PRIMARY KEY AUTOINCREMENT, -- delivery order and idempotency id
    ts       REAL    NOT NULL,
    kind     TEXT    NOT NULL,                  -- access | alarm | call | door | link
    payload  TEXT    NOT NULL                   -- JSON; each webhook's cursor is in meta
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class StoreError(Exception):
    pass


class StoreUnavailable(StoreError):
    """The disk is full, or the store cannot be opened or written: try again later."""


@dataclass(frozen=True)
class Retention:
    """How much access log the store keeps (config [store])."""
    max_entries: int = 50_000
    max_age_days: float = 90.0
    max_bytes: int = 512 * 1024 * 1024

    @classmethod
    def of(cls, store_config) -> "Retention":
        c = store_config
        return cls(c.max_entries, c.max_age_days, c.max_bytes)


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
    release_id: str = ""        # the door release it records ("" for refusals and most alarms)

    def to_json(self) -> dict:
        return {"id": self.id, "ts": self.ts, "door": self.door, "kind": self.kind, "granted": self.granted,
                "method": self.method, "who": self.who, "reason": self.reason, "detail": self.detail,
                "credential_id": self.credential_id, "has_snapshot": self.has_snapshot,
                "release_id": self.release_id}


@dataclass(frozen=True)
class OutboxItem:
    id: int
    ts: float
    kind: str
    payload: dict
    attempts: int = 0


def _connect(path: Path) -> sqlite3.Connection:
    """Autocommit mode: the store writes BEGIN IMMEDIATE ... COMMIT itself."""
    return sqlite3.connect(path, check_same_thread=False, isolation_level=None)


# SQLite's result codes that mean the disk, not the caller: wait for it.
_FULL = {getattr(sqlite3, "SQLITE_FULL", 13)}
_DISK = {getattr(sqlite3, name, code) for name, code in (("SQLITE_IOERR", 10), ("SQLITE_CANTOPEN", 14),
                                                          ("SQLITE_READONLY", 8), ("SQLITE_NOTADB", 26),
                                                          ("SQLITE_CORRUPT", 11))}


def _disk_problem(e: BaseException) -> str | None:
    """'full' or 'unavailable' when e is the disk's doing; None for anything else (a bug)."""
    code = getattr(e, "sqlite_errorcode", None)
    code = code & 0xff if isinstance(code, int) else None
    if code in _FULL or (isinstance(e, OSError) and e.errno == errno.ENOSPC) or "disk is full" in str(e):
        return "full"
    if code in _DISK or isinstance(e, OSError) or (code is None and isinstance(e, sqlite3.OperationalError)):
        return "unavailable"
    return None


class Store:
    """`connect(path)` opens the SQLite connection (the stdlib's by default); a test
    may pass another with the same small interface (`execute` returning a cursor
    with fetchone/fetchall/lastrowid, `executemany`, `executescript`, `close`),
    e.g. one over a VFS that simulates power cuts.

    strict=False (the panel): a store that cannot be opened leaves the store
    unavailable instead of raising; `retry()` opens it once it can."""

    def __init__(self, path: str | Path, *, connect: Callable[[Path], sqlite3.Connection] = _connect,
                 retention: Retention = Retention(), strict: bool = True):
        self.path = Path(path)
        self.retention = retention
        self._connect = connect
        self._lock = threading.Lock()
        self._db = None
        self._closed = False
        self.state, self.problem = "ok", ""
        self.on_health: Callable[[], None] = lambda: None     # called on the writing thread
        # Set by panel.webhooks: the log kinds webhooks want (written with the entry, in its
        # transaction) and how many undelivered events the webhook outbox keeps.
        self.webhook_kinds: frozenset[str] = frozenset()
        self.webhook_limit = 10_000
        # What the cloud sent while the disk said no: written by retry().
        self._held_residents: list[Resident] | None = None
        self._held_revocations: dict[str, tuple[float, str]] = {}
        self._held_meta: dict[str, str] = {}
        try:
            self._open()
        except StoreError as e:
            if strict:
                raise
            self._degrade("unavailable", str(e))

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = self._connect(self.path)
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"{self.path}: cannot open the panel store: {e}") from None
        try:
            for pragma in PRAGMAS:
                db.execute(f"PRAGMA {pragma}")
            self._migrate(db)
            self._entries = db.execute("SELECT count(*) FROM access_log").fetchone()[0]
        except (sqlite3.Error, OSError) as e:
            db.close()
            raise StoreError(f"{self.path}: cannot open the panel store: {e}") from None
        except StoreError:
            db.close()
            raise
        self._db = db

    def _migrate(self, db) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"store schema {version} is newer than this firmware ({SCHEMA_VERSION})")
        if version == SCHEMA_VERSION:
            return                        # nothing to write: opens on a full disk too
        db.executescript(_SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(residents)")}
        if "cards" not in columns:        # a store written by schema 1
            db.execute("ALTER TABLE residents ADD COLUMN cards TEXT NOT NULL DEFAULT ''")
        columns = {row[1] for row in db.execute("PRAGMA table_info(access_log)")}
        if "kind" not in columns:         # schema 2 and older: alarms were refusals with the detail in `who`
            db.execute("ALTER TABLE access_log ADD COLUMN kind TEXT NOT NULL DEFAULT 'access'")
            db.execute("ALTER TABLE access_log ADD COLUMN detail TEXT NOT NULL DEFAULT ''")
            db.execute("UPDATE access_log SET kind = 'alarm', detail = who, who = ''"
                       " WHERE method IN ('contact', 'tamper', 'relay', 'reader')")
        columns = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
        if "event_id" not in columns:     # schema 3 and older
            db.execute("ALTER TABLE outbox ADD COLUMN event_id INTEGER")
            db.execute("ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0")
            db.execute("ALTER TABLE outbox ADD COLUMN note TEXT NOT NULL DEFAULT ''")
            db.execute("UPDATE outbox SET event_id = json_extract(payload, '$.event_id')")
        db.execute("CREATE INDEX IF NOT EXISTS outbox_event ON outbox(event_id)")
        columns = {row[1] for row in db.execute("PRAGMA table_info(access_log)")}
        if "release_id" not in columns:   # schema 4 and older
            db.execute("ALTER TABLE access_log ADD COLUMN release_id TEXT NOT NULL DEFAULT ''")
        db.execute("CREATE INDEX IF NOT EXISTS access_release ON access_log(release_id) WHERE release_id != ''")
        # webhook_outbox (schema 5) is a new table, created by _SCHEMA above; nothing to convert.
        columns = {row[1] for row in db.execute("PRAGMA table_info(residents)")}
        for column in ("sip", "phone", "contact"):     # schema 5 and older: residents were called on the app
            if column not in columns:
                db.execute(f"ALTER TABLE residents ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- health -------------------------------------------------------------------
    def health(self) -> dict:
        """{"state": "ok" | "full" | "unavailable", "problem": what the disk said}."""
        return {"state": self.state, "problem": self.problem}

    def _degrade(self, state: str, problem: str) -> None:
        if (state, problem) != (self.state, self.problem):
            log.error("store %s: %s; the panel goes on, holding what it must write in memory", state, problem)
            self.state, self.problem = state, problem
            self.on_health()

    def _writable(self) -> None:
        """A write went through: healthy again once nothing is held in memory."""
        if self.state != "ok" and self._held_residents is None and not self._held_revocations and not self._held_meta:
            log.warning("store writable again (%s)", self.path)
            self.state, self.problem = "ok", ""
            self.on_health()

    def retry(self) -> bool:
        """Open the store if it never opened, write what was held in memory, or else
        write a small probe; True when the disk took it (the store is healthy again)."""
        if self._closed:
            return False
        if self._db is None:
            try:
                with self._lock:
                    self._open()
            except StoreError as e:
                self._degrade("unavailable", str(e))
                return False
        try:
            # The WAL holds every page written since the last checkpoint: moving them into the
            # database and truncating it may well be the room the disk needs.
            with self._lock:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except (sqlite3.Error, OSError) as e:
            log.debug("store: checkpoint failed: %s", e)
        held = self._held_residents is not None or self._held_revocations or self._held_meta
        if self._held_residents is not None:
            self.replace_residents(self._held_residents)
        for credential_id, (ts, reason) in list(self._held_revocations.items()):
            self.revoke(credential_id, reason, ts)
        for key, value in list(self._held_meta.items()):
            self.set_meta(key, value)
        if not held:
            try:
                with self._tx() as db:          # a real write: a page of WAL, fsynced
                    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('writable_at', ?)",
                               (repr(time.time()),))
            except StoreUnavailable:
                return False
            self._writable()
        return self.state == "ok"

    @contextmanager
    def _tx(self):
        """`with self._tx() as db:` one serialised transaction, committed on exit. A disk
        that is full or failing raises StoreUnavailable (and marks the store so)."""
        with self._lock:
            db = self._db
            if db is None:
                raise StoreError("store is closed") if self._closed else StoreUnavailable(self.problem)
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                    db.execute("COMMIT")
                except BaseException:
                    if getattr(db, "in_transaction", True):
                        try:
                            db.execute("ROLLBACK")
                        except sqlite3.Error:
                            pass          # SQLite rolled back itself (a full disk does that)
                    raise
            except (sqlite3.Error, OSError) as e:
                problem = _disk_problem(e)
                if problem is None:
                    raise
                self._degrade(problem, f"{self.path}: {e}")
                raise StoreUnavailable(f"{self.path}: {e}") from None

    def _hold(self, what: str, write: Callable[[], None]) -> bool:
        """A cache write (the directory, a revocation, a setting): True once on disk; False
        when the disk will not take it, and the caller holds it in memory for retry().
        Never an error: the gatekeeper already acts on it, the disk catches up."""
        try:
            write()
            return True
        except StoreUnavailable as e:
            log.warning("store: %s held in memory until the disk takes writes again (%s)", what, e)
            return False

    # -- access log ---------------------------------------------------------------
    def log_access(self, *, door: str, granted: bool, method: str, who: str = "", reason: str = "",
                   credential_id: str = "", snapshot: bytes | None = None, ts: float | None = None,
                   kind: str = "access", detail: str = "", release_id: str = "") -> int:
        """Append an access-log entry (or an alarm: kind="alarm") and queue it for the
        cloud, in one transaction; prune beyond the retention. StoreUnavailable when
        the disk will not take it (nothing written)."""
        ts = time.time() if ts is None else ts
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO access_log (ts, door, granted, method, who, reason, credential_id, snapshot,"
                " kind, detail, release_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ts, door, int(granted), method, who, reason, credential_id, snapshot, kind, detail, release_id))
            event_id = cur.lastrowid
            payload = {"event_id": event_id, "ts": ts, "door": door, "kind": kind, "granted": granted,
                       "method": method, "who": who, "reason": reason, "detail": detail,
                       "credential_id": credential_id}
            db.execute("INSERT INTO outbox (ts, kind, payload, event_id) VALUES (?, 'access', ?, ?)",
                       (ts, json.dumps(payload), event_id))
            if kind in self.webhook_kinds:
                self._webhook_insert(db, ts, kind, payload)
            pruned = self._prune(db, len_before=self._entries + 1)
        self._entries += 1 - pruned
        self._writable()
        return event_id

    def _prune(self, db, len_before: int) -> int:
        """Delete the oldest entries beyond the retention: uploaded ones first; one still
        waiting for the cloud only when the bound cannot be met otherwise (logged)."""
        r = self.retention
        count, forced, bound = len_before, 0, ""

        def drop(where: str, params: tuple, limit: int) -> int:
            nonlocal count, forced
            ids = [row[0] for row in db.execute(
                "SELECT a.id, o.sent_at IS NULL AND o.id IS NOT NULL FROM access_log a"
                " LEFT JOIN outbox o ON o.event_id = a.id"
                f" WHERE {where} ORDER BY (o.sent_at IS NULL AND o.id IS NOT NULL), a.id LIMIT ?",
                (*params, limit)).fetchall()]
            rows = db.execute(
                "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND event_id IN (%s)"
                % ",".join("?" * len(ids)), ids).fetchone()[0] if ids else 0
            forced += rows
            db.executemany("DELETE FROM access_log WHERE id = ?", [(i,) for i in ids])
            db.executemany("DELETE FROM outbox WHERE event_id = ?", [(i,) for i in ids])
            count -= len(ids)
            return len(ids)

        before = count
        cutoff = time.time() - r.max_age_days * 86400
        if drop("a.ts < ?", (cutoff,), 1_000_000):
            bound = "max_age_days"
        if count > r.max_entries and drop("1", (), count - r.max_entries):
            bound = "max_entries"
        while self._live_bytes(db) > r.max_bytes and count > 1:
            # The newest entry stays: it is the one being written.
            if not drop("a.id < (SELECT max(id) FROM access_log)", (), max(1, count // 50)):
                break
            bound = "max_bytes"
        if forced:
            log.warning("store: %s forced pruning %d entries not yet uploaded to the cloud", bound, forced)
        return before - count

    @staticmethod
    def _live_bytes(db) -> int:
        """Bytes in use in the database file (freed pages are reused, not counted)."""
        pages = db.execute("PRAGMA page_count").fetchone()[0] - db.execute("PRAGMA freelist_count").fetchone()[0]
        return pages * db.execute("PRAGMA page_size").fetchone()[0]

    def events(self, after: int = 0, limit: int = 100) -> list[AccessEvent]:
        if self._db is None and not self._closed:
            return []
        with self._tx() as db:
            rows = db.execute(
                "SELECT id, ts, door, granted, method, who, reason, credential_id, snapshot IS NOT NULL,"
                " kind, detail, release_id FROM access_log WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit)).fetchall()
        return [AccessEvent(r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6], r[7], bool(r[8]), r[9], r[10], r[11])
                for r in rows]

    def release_rows(self, release_ids: list[str]) -> dict[str, set[str]]:
        """Which rows (kinds: access, alarm) the store holds for these door releases."""
        found: dict[str, set[str]] = {}
        if not release_ids or self._db is None:
            return found
        with self._tx() as db:
            rows = db.execute("SELECT release_id, kind FROM access_log WHERE release_id IN (%s)"
                              % ",".join("?" * len(release_ids)), release_ids).fetchall()
        for release_id, kind in rows:
            found.setdefault(release_id, set()).add(kind)
        return found

    def snapshot(self, event_id: int) -> bytes | None:
        if self._db is None and not self._closed:
            return None
        with self._tx() as db:
            row = db.execute("SELECT snapshot FROM access_log WHERE id = ?", (event_id,)).fetchone()
        return row[0] if row else None

    # -- outbox -------------------------------------------------------------------
    def outbox_pending(self, limit: int = 50) -> list[OutboxItem]:
        if self._db is None and not self._closed:
            return []
        with self._tx() as db:
            rows = db.execute("SELECT id, ts, kind, payload, attempts FROM outbox WHERE sent_at IS NULL"
                              " ORDER BY id LIMIT ?", (limit,)).fetchall()
        return [OutboxItem(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def outbox_sent(self, ids: list[int], note: str = "") -> None:
        """Acknowledged (or given up on: note says how it went)."""
        now = time.time()
        with self._tx() as db:
            db.executemany("UPDATE outbox SET sent_at = ?, note = ? WHERE id = ?", [(now, note, i) for i in ids])

    def outbox_attempted(self, item_id: int) -> None:
        """Sent and not acknowledged: one more attempt counted (kept across restarts)."""
        with self._tx() as db:
            db.execute("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", (item_id,))

    # -- webhook outbox (panel/webhooks.py) -----------------------------------------
    def webhook_add(self, kind: str, payload: dict, ts: float) -> int:
        """Queue a state event (call, door, link) for the webhooks; its id."""
        with self._tx() as db:
            return self._webhook_insert(db, ts, kind, payload)

    def _webhook_insert(self, db, ts: float, kind: str, payload: dict) -> int:
        item_id = db.execute("INSERT INTO webhook_outbox (ts, kind, payload) VALUES (?, ?, ?)",
                             (ts, kind, json.dumps(payload))).lastrowid
        # Bounded: beyond the limit the oldest go (a receiver that long away has lost them; its
        # cursor then points before the oldest row and panel.webhooks counts what it skipped).
        db.execute("DELETE FROM webhook_outbox WHERE id <= ?", (item_id - self.webhook_limit,))
        return item_id

    def webhook_after(self, after: int, limit: int = 50) -> list[OutboxItem]:
        if self._db is None:
            return []
        with self._tx() as db:
            rows = db.execute("SELECT id, ts, kind, payload FROM webhook_outbox WHERE id > ? ORDER BY id LIMIT ?",
                              (after, limit)).fetchall()
        return [OutboxItem(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def webhook_count(self, after: int, kinds: frozenset[str]) -> tuple[int, int]:
        """(events after `after` of these kinds, the newest id overall; 0 when empty)."""
        if self._db is None:
            return 0, 0
        with self._tx() as db:
            marks = ",".join("?" * len(kinds)) or "NULL"
            count = db.execute(f"SELECT count(*) FROM webhook_outbox WHERE id > ? AND kind IN ({marks})",
                               (after, *kinds)).fetchone()[0]
            newest = db.execute("SELECT coalesce(max(id), 0) FROM webhook_outbox").fetchone()[0]
        return count, newest

    def webhook_forget(self, upto: int) -> None:
        """Every webhook has delivered (or skipped) the events up to this id."""
        with self._tx() as db:
            db.execute("DELETE FROM webhook_outbox WHERE id <= ?", (upto,))

    # -- directory cache ----------------------------------------------------------
    def replace_residents(self, residents: list[Resident]) -> None:
        def write():
            with self._tx() as db:
                db.execute("DELETE FROM residents")
                db.executemany(
                    "INSERT INTO residents (id, first_name, last_name, unit, display_name, cards, sip, phone,"
                    " contact) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(r.id, r.first_name, r.last_name, r.unit, r.display_name, " ".join(r.cards), r.sip, r.phone,
                      r.contact) for r in residents])
        self._held_residents = None if self._hold("the directory", write) else list(residents)
        self._writable()

    def residents(self) -> list[Resident]:
        if self._held_residents is not None or self._db is None:
            held = self._held_residents or []
            return sorted(held, key=lambda r: (r.last_name, r.first_name))
        with self._tx() as db:
            rows = db.execute("SELECT id, first_name, last_name, unit, display_name, cards, sip, phone, contact"
                              " FROM residents ORDER BY last_name, first_name").fetchall()
        return [Resident(*r[:5], cards=tuple(r[5].split()), sip=r[6], phone=r[7], contact=r[8]) for r in rows]

    # -- revocations --------------------------------------------------------------
    def revoke(self, credential_id: str, reason: str = "", ts: float | None = None) -> None:
        ts = time.time() if ts is None else ts

        def write():
            with self._tx() as db:
                db.execute("INSERT OR REPLACE INTO revocations (credential_id, revoked_at, reason) VALUES (?, ?, ?)",
                           (credential_id, ts, reason))
        if self._hold(f"revocation {credential_id}", write):
            self._held_revocations.pop(credential_id, None)
        else:
            self._held_revocations[credential_id] = (ts, reason)
        self._writable()

    def is_revoked(self, credential_id: str) -> bool:
        return credential_id in self.revocations()

    def revocations(self) -> set[str]:
        held = set(self._held_revocations)
        if self._db is None:
            return held
        with self._tx() as db:
            return held | {r[0] for r in db.execute("SELECT credential_id FROM revocations")}

    # -- small settings (sync cursors and the like) -------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        if key in self._held_meta:
            return self._held_meta[key]
        if self._db is None:
            return default
        with self._tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        def write():
            with self._tx() as db:
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        if self._hold(f"setting {key}", write):
            self._held_meta.pop(key, None)
        else:
            self._held_meta[key] = value
        self._writable()
