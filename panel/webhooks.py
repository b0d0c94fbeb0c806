"""[[webhooks]]: a signed JSON POST per event, in order, at least once, from the store.

Every event a webhook wants goes through the store's webhook outbox first: access
and alarm entries in the transaction that writes the log entry (a kill -9 loses
neither), call, door and link changes a moment later (written in order by one task;
only a kill -9 within those milliseconds loses one). Each webhook keeps its cursor
(the last outbox id it delivered) in the store's meta table, so a restart resumes
where the receiver left off. A POST that fails (no connection, a timeout, any status
but 2xx) is retried, with back-off, until the receiver takes it; the next event
waits behind it (order). The outbox is bounded (`max_queued`): a receiver away that
long loses the oldest, counted in `GET status` (`lost`).

    POST url   Content-Type: application/json
    X-Panel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
    Idempotency-Key: <outbox id>      (the same on every retry of one event)
    X-Panel-Event: access | alarm | call | door | link
    {"id": <outbox id>, "kind": ..., "ts": ..., "door": <door id>, "data": {...}}
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
from collections import deque

import aiohttp

from hal.clock import Clock

from .config import WebhookSection
from .events_feed import EventsFeed, Logged
from .store import Store, StoreUnavailable

log = logging.getLogger("panel")

LOG_KINDS = frozenset({"access", "alarm"})      # written with the log entry (store.log_access)
FIRST_RETRY_SECONDS = 0.5
STATE_QUEUE = 1000                              # state events waiting for the disk (a full disk)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Panel-Signature header for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class Delivery:
    """One webhook: its cursor, its retries, what status says of it."""

    def __init__(self, hook: WebhookSection, store: Store, clock: Clock, door_id: str):
        self.hook, self.store, self.clock, self.door_id = hook, store, clock, door_id
        self.kinds = frozenset(hook.events)
        self.key = f"webhook:{hook.url}"
        self.cursor: int | None = None
        self.wake = asyncio.Event()
        self.queued = 0
        self.lost = 0
        self.attempts = 0                       # failed attempts at the event at the head
        self.last_error = ""
        self.delivered = 0

    def status(self) -> dict:
        state = "retrying" if self.attempts else ("starting" if self.cursor is None else "ok")
        return {"url": self.hook.url, "events": list(self.hook.events), "state": state, "queued": self.queued,
                "delivered": self.delivered, "lost": self.lost, "attempts": self.attempts,
                "last_error": self.last_error or None}

    async def run(self, session: aiohttp.ClientSession, forget) -> None:
        if self.cursor is None:
            saved = await asyncio.to_thread(self.store.get_meta, self.key)
            # A webhook seen for the first time starts with what comes next, not the history.
            self.cursor = int(saved) if saved is not None else (await self._count())[1]
            await asyncio.to_thread(self.store.set_meta, self.key, str(self.cursor))
        while True:
            self.wake.clear()
            items = await asyncio.to_thread(self.store.webhook_after, self.cursor, 50)
            self.queued = (await self._count())[0]
            if not items:
                await self.wake.wait()
                continue
            if items[0].id > self.cursor + 1 and self.cursor > 0:
                skipped = items[0].id - self.cursor - 1
                self.lost += skipped
                log.error("webhook %s: %d events dropped from the full outbox (max_queued %d) while the "
                          "receiver was away", self.hook.url, skipped, self.hook.max_queued)
            for item in items:
                if item.kind in self.kinds:
                    await self._deliver(session, item)
                    self.delivered += 1
                    self.queued = max(0, self.queued - 1)
                self.cursor = item.id
                await asyncio.to_thread(self.store.set_meta, self.key, str(self.cursor))
            await forget()

    async def _count(self) -> tuple[int, int]:
        return await asyncio.to_thread(self.store.webhook_count, self.cursor or 0, self.kinds)

    async def _deliver(self, session: aiohttp.ClientSession, item) -> None:
        body = json.dumps({"id": item.id, "kind": item.kind, "ts": item.ts, "door": self.door_id,
                           "data": item.payload}, separators=(",", ":")).encode()
        delay = FIRST_RETRY_SECONDS
        while True:
            headers = {"Content-Type": "application/json", "X-Panel-Event": item.kind,
                       "X-Panel-Signature": sign(self.hook.secret, int(self.clock.wall()), body),
                       "Idempotency-Key": str(item.id)}
            try:
                async with session.post(self.hook.url, data=body, headers=headers,
                                        timeout=aiohttp.ClientTimeout(total=self.hook.timeout_seconds)) as resp:
                    if 200 <= resp.status < 300:
                        if self.attempts:
                            log.info("webhook %s: delivering again after %d failed attempts", self.hook.url,
                                     self.attempts)
                        self.attempts, self.last_error = 0, ""
                        return
                    problem = f"HTTP {resp.status}"
            except (aiohttp.ClientError, OSError, TimeoutError) as e:
                problem = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            if not self.attempts:
                log.warning("webhook %s: event %d not delivered (%s); retrying with back-off", self.hook.url,
                            item.id, problem)
            self.attempts += 1
            self.last_error = problem
            self.queued = (await self._count())[0]
            await self.clock.sleep(delay * random.uniform(0.8, 1.0))
            delay = min(delay * 2, self.hook.retry_max_seconds)


class Webhooks:
    """Every [[webhooks]] of the config, fed by the events feed; `run()` is one panel loop."""

    def __init__(self, hooks: tuple[WebhookSection, ...], store: Store, feed: EventsFeed, clock: Clock,
                 door_id: str):
        self.store, self.clock = store, clock
        self.deliveries = [Delivery(h, store, clock, door_id) for h in hooks]
        kinds = frozenset(k for h in hooks for k in h.events)
        self.state_kinds = kinds - LOG_KINDS
        store.webhook_kinds = kinds & LOG_KINDS
        store.webhook_limit = max((h.max_queued for h in hooks), default=store.webhook_limit)
        self._states: deque[tuple[dict, float]] = deque(maxlen=STATE_QUEUE)
        self._state_written = asyncio.Event()
        feed.listen(self._on_item)

    def status(self) -> list[dict]:
        return [d.status() for d in self.deliveries]

    def _on_item(self, item) -> None:
        if isinstance(item, Logged):
            self._wake_all()
        elif item["kind"] in self.state_kinds:
            if len(self._states) == STATE_QUEUE:
                log.error("webhooks: %d state events wait for the disk; the oldest is lost", STATE_QUEUE)
            self._states.append((item, self.clock.wall()))
            self._state_written.set()

    def _wake_all(self) -> None:
        for d in self.deliveries:
            d.wake.set()

    async def run(self) -> None:
        if not self.deliveries:
            return
        async with aiohttp.ClientSession() as session, asyncio.TaskGroup() as tg:
            tg.create_task(self._write_states())
            for d in self.deliveries:
                tg.create_task(d.run(session, self._forget))

    async def _write_states(self) -> None:
        """Call, door and link changes into the outbox, in order, off the loop."""
        while True:
            self._state_written.clear()
            while self._states:
                event, ts = self._states[0]
                try:
                    await asyncio.to_thread(self.store.webhook_add, event["kind"], event, ts)
                except StoreUnavailable:
                    await self.clock.sleep(2.0)     # the disk says no: the access log retries too
                    continue
                self._states.popleft()
                self._wake_all()
            await self._state_written.wait()

    async def _forget(self) -> None:
        """Rows every webhook has passed are deleted (the outbox holds only what waits)."""
        cursors = [d.cursor for d in self.deliveries]
        if all(c is not None for c in cursors):
            try:
                await asyncio.to_thread(self.store.webhook_forget, min(cursors))
            except StoreUnavailable:
                pass                                # later: the next batch tries again
