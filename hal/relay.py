"""The door strike: timed release with a guaranteed relock, over any relay backend.

`DoorStrike` owns the door's state. Callers ask for windows (`unlock_for`); the strike
energizes or de-energizes its backend, holds the door released until the last window
ends, and relocks from a task of its own, so a cancelled or failing caller can never
leave the door open. A relock the backend refuses is retried every `retry_interval`
until it is confirmed, reporting `RelayFaulted` / `RelayStuck` / `RelayRecovered` (and
`StrikeReleased` / `StrikeRelocked` for every confirmed change) through `on_event`.

Wiring:
- fail-secure (default, electric strike): energized = released.
- fail-safe (maglock): energized = locked; releasing de-energizes.
`unlocked` and `state` are always the logical door state, whatever the wiring.

Backends (each records what the hardware did, for tests):
- `hal.gpio.GpioRelay`: a GPIO pin through gpiozero (lgpio on a Pi, MockFactory in tests).
- `hal.modbus.ModbusRelay`: a coil of a Modbus RTU relay board (pymodbus over pyserial).
- `hal.osdp.OsdpReader`: one output of an OSDP reader or door controller (libosdp).

A backend that can time a release itself (`arm_pulse`, as OSDP output timers do) is
released that way: armed for the window plus `device_guard` seconds and re-armed
while a longer window lasts, so the door relocks by itself even if this process dies
mid-pulse. The strike's own relock still comes first and is what confirms it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from .events import (HardwareEvent, deliver, OnEvent, RelayFaulted, RelayRecovered, RelayStuck, StrikeReleased,
                     StrikeRelocked)

log = logging.getLogger(__name__)

__all__ = ["RelayError", "RelayBackend", "DoorStrike"]

# A deadline less than this far away is due now. Deadlines are floats (loop.time() + seconds):
# a timer can fire a rounding error (~1e-16 s) before its deadline, and the clock must not
# be relied on to move past that (a virtual clock in tests does not, and waiting again
# for 1e-16 s would spin).
_DUE = 1e-6


class RelayError(Exception):
    """The relay backend could not be reached or did not confirm the requested state."""


class RelayBackend(Protocol):
    async def set(self, energized: bool) -> None:
        """Drive the relay; raise RelayError on failure. Confirm by read-back where possible."""

    async def close(self) -> None: ...

    # Optional: async def arm_pulse(self, seconds, *, energized) -> float
    #   the device holds `energized` for `seconds` (returns the time armed, which may be
    #   less), then goes back to the state the last set() left; a set() ends it early.


class DoorStrike:
    def __init__(self, backend: RelayBackend, *, fail_safe: bool = False,
                 alarm_after: float = 10.0, retry_interval: float = 0.2, device_guard: float = 1.0,
                 on_event: OnEvent | None = None):
        self.backend = backend
        self.device_guard = device_guard
        self._arm = getattr(backend, "arm_pulse", None)   # the device times releases itself
        self._armed_until = 0.0           # loop time the device's own timer relocks at
        self.fail_safe = fail_safe
        self.alarm_after = alarm_after
        self.retry_interval = retry_interval
        self._on_event = on_event
        self._state: bool | None = None  # confirmed logical unlocked state; None = unknown
        self._fault: str | None = None
        self._windows: dict[object, float] = {}   # caller token -> loop-time deadline
        self._io = asyncio.Lock()         # one backend command at a time
        self._wake = asyncio.Event()      # a window was cut or added: the closer looks again
        self._closer: asyncio.Task | None = None
        self._resync: asyncio.Task | None = None
        self._relocked: asyncio.Future | None = None   # resolved by the closer's next relock attempt
        self._alarm: asyncio.TimerHandle | None = None
        self._closed = False

    # -- public ---------------------------------------------------------------------

    @property
    def unlocked(self) -> bool:
        """True while the door is released, or may be: before start(), and after a
        command the backend did not confirm (a Modbus write can land unanswered)."""
        return self._state is not False

    @property
    def state(self) -> str:
        """"locked", "unlocked" (confirmed by the backend) or "unknown": before start(), and
        after a command the backend did not confirm (it may or may not have landed)."""
        return {True: "unlocked", False: "locked", None: "unknown"}[self._state]

    @property
    def fault(self) -> str | None:
        return self._fault

    async def start(self) -> None:
        """Relock now: a relay left energized by a crash is released before anything runs.

        Does not raise when the backend is unreachable: the fault is reported and the
        strike keeps retrying in the background, so the rest of the panel can start.
        """
        self._ensure_closer()
        try:
            await asyncio.shield(self._waiter())
        except RelayError as e:
            log.warning("door relock at start-up failed, retrying: %s", e)

    async def unlock_for(self, seconds: float) -> None:
        """Release the door for `seconds`, then relock; returns once relocked.

        A call while the door is open extends the window (latest deadline wins).
        Raises RelayError if the door could not be released, or if the first relock
        attempt failed (the strike then keeps retrying on its own).
        """
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        if self._closed:
            raise RelayError("door strike is closed")
        loop = asyncio.get_running_loop()
        token = object()
        done = False
        try:
            async with self._io:
                # Reserve the window first, so the closer does not relock while we drive.
                self._windows[token] = loop.time() + seconds
                if self._state is not True or self._fault or self._device_relocks_too_soon():
                    await self._drive(unlocked=True)
                # The window counts from the confirmed release.
                self._windows[token] = loop.time() + seconds
            waiter = self._waiter()
            self._ensure_closer()
            self._wake.set()
            await asyncio.shield(waiter)
            done = True
        finally:
            self._windows.pop(token, None)
            if not done:
                # Cancelled, failed, or an exception thrown in: the window ends now
                # (the door stays open only if another caller still holds one).
                self._ensure_closer()
                self._wake.set()

    def resync(self) -> None:
        """The device may have lost what it was told (a reader that rebooted comes back in
        its power-up state, which for a maglock can be released): drive it again, now, to
        what the door should be. Called when the backend reports it is back."""
        if self._closed:
            return
        if self._resync is None or self._resync.done():
            self._resync = asyncio.get_running_loop().create_task(self._run_resync(), name="door-strike-resync")

    async def _run_resync(self) -> None:
        async with self._io:
            self._state = None            # unknown until driven again
            try:
                await self._drive(unlocked=self._hold_time() > 0)
                retry = False
            except RelayError:
                retry = True              # the fault is reported; the closer retries
        if retry or self._windows:
            self._ensure_closer()
            self._wake.set()

    async def close(self) -> None:
        """Relock (one attempt) and close the backend. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._windows.clear()
        for task in (self._closer, self._resync):
            if task:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        error: RelayError | None = None
        async with self._io:
            try:
                await self._drive(unlocked=False)
            except RelayError as e:
                error = e
                log.error("door relock on close failed: %s", e)
        self._settle(error)
        self._cancel_alarm()
        try:
            await self.backend.close()
        except Exception:                 # closing must not fail the shutdown
            log.exception("closing relay backend")

    # -- internals ------------------------------------------------------------------

    def _waiter(self) -> asyncio.Future:
        if self._relocked is None or self._relocked.done():
            self._relocked = asyncio.get_running_loop().create_future()
            # A caller that was cancelled never reads the result: keep asyncio quiet.
            self._relocked.add_done_callback(lambda f: f.cancelled() or f.exception())
        return self._relocked

    def _settle(self, error: RelayError | None) -> None:
        """Tell the callers waiting for a relock how the attempt went."""
        f = self._relocked
        if f is not None and not f.done():
            f.set_exception(error) if error else f.set_result(None)

    def _ensure_closer(self) -> None:
        if not self._closed and (self._closer is None or self._closer.done()):
            self._closer = asyncio.get_running_loop().create_task(self._run_closer(), name="door-strike-relock")

    def _hold_time(self) -> float:
        """Seconds until the last window ends; 0 when it is due."""
        if not self._windows:
            return 0.0
        remaining = max(self._windows.values()) - asyncio.get_running_loop().time()
        return remaining if remaining > _DUE else 0.0

    def _device_relocks_too_soon(self) -> bool:
        """The device's own timer would relock before the last window ends (plus half the guard)."""
        return (self._arm is not None and bool(self._windows)
                and self._armed_until < max(self._windows.values()) + self.device_guard / 2)

    async def _run_closer(self) -> None:
        """Hold while any window is open, then relock, retrying until confirmed."""
        loop = asyncio.get_running_loop()
        while True:
            while (delay := self._hold_time()) > 0:
                if self._device_relocks_too_soon():
                    # A window longer than the device's timer: re-arm a guard's time before it runs out.
                    rearm_in = self._armed_until - self.device_guard - loop.time()
                    if rearm_in <= _DUE:
                        await self._rearm()
                        continue
                    delay = min(delay, rearm_in)
                self._wake.clear()
                try:
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                except TimeoutError:
                    pass
            async with self._io:
                if self._hold_time() > 0:
                    continue              # a window opened while we waited for the backend
                try:
                    await self._drive(unlocked=False)
                except RelayError as e:
                    error = e
                else:
                    self._settle(None)
                    return
            self._settle(error)
            if self._alarm is None:
                self._alarm = asyncio.get_running_loop().call_later(self.alarm_after, self._raise_alarm)
            await asyncio.sleep(self.retry_interval)

    async def _rearm(self) -> None:
        async with self._io:
            if self._hold_time() <= 0 or not self._device_relocks_too_soon():
                return
            try:
                await self._drive(unlocked=True)
                return
            except RelayError:
                pass              # the device's timer may relock the door; the fault is reported
        await asyncio.sleep(self.retry_interval)

    async def _drive(self, *, unlocked: bool) -> None:
        """One backend command (caller holds self._io); keeps state, fault and events.

        A release on a backend with a device timer is armed for the longest window held
        plus the guard; everything else is a permanent set()."""
        energized = unlocked != self.fail_safe
        try:
            if unlocked and self._arm is not None:
                sent = asyncio.get_running_loop().time()     # the device's timer starts after this
                armed = await self._arm(self._hold_time() + self.device_guard, energized=energized)
                self._armed_until = sent + armed
            else:
                await self.backend.set(energized)
        except BaseException as e:
            if self._state is not unlocked:
                self._state = None        # the command may or may not have landed
            if isinstance(e, RelayError):
                self._set_fault(str(e) or type(e).__name__)
                raise
            if not isinstance(e, Exception):
                raise                     # cancelled: not a fault, the closer relocks
            self._set_fault(f"{type(e).__name__}: {e}")   # a backend bug is a fault too
            raise RelayError(self._fault) from e
        self._cancel_alarm()              # the backend answers: the failure episode is over
        if self._fault is not None:
            self._fault = None
            self._emit(RelayRecovered())
        if unlocked is not self._state:
            self._state = unlocked
            self._emit(StrikeReleased() if unlocked else StrikeRelocked())

    def _set_fault(self, error: str) -> None:
        first = self._fault is None
        self._fault = error
        if first:
            self._emit(RelayFaulted(error))

    def _raise_alarm(self) -> None:
        # The timer stays set (not None) so the alarm fires once per failure episode.
        self._emit(RelayStuck(self._fault or "", self.alarm_after))

    def _cancel_alarm(self) -> None:
        if self._alarm is not None:
            self._alarm.cancel()
            self._alarm = None

    def _emit(self, event: HardwareEvent) -> None:
        if isinstance(event, (RelayFaulted, RelayStuck)):
            log.warning("%s", event)
        deliver(self._on_event, event, log)       # a listener's bug must never reach the door
