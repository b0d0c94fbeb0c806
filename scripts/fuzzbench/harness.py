"""What every fuzz target is: a Harness, and the Crash it raises when the code it
drives broke its contract without an exception of its own."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANG_SECONDS = 2.0
NOW = 1_800_000_000     # the wall clock of every target (credentials are issued around it)


class Crash(Exception):
    """The target broke its contract without raising (accepted an altered credential, a 500)."""


class Harness:
    """One target: gen(rng) -> an input; check(input) returns when the input was
    handled cleanly and raises otherwise. start()/stop() set up real peers."""
    quick = 200           # inputs in the test suite's short run

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
