"""The panel's events as they happen, for the live stream, webhooks and MQTT.

Two kinds of events:
- log entries (access and alarm): in the store, each with the store's id. The feed
  only says "entry N was written" (`Logged`); a subscriber reads the entries from the
  store after its own cursor, so a slow or reconnecting reader never skips one and
  never sees one twice.
- state changes (call, door, link): derived from the shell's (before, after) states
  by `state_events`, plain dicts, not in the store. A subscriber gets the current
  state first (`current_state`), then every change.

Subscribers get a bounded queue each: one that falls behind by more than
QUEUE_LIMIT is dropped (its stream ends; a client resumes from its last id), the
door path never waits for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from .core.machine import PanelState, Screen

log = logging.getLogger("panel")

QUEUE_LIMIT = 1000


@dataclass(frozen=True)
class Logged:
    """Entry `id` is in the store (read it with store.events(after=id - 1))."""
    id: int


def call_state(s: PanelState) -> str | None:
    if s.screen is Screen.IN_CALL:
        return "answered"
    if s.screen is Screen.CALLING:
        return "ringing" if s.ringing else "calling"
    return None


def current_state(s: PanelState) -> list[dict]:
    """The state as events: what a new subscriber is told first."""
    events = [{"kind": "door", "state": "released" if s.door_released else "relocked"},
              {"kind": "link", "state": "up" if s.cloud_online else "down"}]
    if s.door_fault:
        events.insert(1, {"kind": "door", "state": "fault", "detail": s.door_fault})
    if s.door_open is not None:
        events.insert(1, {"kind": "door", "state": "open" if s.door_open else "closed"})
    if call_state(s):
        events.append(_call(s, call_state(s)))
    return events


def state_events(before: PanelState, after: PanelState) -> list[dict]:
    """What changed between two states, as events (the order a person would tell it)."""
    out = []
    was, now = call_state(before), call_state(after)
    if was and (not now or before.call_id != after.call_id):
        # The machine leaves a call for the "call ended" screen with its reason; any other
        # screen (the door opened in the call, a timeout home) names itself.
        reason = after.message if after.screen is Screen.CALL_ENDED else after.screen.value
        out.append(_call(before, "ended", reason=reason))
    if now and (now != was or before.call_id != after.call_id):
        out.append(_call(after, now))
    if after.door_released != before.door_released:
        out.append({"kind": "door", "state": "released" if after.door_released else "relocked"})
    if after.door_fault != before.door_fault:
        out.append({"kind": "door", "state": "fault", "detail": after.door_fault} if after.door_fault
                   else {"kind": "door", "state": "fault_cleared"})
    if after.door_open != before.door_open and after.door_open is not None:
        out.append({"kind": "door", "state": "open" if after.door_open else "closed"})
    if after.cloud_online != before.cloud_online:
        out.append({"kind": "link", "state": "up" if after.cloud_online else "down"})
    return out


def _call(s: PanelState, state: str, **extra) -> dict:
    return {"kind": "call", "state": state, "call_id": s.call_id, "resident_id": s.resident_id,
            "resident": s.resident_name, **extra}


class Subscription:
    def __init__(self, feed: "EventsFeed"):
        self.feed = feed
        self.queue: asyncio.Queue = asyncio.Queue(QUEUE_LIMIT)
        self.dropped = False

    async def get(self):
        """The next Logged or state-event dict; None once the feed dropped this subscriber."""
        if self.dropped and self.queue.empty():
            return None
        return await self.queue.get()

    def close(self) -> None:
        self.feed._subscribers.discard(self)


class EventsFeed:
    def __init__(self, state: Callable[[], PanelState]):
        self.state = state
        self._subscribers: set[Subscription] = set()
        self._listeners: list[Callable[[object], None]] = []

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(self) -> Subscription:
        sub = Subscription(self)
        self._subscribers.add(sub)
        return sub

    def listen(self, fn: Callable[[object], None]) -> None:
        """fn(item) for every item, on the loop thread (webhooks, MQTT): must not block."""
        self._listeners.append(fn)

    # The shell's hooks: Shell.watch and AccessLogWriter's on_written.
    def on_state(self, before: PanelState, after: PanelState) -> None:
        for event in state_events(before, after):
            self._publish(event)

    def on_logged(self, event_id: int) -> None:
        self._publish(Logged(event_id))

    def _publish(self, item) -> None:
        for fn in self._listeners:
            try:
                fn(item)
            except Exception:
                log.exception("events feed: a listener failed on %s", item)
        for sub in list(self._subscribers):
            try:
                sub.queue.put_nowait(item)
            except asyncio.QueueFull:
                log.warning("events feed: a subscriber fell %d events behind; dropping it (it may resume "
                            "from its last id)", QUEUE_LIMIT)
                sub.dropped = True
                sub.close()
                sub.queue.get_nowait()              # room for the wake-up below
                sub.queue.put_nowait(None)
