"""A no-op tracing hook: benchmarks subscribe to named points instead of patching.

`point(name, **fields)` costs one truth test when nobody listens."""

from __future__ import annotations

import time
from collections.abc import Callable

_subscribers: list[Callable[[str, float, dict], None]] = []


def point(name: str, **fields) -> None:
    if _subscribers:
        now = time.perf_counter()
        for fn in tuple(_subscribers):
            fn(name, now, fields)


def subscribe(fn: Callable[[str, float, dict], None]) -> Callable[[], None]:
    """fn(name, perf_counter_time, fields) for every point; returns the unsubscribe."""
    _subscribers.append(fn)
    return lambda: _subscribers.remove(fn) if fn in _subscribers else None
