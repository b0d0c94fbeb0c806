"""The door's release journal: a release is on disk before the relay is driven.

A file of its own beside panel.db, not a table in it, because the journal line is
written on the door path, before the relay is energized, and must never wait behind
the access log: the log's transaction holds SQLite's one write lock through its fsync
(milliseconds here, tens to hundreds on an SD card; `scripts/bench_killnine.py`
prints both). An `os.write` to an O_APPEND file returns once the kernel holds the
bytes, so a kill -9 (a crash, the OOM killer, a watchdog) right after loses nothing;
`sync()` (fdatasync, in a worker thread, off the door path) makes it survive a power
cut too a few milliseconds later. A power cut in between loses at most that line, and
a fail-secure strike relocks by itself when the power goes.

One JSON object a line:
    {"begin": ID, "method": ..., "who": ..., "credential_id": ..., "ts": wall time}
    {"outcome": ID, "opened": true | false}     the rules settled it (the relay's answer)
    {"relocked": [ID, ...]}                     the relay relocked after these releases
Whether a release's access entry and its release_interrupted alarm are written is
asked of panel.db at start-up (their rows carry the release id), so nothing is
counted twice. When every release is complete the file is truncated.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("panel")


@dataclass
class JournaledRelease:
    id: str
    method: str
    who: str = ""
    credential_id: str = ""
    ts: float = 0.0
    opened: bool | None = None      # None until the rules settle it
    relocked: bool = False
    earlier_run: bool = False       # found at start-up: recovered, not carried out
    recovered: bool = False
    waiting: set[str] = field(default_factory=set)      # rows ("access", "alarm") not yet on disk

    @property
    def complete(self) -> bool:
        if self.waiting:
            return False
        if self.earlier_run:
            return self.recovered
        return self.opened is False or (self.opened is True and self.relocked)


class ReleaseJournal:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self.releases: dict[str, JournaledRelease] = {}
        self._broken = False
        self._replay()

    # -- start-up -------------------------------------------------------------------
    def _replay(self) -> None:
        with open(self._fd, "rb", closefd=False) as f:
            f.seek(0)
            lines = f.read().splitlines()
        for n, line in enumerate(lines, 1):
            try:
                rec = json.loads(line)
                self._apply(rec)
            except (ValueError, TypeError, KeyError, AttributeError):
                log.warning("door journal %s: line %d unreadable (torn by a power cut?), skipped", self.path, n)
        for r in self.releases.values():
            r.earlier_run = True

    def _apply(self, rec: dict) -> None:
        if "begin" in rec:
            rid = str(rec["begin"])
            self.releases[rid] = JournaledRelease(rid, str(rec.get("method", "")), str(rec.get("who", "")),
                                                  str(rec.get("credential_id", "")), float(rec.get("ts", 0.0)))
        elif "outcome" in rec:
            if (r := self.releases.get(str(rec["outcome"]))) is not None:
                r.opened = bool(rec["opened"])
        elif "relocked" in rec:
            for rid in rec["relocked"]:
                if (r := self.releases.get(str(rid))) is not None:
                    r.relocked = True

    def earlier(self) -> list[JournaledRelease]:
        """The releases of an earlier run that did not complete, oldest first."""
        return [r for r in self.releases.values() if r.earlier_run and not r.recovered]

    def recovered(self, release_id: str) -> None:
        """The rules have asked for what was missing of it (its rows are `waiting`)."""
        if (r := self.releases.get(release_id)) is not None:
            r.recovered = True
            self._tidy()

    # -- this run -------------------------------------------------------------------
    def begin(self, release_id: str, method: str, who: str, credential_id: str, ts: float) -> None:
        """Before the relay is driven: on the event-loop thread, one write(), no fsync."""
        self.releases[release_id] = JournaledRelease(release_id, method, who, credential_id, ts)
        self._append({"begin": release_id, "method": method, "who": who, "credential_id": credential_id, "ts": ts})

    def decided(self, release_id: str, opened: bool) -> None:
        """Its access entry is decided (and queued for the store)."""
        if (r := self.releases.get(release_id)) is None:
            return
        r.waiting.add("access")
        if r.opened is not opened:
            r.opened = opened
            self._append({"outcome": release_id, "opened": opened})

    def alarm_raised(self, release_id: str) -> None:
        if (r := self.releases.get(release_id)) is not None:
            r.waiting.add("alarm")

    def relocked(self) -> None:
        ids = [r.id for r in self.releases.values() if not r.earlier_run and r.opened and not r.relocked]
        if ids:
            for rid in ids:
                self.releases[rid].relocked = True
            self._append({"relocked": ids})
            self._tidy()

    def written(self, release_id: str, kind: str) -> None:
        """Its row (`kind`: access | alarm) is on disk in panel.db."""
        if (r := self.releases.get(release_id)) is not None:
            r.waiting.discard(kind)
            self._tidy()

    def sync(self) -> None:
        """fdatasync (blocking: call it from a worker thread)."""
        if not self._broken and self._fd >= 0:
            try:
                os.fdatasync(self._fd)
            except OSError as e:
                log.warning("door journal %s: fdatasync failed: %s", self.path, e)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # -- internals ------------------------------------------------------------------
    def _append(self, rec: dict) -> None:
        if self._broken or self._fd < 0:
            return
        try:
            os.write(self._fd, (json.dumps(rec, separators=(",", ":")) + "\n").encode())
        except OSError as e:
            # The door opens all the same: the access log still records it (power-cut safe).
            self._broken = True
            log.error("door journal %s: write failed (%s); releases are no longer journaled until restart",
                      self.path, e)

    def _tidy(self) -> None:
        """Every release complete: start the file afresh (nothing in it is needed any more)."""
        if all(r.complete for r in self.releases.values()):
            self.releases.clear()
            if not self._broken and self._fd >= 0:
                try:
                    os.ftruncate(self._fd, 0)
                except OSError as e:
                    log.warning("door journal %s: truncate failed: %s", self.path, e)
