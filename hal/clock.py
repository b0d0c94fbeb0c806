"""The one clock every part of the panel is given.

Monotonic time, sleeps and timers are the running asyncio loop's (`loop.time()`,
`asyncio.sleep`, `call_later`): the strike, the inputs' debouncing, the scanner and
the shell all time themselves with it, so a virtual-time loop (looptime, in tests)
drives every timer of the panel at once, with exact times. Wall time is what keys and
log entries are stamped with; `VirtualClock` makes it follow the loop's time too.
`sync_source` says what vouches for the wall clock (hal/timesync.py); the panel's
trusted time (panel/trusted_time.py) builds on it, and tests set it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["Clock", "VirtualClock"]


class Clock:
    def monotonic(self) -> float:
        """Seconds of the running loop's clock (the system's monotonic clock outside a loop)."""
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return time.monotonic()

    def wall(self) -> float:
        """Unix time."""
        return time.time()

    def sync_source(self) -> str | None:
        """What set the wall clock: "ntp", "rtc", or None (nothing: it may be anything)."""
        from . import timesync
        return timesync.sync_source()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def call_later(self, delay: float, callback: Callable, *args) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(delay, callback, *args)


class VirtualClock(Clock):
    """Wall time that moves with the loop's (virtual) time, from a given start; what
    vouches for it is `source` (tests change both: a clock a day slow, NTP lost)."""

    def __init__(self, wall_at_zero: float = 1_800_000_000.0, source: str | None = "ntp"):
        self.wall_at_zero = wall_at_zero
        self.source = source

    def wall(self) -> float:
        return self.wall_at_zero + self.monotonic()

    def sync_source(self) -> str | None:
        return self.source
