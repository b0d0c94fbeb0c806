"""The imperative shell around `panel.core`: events in, effects carried out.

`Shell.dispatch` applies one event to the state with `core.step` on the event-loop
thread and hands each effect to the part that carries it out: the door controller
pulses the strike, the access-log writer records entries and alarms, the call service
places and ends calls. `run_deadlines` sends a Tick when the state asks for one (a
screen timing out, a ring unanswered, a door held open), on the injected clock.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Coroutine

from hal.clock import Clock

from . import trace
from .core import effects as fx
from .core import events as ev
from .core.machine import PanelState, Rules, initial_state, step

log = logging.getLogger("panel")


class Spawner:
    """Starts background work in the panel's TaskGroup; work asked for during start-up
    (a card read, an exit button press) waits until the TaskGroup runs."""

    def __init__(self):
        self._tg: asyncio.TaskGroup | None = None
        self._early: list[Coroutine] = []
        self._closed = False

    def spawn(self, coro: Coroutine) -> None:
        if self._tg is not None:
            self._tg.create_task(coro)
        elif not self._closed:
            self._early.append(coro)
        else:
            coro.close()

    def attach(self, tg: asyncio.TaskGroup) -> None:
        self._tg = tg
        for coro in self._early:
            tg.create_task(coro)
        self._early.clear()

    def close(self) -> None:
        """Nothing more will run: drop what was asked for and never started."""
        self._tg, self._closed = None, True
        for coro in self._early:
            coro.close()
        self._early.clear()


def rules_from(config) -> Rules:
    """The timings the rules depend on, from a panel.config.Config."""
    c = config
    # A Modbus command is a write and a read back, each waiting up to timeout_seconds.
    confirm = max(Rules.confirm_seconds, 2 * c.modbus.timeout_seconds + 1) if c.door.backend == "modbus" \
        else Rules.confirm_seconds
    return Rules(idle_seconds=c.screen.idle_seconds, message_seconds=c.screen.message_seconds,
                 ring_timeout_seconds=c.call.ring_timeout_seconds, max_call_seconds=c.call.max_call_seconds,
                 pulse_seconds=c.door.pulse_seconds, held_open_seconds=c.door.held_open_seconds,
                 confirm_seconds=confirm)


async def supervised(name: str, loop_fn: Callable[[], Coroutine], clock: Clock) -> None:
    """Run a long-lived loop; a bug in it is logged and the loop restarts, the panel keeps running."""
    while True:
        try:
            await loop_fn()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s loop failed; restarting it in 1 s", name)
            await clock.sleep(1.0)


class Shell:
    def __init__(self, rules: Rules, clock: Clock):
        self.rules = rules
        self.clock = clock
        # Release ids are this run's random prefix and a count: unique across restarts.
        self.state: PanelState = initial_state(clock.monotonic(), boot=secrets.token_hex(4))
        self._changed = asyncio.Event()
        self._carriers: dict[type, Callable[[fx.Effect], None]] = {fx.Ignored: self._log_ignored,
                                                                   fx.Note: self._log_note}
        self._watchers: list[Callable[[PanelState, PanelState], None]] = []

    def carry(self, effect_type: type, fn: Callable[[fx.Effect], None]) -> None:
        """`fn` carries out every effect of this type (several may: e.g. log and reader LED)."""
        previous = self._carriers.get(effect_type)
        if previous is None:
            self._carriers[effect_type] = fn
        else:
            self._carriers[effect_type] = lambda e: (previous(e), fn(e))

    def watch(self, fn: Callable[[PanelState, PanelState], None]) -> None:
        """`fn(before, after)` after every event that changed the state."""
        self._watchers.append(fn)

    def dispatch(self, event) -> list[fx.Effect]:
        """Apply one event now, on the event-loop thread, and start its effects (returned)."""
        trace.point("app.dispatch.start", event=type(event).__name__)
        before = self.state
        self.state, effects = step(self.state, event, self.clock.monotonic(), self.rules)
        for effect in effects:
            carrier = self._carriers.get(type(effect))
            if carrier is None:
                log.debug("no part carries out %s", effect)
                continue
            try:
                carrier(effect)
            except Exception:           # one part's bug must not stop the others' effects
                log.exception("carrying out %s failed", effect)
        if self.state != before:
            if self.state.screen != before.screen:
                log.info("screen %s -> %s", before.screen.value, self.state.screen.value)
            self._changed.set()
            for fn in self._watchers:
                fn(before, self.state)
        trace.point("app.dispatch.end")
        return effects

    async def run_deadlines(self) -> None:
        """Sends Tick when the state's next deadline passes."""
        while True:
            self._changed.clear()
            wake_at = self.state.wake_at
            timeout = None if wake_at is None else max(0.0, wake_at - self.clock.monotonic())
            try:
                # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancel
                # that lands as the event is set, and this loop would then outlive shutdown.
                async with asyncio.timeout(timeout):
                    await self._changed.wait()
            except TimeoutError:
                self.dispatch(ev.Tick())

    @staticmethod
    def _log_ignored(effect: fx.Ignored) -> None:
        log.debug("ignored %s on %s: %s", effect.event, effect.screen, effect.why)

    @staticmethod
    def _log_note(effect: fx.Note) -> None:
        log.info("%s", effect.message)
