"""The access-log writer: every door release, refusal and alarm, with a snapshot, on disk.

Entries are queued on the event-loop thread the moment the rule decides (with the
time and the camera frame of that moment) and written one at a time by `run()`, the
JPEG encode and the SQLite write off the loop. `close()` writes what is still queued,
so a shutdown loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from hal.camera import encode_jpeg
from hal.clock import Clock

from .core import effects as fx
from .store import Store

log = logging.getLogger("panel")


class AccessLogWriter:
    def __init__(self, store: Store, door_id: str, clock: Clock, *,
                 latest_frame: Callable[[], object], on_written: Callable[[int], None] | None = None):
        self.store = store
        self.door_id = door_id
        self.clock = clock
        self.latest_frame = latest_frame
        self.on_written = on_written
        self._queue: asyncio.Queue[tuple[dict, object]] = asyncio.Queue()
        self._in_flight: asyncio.Future | None = None

    def add_access(self, entry: fx.LogAccess) -> None:
        self._put(dict(granted=entry.granted, method=entry.method, who=entry.who, reason=entry.reason,
                       credential_id=entry.credential_id))

    def add_alarm(self, alarm: fx.RaiseAlarm) -> None:
        log.warning("alarm: %s %s", alarm.reason, alarm.detail)
        self._put(dict(kind="alarm", granted=False, method=alarm.source, reason=alarm.reason, detail=alarm.detail))

    def _put(self, fields: dict) -> None:
        fields["ts"] = self.clock.wall()
        self._queue.put_nowait((fields, self.latest_frame()))

    async def run(self) -> None:
        while True:
            item = await self._queue.get()
            # Shielded: a shutdown while the entry is being written must not lose it;
            # close() waits for it before the store closes.
            self._in_flight = asyncio.ensure_future(self._write(*item))
            await asyncio.shield(self._in_flight)

    async def close(self) -> None:
        """Write the entry in flight and everything still queued."""
        if self._in_flight is not None:
            await asyncio.wait([self._in_flight])
        while not self._queue.empty():
            await self._write(*self._queue.get_nowait())

    async def _write(self, fields: dict, frame) -> None:
        snapshot = await asyncio.to_thread(encode_jpeg, frame) if frame is not None else None
        event_id = await asyncio.to_thread(self.store.log_access, door=self.door_id, snapshot=snapshot, **fields)
        log.info("access log #%d: %s %s %s %s", event_id,
                 "alarm" if fields.get("kind") == "alarm" else "granted" if fields["granted"] else "refused",
                 fields["method"], fields.get("who", ""), fields.get("reason", "") or fields.get("detail", ""))
        if self.on_written is not None:
            self.on_written(event_id)
