"""`GET events/stream` from outside: every event the panel sends, kept in order, and
bounded waits on them.

    stream = await EventStream(client).start()
    mark = stream.mark()
    await client.press("Olivia Smith")
    await stream.wait({"kind": "call", "state": "ringing"}, after=mark, timeout=10)

Each event is the JSON the panel sent, with "kind" set from the SSE event name when
it has none (access and alarm entries carry their own). The reader reconnects by
itself with Last-Event-ID when the stream ends (a panel restarted), so no log entry
is missed; state events start again from the current state, as the panel sends them.
A wait that runs out fails (AssertionError) saying what it waited for and every event
seen since `after`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import aiohttp

from .client import PanelClient

Match = dict | Callable[[dict], bool]


def matches(event: dict, want: Match) -> bool:
    """want: a dict every key of which the event has with that value, or a predicate."""
    if callable(want):
        return bool(want(event))
    return all(event.get(k) == v for k, v in want.items())


def describe(want: Match) -> str:
    if callable(want):
        return want.__doc__ or getattr(want, "__name__", repr(want))
    return json.dumps(want)


class EventStream:
    def __init__(self, client: PanelClient, *, retry_seconds: float = 0.2):
        self.client = client
        self.retry_seconds = retry_seconds
        self.events: list[dict] = []                # every event, in arrival order
        self.times: list[float] = []                # time.monotonic() of each
        self.last_id: int | None = None             # the last log entry's id (Last-Event-ID)
        self.connects = 0
        self.error = ""                             # why the last connection ended
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._connected = asyncio.Event()

    async def start(self, timeout: float = 10.0, replay_from: int | None = None) -> EventStream:
        """Connect and wait until the panel sent its current state. replay_from: a log
        entry id to replay after (0: the whole log); None: from now on."""
        if replay_from is None:
            replay_from = (await self.client.events(limit=1)).get("last_id") or 0
        self.last_id = replay_from
        self._task = asyncio.create_task(self._run(), name="hil-event-stream")
        try:
            async with asyncio.timeout(timeout):
                await self._connected.wait()
        except TimeoutError:
            await self.close()
            raise AssertionError(f"the event stream did not open within {timeout:g} s: {self.error}") from None
        return self

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None

    async def __aenter__(self) -> EventStream:
        return self if self._task else await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def mark(self) -> int:
        """Where the stream is now: wait(after=mark) looks only at what comes later."""
        return len(self.events)

    def since(self, mark: int) -> list[dict]:
        return self.events[mark:]

    async def wait(self, want: Match, *, after: int = 0, timeout: float = 10.0, what: str = "") -> dict:
        """The first event at or after position `after` that matches `want`; AssertionError
        naming `what` (or `want`) and what was seen, after `timeout` s."""
        end = time.monotonic() + timeout
        i = after
        while True:
            while i < len(self.events):
                if matches(self.events[i], want):
                    return self.events[i]
                i += 1
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(self._failure(what or describe(want), after, timeout))
            changed = self._changed
            try:
                async with asyncio.timeout(left):
                    await changed.wait()
            except TimeoutError:
                pass

    async def wait_not(self, want: Match, *, after: int, quiet: Match, timeout: float = 10.0,
                       what: str = "") -> dict:
        """Wait for `quiet` (the event that ends the window) and fail if an event matching
        `want` came before it: "the door was not released before the refusal"."""
        end_event = await self.wait(quiet, after=after, timeout=timeout, what=what)
        upto = self.events.index(end_event, after)
        for event in self.events[after:upto + 1]:
            if matches(event, want):
                raise AssertionError(f"unexpected event {json.dumps(event)} while waiting for {what or describe(quiet)}")
        return end_event

    def _failure(self, what: str, after: int, timeout: float) -> str:
        seen = self.events[after:]
        lines = "".join(f"\n  {json.dumps(_brief(e))}" for e in seen[-25:])
        state = "" if self._task and not self._task.done() else " (the stream reader stopped)"
        gone = f"; the stream dropped: {self.error}" if self.error else ""
        return (f"timed out after {timeout:g} s waiting for {what}{state}{gone}; "
                f"{len(seen)} events seen since:{lines or ' none'}")

    # -- reading --------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            try:
                await self._read_once()
                self.error = "the panel ended the stream"
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
                self.error = f"{type(e).__name__}: {e}"
            except Exception as e:          # an ApiError: say it, keep trying
                self.error = str(e)
            await asyncio.sleep(self.retry_seconds)

    async def _read_once(self) -> None:
        headers = {"Accept": "text/event-stream"}
        if self.last_id is not None:
            headers["Last-Event-ID"] = str(self.last_id)
        timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
        async with self.client.request("GET", "/events/stream", headers=headers, timeout=timeout) as r:
            if r.status != 200:
                raise RuntimeError(f"GET events/stream: HTTP {r.status}: {(await r.text())[:300]}")
            self.connects += 1
            self.error = ""
            name, data, event_id = "message", [], None
            async for raw in r.content:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if not line:
                    if data:
                        self._add(name, "\n".join(data), event_id)
                    name, data, event_id = "message", [], None
                    continue
                if line.startswith(":"):
                    continue
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    name = value
                elif field == "data":
                    data.append(value)
                elif field == "id":
                    event_id = value
                elif field == "retry":
                    self._connected.set()       # the first thing the panel writes

    def _add(self, name: str, text: str, event_id: str | None) -> None:
        try:
            event = json.loads(text)
        except json.JSONDecodeError:
            event = {"text": text}
        if not isinstance(event, dict):
            event = {"data": event}
        event.setdefault("kind", name)
        if event_id is not None and event_id.isdigit():
            self.last_id = int(event_id)
        self.events.append(event)
        self.times.append(time.monotonic())
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()


def _brief(event: dict) -> dict:
    """An event without its bulky fields, for a failure message."""
    return {k: v for k, v in event.items() if k not in ("snapshot", "sdp") and not (isinstance(v, str) and len(v) > 200)}
