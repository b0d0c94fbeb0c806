"""Running a target: reproducible inputs, what counts as a crash, its signature, and
shrinking each distinct crash to a minimal reproducer."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .harness import HANG_SECONDS, ROOT, Crash, Harness
from .targets import TARGETS


@dataclass
class Found:
    signature: str
    index: int
    count: int
    error: str
    input: object
    minimal: object = None


@dataclass
class Result:
    target: str
    inputs: int = 0
    crashed: int = 0
    seconds: float = 0.0
    found: dict[str, Found] = field(default_factory=dict)
    process_crash: str = ""


class _LoggedErrors(logging.Handler):
    """Exceptions the code caught in a catch-all and logged: a crash it survived."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        if record.exc_info:
            self.records.append(record)


def signature(exc: BaseException) -> str:
    """The exception's type and the innermost frame of the firmware (panel/, hal/) it passed."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if "/panel/" in f.filename or "/hal/" in f.filename] or frames[-1:]
    if not own:
        return type(exc).__name__
    path = Path(own[-1].filename)
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return f"{type(exc).__name__} at {where}:{own[-1].lineno}"


def draw(name: str, seed: int, index: int, harness: Harness):
    return harness.gen(random.Random(f"{seed}:{name}:{index}"))


async def attempt(harness: Harness, x, hang: float, logged: _LoggedErrors) -> tuple[str, str] | None:
    """None if `x` was handled cleanly, else (signature, error)."""
    logged.records.clear()
    started = time.perf_counter()
    try:
        if harness.is_async:
            async with asyncio.timeout(hang):       # no task of its own: _Tasks sees only the handlers'
                await harness.check(x)
        else:
            harness.check(x)
    except (asyncio.TimeoutError, TimeoutError):
        return f"hang over {hang:g} s", f"no answer within {hang:g} s"
    except Exception as exc:        # noqa: BLE001 - every escape is what we count
        if isinstance(exc, Crash) and logged.records:
            return _logged(logged.records[0], f"{exc}; ")     # the cause the code logged says more
        return signature(exc), f"{type(exc).__name__}: {exc}"[:300]
    if time.perf_counter() - started > hang:
        return f"hang over {hang:g} s", f"took {time.perf_counter() - started:.1f} s"
    if logged.records:
        return _logged(logged.records[0])
    return None


def _logged(record: logging.LogRecord, before: str = "") -> tuple[str, str]:
    exc = record.exc_info[1]
    return "logged " + signature(exc), f"{before}logged {record.getMessage()!r}: {type(exc).__name__}: {exc}"[:400]


@contextlib.asynccontextmanager
async def harnessed(name: str):
    """The target's harness, started, and a handler catching what the code logs with a traceback."""
    harness = TARGETS[name][0]()
    harness.is_async = inspect.iscoroutinefunction(harness.check)
    logged = _LoggedErrors()
    root = logging.getLogger()
    root.addHandler(logged)
    level = root.level
    root.setLevel(min(level, logging.ERROR) or logging.ERROR)     # so log.exception() reaches `logged`
    try:
        await harness.start()
        try:
            yield harness, logged
        finally:
            await harness.stop()
    finally:
        root.removeHandler(logged)
        root.setLevel(level)


async def replay(name: str, x, hang: float = HANG_SECONDS) -> tuple[str, str] | None:
    """One given input of a target: None if handled cleanly, else (signature, error)."""
    async with harnessed(name) as (harness, logged):
        return await attempt(harness, x, hang, logged)


async def run_target(name: str, count: int, seed: int, *, hang: float = HANG_SECONDS, first: int = 0,
                     shrink_budget: int = 400) -> Result:
    result = Result(name)
    async with harnessed(name) as (harness, logged):
        started = time.perf_counter()
        for i in range(first, first + count):
            x = draw(name, seed, i, harness)
            bad = await attempt(harness, x, hang, logged)
            result.inputs += 1
            if bad:
                result.crashed += 1
                sig, error = bad
                if sig in result.found:
                    result.found[sig].count += 1
                else:
                    result.found[sig] = Found(sig, i, 1, error, x)
        result.seconds = time.perf_counter() - started
        for found in result.found.values():
            if found.signature.startswith("hang"):
                found.minimal = found.input
                continue
            found.minimal = await shrink_async(harness, found, hang, logged, shrink_budget)
    return result


async def shrink_async(harness, found: Found, hang: float, logged, budget: int):
    """A smaller input failing with the same signature: greedy steps from _smaller(),
    at most `budget` runs."""
    best = found.input
    tries = 0
    changed = True
    while changed and tries < budget:
        changed = False
        for candidate in _smaller(best):
            tries += 1
            if tries > budget:
                break
            try:
                bad = await attempt(harness, candidate, hang, logged)
            except Exception:       # noqa: BLE001
                bad = None
            if bad and bad[0] == found.signature:
                best, changed = candidate, True
                break
    return best


def _smaller(v):
    """Inputs one step smaller than v: chunks of bytes/text removed, items or keys dropped,
    and the same inside containers."""
    if isinstance(v, (bytes, str)):
        n = len(v)
        chunk = n // 2
        while chunk >= 1:
            for i in range(0, n, chunk):
                yield v[:i] + v[i + chunk:]
            chunk //= 2
        return
    if isinstance(v, dict):
        for k in v:
            if k != "type":
                yield {kk: vv for kk, vv in v.items() if kk != k}
        for k in v:
            for s in _smaller(v[k]):
                yield {**v, k: s}
        return
    if isinstance(v, (list, tuple)):
        kind = type(v)
        if kind is list:
            for i in range(len(v)):
                yield v[:i] + v[i + 1:]
        for i in range(len(v)):
            for s in _smaller(v[i]):
                yield kind(list(v[:i]) + [s] + list(v[i + 1:]))
        return
    if isinstance(v, int) and not isinstance(v, bool) and v not in (0, 1):
        yield 0
        yield 1
