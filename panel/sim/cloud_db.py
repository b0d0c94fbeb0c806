"""The dev cloud's memory: what its back office holds, in one SQLite file, so a restarted
demo is the same property (residents, move-outs, invitations, settings, the access
log it received, each resident's calls and door openings) with the same resident
links (the secret their tokens come from).

Written through on every change, read once at start (Office.load); the Office keeps
working from memory. No file (None): nothing kept, as the tests' clouds.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS invitations (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revocations (id TEXT PRIMARY KEY, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log (n INTEGER PRIMARY KEY, panel TEXT NOT NULL, event_id INTEGER NOT NULL,
                                json TEXT NOT NULL, snapshot BLOB, UNIQUE (panel, event_id));
CREATE TABLE IF NOT EXISTS mail (n INTEGER PRIMARY KEY, raw BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS history (n INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, resident TEXT NOT NULL,
                                    json TEXT NOT NULL, snapshot BLOB);
"""


class CloudDb:
    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path is not None else None
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # autocommit: each write lands; one event loop uses it, whichever thread built the cloud
                self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                self._db.executescript("PRAGMA journal_mode=WAL;" + SCHEMA)
            except (sqlite3.Error, OSError) as e:
                raise OSError(f"{self.path}: the dev cloud cannot keep its state there ({e}); move the file "
                              f"away (the demo: panel --fresh)") from None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _write(self, sql: str, *args) -> None:
        if self._db is not None:
            self._db.execute(sql, args)

    def _rows(self, sql: str, *args) -> list[tuple]:
        return self._db.execute(sql, args).fetchall() if self._db is not None else []

    # -- small values: the secrets, the settings, "seeded" ---------------------------------------
    def get(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", key)
        return rows[0][0] if rows else None

    def put(self, key: str, value: str) -> None:
        self._write("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value)

    def kept(self, key: str, make) -> str:
        """The value kept under key; on first use make() and keep it (a token, a secret)."""
        value = self.get(key)
        if value is None:
            value = make()
            self.put(key, value)
        return value

    # -- records ------------------------------------------------------------------------------
    def put_tenant(self, tenant_id: str, data: dict) -> None:
        self._write("INSERT OR REPLACE INTO tenants (id, json) VALUES (?, ?)", tenant_id, json.dumps(data))

    def drop_tenant(self, tenant_id: str) -> None:
        self._write("DELETE FROM tenants WHERE id = ?", tenant_id)

    def tenants(self) -> list[dict]:
        return [json.loads(j) for (j,) in self._rows("SELECT json FROM tenants ORDER BY rowid")]

    def put_invitation(self, invitation_id: str, data: dict) -> None:
        self._write("INSERT OR REPLACE INTO invitations (id, json) VALUES (?, ?)", invitation_id, json.dumps(data))

    def invitations(self) -> list[dict]:
        return [json.loads(j) for (j,) in self._rows("SELECT json FROM invitations ORDER BY rowid")]

    def revoke(self, revocation_id: str, reason: str) -> None:
        self._write("INSERT OR REPLACE INTO revocations (id, reason) VALUES (?, ?)", revocation_id, reason)

    def revocations(self) -> dict[str, str]:
        return dict(self._rows("SELECT id, reason FROM revocations ORDER BY rowid"))

    def add_log(self, panel: str, event_id: int, entry: dict) -> None:
        data = {k: v for k, v in entry.items() if k != "snapshot"}
        self._write("INSERT OR IGNORE INTO log (panel, event_id, json, snapshot) VALUES (?, ?, ?, ?)",
                    panel, event_id, json.dumps(data), entry.get("snapshot"))

    def log(self) -> list[tuple[str, int, dict]]:
        """(panel, event id, entry with its snapshot), in arrival order."""
        return [(panel, event_id, {**json.loads(j), "snapshot": snapshot})
                for panel, event_id, j, snapshot in self._rows("SELECT panel, event_id, json, snapshot FROM log "
                                                               "ORDER BY n")]

    def add_mail(self, raw: bytes) -> None:
        self._write("INSERT INTO mail (raw) VALUES (?)", raw)

    def mail(self) -> list[bytes]:
        """The messages the mail sink received (RFC 5322 bytes), in arrival order."""
        return [raw for (raw,) in self._rows("SELECT raw FROM mail ORDER BY n")]

    # -- each resident's calls and door openings (panel/sim/resident.py) --------------------------
    def put_history(self, key: str, resident_id: str, data: dict, snapshot: bytes | None = None) -> None:
        """Add the entry under key, or update it in place (its place and snapshot kept)."""
        self._write("INSERT INTO history (key, resident, json, snapshot) VALUES (?, ?, ?, ?) ON CONFLICT (key) "
                    "DO UPDATE SET json = excluded.json, snapshot = COALESCE(excluded.snapshot, history.snapshot)",
                    key, resident_id, json.dumps(data), snapshot)

    def history(self) -> list[tuple[str, str, dict, bytes | None]]:
        """(key, resident id, entry, snapshot), oldest first."""
        return [(key, resident, json.loads(j), snapshot)
                for key, resident, j, snapshot in self._rows("SELECT key, resident, json, snapshot FROM history "
                                                             "ORDER BY n")]
