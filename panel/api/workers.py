"""The API's own threads for its heavy work: screen PNGs, frame decodes, store reads.

Not the event loop's default executor: the camera and the store use that one, and the
scanner has its own, so however many API clients there are, a QR key's way to the door
never queues behind their encodes. At most WORKERS jobs run at once and QUEUE more
wait; beyond that the caller gets Busy (503) at once instead of a growing queue holding
an image each. `cached` runs a job once per key and hands every caller asking for that
key the same bytes: a thousand clients on screen.png cost one encode per screen drawn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from .. import trace
from .errors import Busy

WORKERS = 2
QUEUE = 8


class Workers:
    def __init__(self, workers: int = WORKERS, queue: int = QUEUE):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="api-work")
        self._slots = workers + queue
        self._taken = 0
        self._cache: tuple[object, object] | None = None           # (key, result)
        self._job: tuple[object, asyncio.Future] | None = None      # (key, the job making it)

    async def run(self, what: str, fn: Callable, *args):
        """fn(*args) on one of the API's threads; Busy if WORKERS + QUEUE jobs are in hand."""
        if self._taken >= self._slots:
            raise Busy(f"the panel is busy with {self._taken} other image or log requests; try again in a second")
        self._taken += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, _traced, what, fn, args)
        finally:
            self._taken -= 1

    async def cached(self, key, start: Callable[[], Awaitable]):
        """The result for `key`: the last one made, or the job making it now (joined), or
        start() (which makes it) when there is neither. Waiters share it; none cancels it."""
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        if self._job is None or self._job[0] != key:
            job = asyncio.ensure_future(start())
            self._job = (key, job)
            job.add_done_callback(lambda f, key=key: self._finished(key, f))
        return await asyncio.shield(self._job[1])

    def _finished(self, key, job: asyncio.Future) -> None:
        if self._job is not None and self._job[1] is job:
            self._job = None
        if not job.cancelled() and job.exception() is None:
            self._cache = (key, job.result())

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _traced(what: str, fn: Callable, args: tuple):
    trace.point("api.work.start", what=what)
    return fn(*args)
