"""The one clock every part of the panel is given.

Monotonic time, sleeps and timers are the running asyncio loop's (`loop.time()`,
`asyncio.sleep`, `call_later`): the strike, the inputs' debouncing, the scanner and
the shell all time themselves with it, so a virtual-time loop (looptime, in tests)
drives every timer of the panel at once, with exact times. Wall time is what keys and
log entries are stamped with; `VirtualClock` makes it follow the loop's time too.
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

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def call_later(self, delay: float, callback: Callable, *args) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(delay, callback, *args)


class VirtualClock(Clock):
    """Wall time that moves with the loop's (virtual) time, from a given start."""

    def __init__(self, wall_at_zero: float = 1_800_000_000.0):
        self.wall_at_zero = wall_at_zero

    def wall(self) -> float:
        return self.wall_at_zero + self.monotonic()
