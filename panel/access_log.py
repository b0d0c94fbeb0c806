"""The access-log writer: every door release, refusal and alarm, with a snapshot, on disk.

Entries are queued on the event-loop thread the moment the rule decides (with the
time and the camera frame of that moment) and written one at a time, in order, by
`run()`, the JPEG encode (bounded: store/snapshot.py) and the SQLite write off the
loop. When the disk will not take an entry (full, failing, the store never opened)
it stays at the head of the queue and is tried again every RETRY_SECONDS; the
queue is bounded ([store] queue_entries, queue_bytes) and what it has to drop is
logged. `close()` writes what is still queued, so a shutdown loses nothing the disk
can take. An entry of a door release carries its release id; `on_release(id, kind)`
says once its row is on disk (the door's journal then lets go of it: store/journal.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from hal.clock import Clock

from .config import StoreSection
from .core import effects as fx
from .store import Store, StoreUnavailable
from .store.snapshot import bounded_jpeg

log = logging.getLogger("panel")

RETRY_SECONDS = 2.0


class _Entry:
    """One decided entry: its fields, and the frame until it is encoded to a JPEG."""
    __slots__ = ("fields", "frame", "snapshot")

    def __init__(self, fields: dict, frame):
        self.fields, self.frame, self.snapshot = fields, frame, None


class AccessLogWriter:
    def __init__(self, store: Store, door_id: str, clock: Clock, *,
                 latest_frame: Callable[[], object], on_written: Callable[[int], None] | None = None,
                 limits: StoreSection = StoreSection(), on_health: Callable[[], None] = lambda: None,
                 stamp: Callable[[], float] | None = None,
                 on_release: Callable[[str, str], None] = lambda release_id, kind: None):
        self.store = store
        self.door_id = door_id
        self.clock = clock
        # When an entry happened: the trusted time's floor, so a clock that booted behind
        # never stamps entries in the past (where retention would prune them unsent).
        self.stamp = stamp or clock.wall
        self.latest_frame = latest_frame
        self.on_written = on_written
        self.on_health = on_health          # the store's health changed (the screen's banner)
        self.on_release = on_release        # a door release's row (access | alarm) is on disk
        self.limits = limits
        self.lost = 0                       # entries dropped from a full queue
        self._queue: deque[_Entry] = deque()
        self._wake = asyncio.Event()
        self._in_flight: asyncio.Future | None = None

    @property
    def queued(self) -> int:
        return len(self._queue)

    def add_access(self, entry: fx.LogAccess) -> None:
        self._put(dict(granted=entry.granted, method=entry.method, who=entry.who, reason=entry.reason,
                       credential_id=entry.credential_id, detail=entry.detail, release_id=entry.release_id),
                  entry.ts)

    def add_alarm(self, alarm: fx.RaiseAlarm) -> None:
        log.warning("alarm: %s %s", alarm.reason, alarm.detail)
        self._put(dict(kind="alarm", granted=False, method=alarm.source, reason=alarm.reason, detail=alarm.detail,
                       release_id=alarm.release_id))

    def _put(self, fields: dict, ts: float | None = None) -> None:
        fields["ts"] = self.stamp() if ts is None else ts
        if len(self._queue) >= self.limits.queue_entries:
            lost = self._queue.popleft()        # the head may be in flight: it is written or lost anyway
            self.lost += 1
            log.error("access log: memory queue full (%d entries, the disk takes no writes); lost the entry "
                      "of %s: %s", self.limits.queue_entries, lost.fields.get("who") or lost.fields["method"],
                      lost.fields)
        self._queue.append(_Entry(fields, self.latest_frame()))
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()

        def on_store_health():              # on the store's worker thread
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._health_changed)
        self.store.on_health = on_store_health
        while True:
            if self.store.state != "ok":
                await self._wait_for_disk()
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            # Shielded: a shutdown while the entry is being written must not lose it;
            # close() waits for it before the store closes.
            self._in_flight = asyncio.ensure_future(self._write(self._queue[0]))
            await asyncio.shield(self._in_flight)

    def _health_changed(self) -> None:
        self._wake.set()                    # a cache write failed too: run() starts retrying
        self.on_health()

    async def _wait_for_disk(self) -> None:
        """The disk says no: encode what waits (a frame is far bigger than its JPEG), keep
        the queue's snapshots within queue_bytes, and try the store again."""
        while True:
            await self._encode_waiting()
            await self.clock.sleep(RETRY_SECONDS)
            if await asyncio.to_thread(self.store.retry):
                return

    async def close(self) -> None:
        """Write the entry in flight and everything still queued (while the disk takes it)."""
        if self._in_flight is not None:
            await asyncio.wait([self._in_flight])
        while self._queue:
            if not await self._write(self._queue[0]):
                log.error("access log: %d entries not written at shutdown: %s", len(self._queue),
                          self.store.health()["problem"])
                return

    async def _encode_waiting(self) -> None:
        total = 0
        for entry in list(self._queue):
            await self._encode(entry)
            if entry.snapshot is not None:
                total += len(entry.snapshot)
                if total > self.limits.queue_bytes:
                    log.warning("access log: memory queue over %d bytes of snapshots; entry %s waits without its "
                                "snapshot", self.limits.queue_bytes, entry.fields)
                    total -= len(entry.snapshot)
                    entry.snapshot = None

    async def _encode(self, entry: _Entry) -> None:
        if entry.frame is not None:
            s = self.limits
            frame, entry.frame = entry.frame, None
            entry.snapshot = await asyncio.to_thread(bounded_jpeg, frame, max_side=s.snapshot_max_side,
                                                     quality=s.snapshot_quality, max_bytes=s.snapshot_max_bytes)

    async def _write(self, entry: _Entry) -> bool:
        """Write the head of the queue; False (still queued) when the disk will not take it."""
        await self._encode(entry)
        try:
            event_id = await asyncio.to_thread(self.store.log_access, door=self.door_id, snapshot=entry.snapshot,
                                               **entry.fields)
        except StoreUnavailable:
            return False
        if self._queue and self._queue[0] is entry:
            self._queue.popleft()
        fields = entry.fields
        log.info("access log #%d: %s %s %s %s", event_id,
                 "alarm" if fields.get("kind") == "alarm" else "granted" if fields["granted"] else "refused",
                 fields["method"], fields.get("who", ""), fields.get("reason", "") or fields.get("detail", ""))
        if self.on_written is not None:
            self.on_written(event_id)
        if fields.get("release_id"):
            self.on_release(fields["release_id"], fields.get("kind", "access"))
        return True
