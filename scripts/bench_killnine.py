#!/usr/bin/env python3
"""kill -9 at random points of a door release, and the cost of journaling a release.

    .venv/bin/python scripts/bench_killnine.py [--runs 100] [--seed N]

Each run (tests/killnine.py): a `panel run` process on a Modbus board on a pty asks
the relay to open (POST door/open), is killed with SIGKILL at a random moment (half
the runs within 0.1 s, around the relay being driven; half within pulse_seconds +
0.5 s), and is restarted on the same state folder; the board's own record says whether the coil went on and whether it is off again after the
restart, the restarted panel's access log says what it knows. Printed: runs, relocked
after restart, releases the relay energized, of those logged (a granted entry or a
release_interrupted alarm), interrupted ones reported, duplicates, lost.

Then the journal's cost on this disk, in the state folder's file system: one
journal line (os.write, what the door path waits for), its fdatasync (a worker
thread, beside the relay), and one access-log entry (SQLite, synchronous=FULL: what
the door would wait for if the journal were a table in panel.db).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from panel.remote.measure import percentile  # noqa: E402
from panel.sim.modbus_board import ModbusBoard  # noqa: E402
from panel.store import Store  # noqa: E402
from panel.store.journal import ReleaseJournal  # noqa: E402
from tests.killnine import PULSE_SECONDS, KillNineRig  # noqa: E402


async def kill_runs(directory: Path, runs: int, rng: random.Random) -> list:
    results = []
    async with ModbusBoard(baudrate=115200) as board:
        rig = KillNineRig(directory, board)
        await rig.start()
        try:
            for n in range(runs):
                # Half the runs around the moment the relay is driven, half anywhere in the release.
                at = rng.uniform(0, 0.1) if rng.random() < 0.5 else rng.uniform(0, PULSE_SECONDS + 0.5)
                results.append(await rig.release_and_kill(round(at, 3)))
                r = results[-1]
                print(f"  run {n + 1:3}: kill at {r.point:>5} s  energized={r.energized!s:5} "
                      f"open_at_kill={r.open_at_kill!s:5} logged={r.logged!s:5} reported={r.reported!s:5}",
                      file=sys.stderr)
        finally:
            await rig.stop()
    return results


def journal_costs(directory: Path, n: int = 200) -> list[tuple[str, list[float]]]:
    journal = ReleaseJournal(directory / "bench-journal")
    store = Store(directory / "bench.db")
    write, sync, commit = [], [], []
    for i in range(n):
        t = time.perf_counter()
        journal.begin(f"b-{i}", "api", "bench", "", time.time())
        write.append(time.perf_counter() - t)
        t = time.perf_counter()
        journal.sync()
        sync.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.log_access(door="main", granted=True, method="api", who="bench", release_id=f"b-{i}")
        commit.append(time.perf_counter() - t)
    journal.close()
    store.close()
    return [("journal line, os.write (the door path)", write), ("journal fdatasync (worker thread)", sync),
            ("access-log entry, SQLite synchronous=FULL", commit)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    with tempfile.TemporaryDirectory(prefix="bench-killnine-") as tmp:
        results = asyncio.run(kill_runs(Path(tmp), args.runs, random.Random(seed)))
        costs = journal_costs(Path(tmp))
        fs = os.statvfs(tmp)
    energized = [r for r in results if r.energized]
    print(f"\nkill -9 at a random point of a release (seed {seed}, pulse {PULSE_SECONDS:g} s):\n")
    print("| runs | relocked after restart | releases energized | logged | killed while open | "
          "interrupted reported | logged twice | lost |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {len(results)} | {sum(r.relocked for r in results)} | {len(energized)} | "
          f"{sum(r.logged for r in energized)} | {sum(r.open_at_kill for r in results)} | "
          f"{sum(r.reported for r in results if r.open_at_kill)} | "
          f"{sum(r.granted_entries > 1 for r in results)} | {sum(r.lost for r in results)} |")
    print(f"\nwhat a release costs on the disk ({tmp}, block size {fs.f_bsize}):\n")
    print("| step | median ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|")
    for name, values in costs:
        ms = [v * 1000 for v in values]
        print(f"| {name} | {percentile(ms, 50):.3f} | {percentile(ms, 99):.3f} | {max(ms):.3f} |")


if __name__ == "__main__":
    main()
