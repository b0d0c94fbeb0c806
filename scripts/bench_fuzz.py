#!/usr/bin/env python3
"""Fuzz benchmark: hostile input at every place the panel reads from outside.

    .venv/bin/python scripts/bench_fuzz.py [--inputs 1000000] [--quick] [--seed 1]
                                           [--target NAME ...] [--index I]

Targets (scripts/fuzzbench/, one module per area; each target's share of --inputs is
in fuzzbench/targets.py):

- credential.*: QR text (random text, base45, CBOR shaped as COSE_Sign1/CWT, some
  signed with the trusted key so they reach the claim checks, and byte / character
  mutations of real credentials issued by panel.sim.issuer). read_credential may raise
  only Refused, verify() must return a Decision, and no altered credential is accepted.
- api.body / api.http: POST touch, door/open and camera/frame bodies through the real
  panel.api.server app (in process with aiohttp's mocked requests; a smaller share
  over a real server on 127.0.0.1). A 500 is a crash: the handler should have refused.
- signaling.sync / signaling.call: messages from the cloud into CloudSync.on_message
  (the real Gatekeeper behind it, checking a key and a card after each message) and
  CallService.on_message (a fake socket and call session), routed as CloudLink routes
  them; nothing may raise, nor any task they spawn.
- serial.modbus: hal.modbus.ModbusRelay against a pty peer answering random and
  mutated RTU replies; set() must succeed or raise RelayError, within a bound.
- osdp.wire / osdp.events / osdp.cards: libosdp's control panel reading made-up PD
  replies (framed with the right sequence number and CRC, mutated, raw), the event
  dicts libosdp hands to OsdpReader, and the card numbers of panel.access.cards.
- image.decode / image.scanner: hal.camera.decode_image on random and mutated
  PNG / JPEG / BMP bytes; the QR scanner's decoders on random frames.

A crash is an exception that escapes a function that should have refused cleanly
(or one the code caught in a catch-all and logged with its traceback), an input
taking longer than --hang seconds, or the worker process dying (each target runs in
its own process). Input I of a target is drawn from random.Random(f"{seed}:{target}:{I}"),
so `--target T --index I` replays it (osdp.wire and serial.modbus also depend on what
earlier inputs left in libosdp or on the line). Each distinct crash (exception type
and the innermost frame in panel/ or hal/) is printed once, shrunk to a minimal
reproducer. Exit status 1 if anything crashed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from fuzzbench.harness import HANG_SECONDS  # noqa: E402
from fuzzbench.runner import Result, draw, run_target  # noqa: E402
from fuzzbench.targets import TARGETS  # noqa: E402

def shares(total: int, names: list[str]) -> dict[str, int]:
    weights = {n: TARGETS[n][1] for n in names}
    scale = sum(weights.values())
    out = {n: max(1, round(total * w / scale)) for n, w in weights.items()}
    out[max(out, key=out.get)] += total - sum(out.values())    # exactly `total` in all
    return out


def _short(value, limit: int = 400) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def result_json(r: Result) -> dict:
    return {"target": r.target, "inputs": r.inputs, "crashed": r.crashed, "seconds": r.seconds,
            "process_crash": r.process_crash,
            "found": [{"signature": f.signature, "index": f.index, "count": f.count, "error": f.error,
                       "minimal": _short(f.minimal)} for f in r.found.values()]}


def run_isolated(name: str, count: int, seed: int, hang: float) -> dict:
    """The target in its own process, so a segfault in a C library is a row, not the end."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--count", str(count),
           "--seed", str(seed), "--hang", str(hang)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode in (0, 1) and lines:
        return json.loads(lines[-1])
    tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit status {proc.returncode}"
    return {"target": name, "inputs": count, "crashed": 1, "seconds": time.perf_counter() - started,
            "process_crash": f"worker died ({how}): {tail}",
            "found": [{"signature": f"process crash ({how})", "index": -1, "count": 1, "error": tail,
                       "minimal": f"rerun: {' '.join(cmd[1:])}"}]}


def print_report(rows: list[dict], seed: int, seconds: float) -> None:
    from _bench_util import table
    body = [[r["target"], r["inputs"], r["crashed"], len(r["found"]),
             f"{r['inputs'] / r['seconds']:.0f}" if r["seconds"] else "-"] for r in rows]
    total = sum(r["inputs"] for r in rows)
    body.append(["**all**", total, sum(r["crashed"] for r in rows), sum(len(r["found"]) for r in rows),
                 f"{total / seconds:.0f}" if seconds else "-"])
    print(f"\nseed {seed}, {total} inputs in {seconds:.0f} s\n")
    print(table(["target", "inputs", "crashes", "distinct", "inputs/s"], body, right={1, 2, 3, 4}))
    for r in rows:
        for f in r["found"]:
            print(f"\n{r['target']}: {f['signature']} ({f['count']} inputs; first: --target {r['target']} "
                  f"--seed {seed} --index {f['index']})\n  {f['error']}\n  minimal input: {f['minimal']}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=1_000_000, help="inputs in all, shared across the targets")
    parser.add_argument("--quick", action="store_true", help="20 000 inputs in all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target", action="append", choices=sorted(TARGETS), help="only these (repeatable)")
    parser.add_argument("--index", type=int, help="replay this one input of --target, printing it and the outcome")
    parser.add_argument("--hang", type=float, default=HANG_SECONDS, help="seconds an input may take")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        import faulthandler
        faulthandler.enable()
        r = asyncio.run(run_target(args.worker, args.count, args.seed, hang=args.hang))
        print(json.dumps(result_json(r)))
        return 1 if r.crashed else 0
    names = args.target or list(TARGETS)
    if args.index is not None:
        (name,) = names
        harness = TARGETS[name][0]()
        print(f"{name} input {args.index} (seed {args.seed}): {_short(draw(name, args.seed, args.index, harness), 4000)}")
        r = asyncio.run(run_target(name, 1, args.seed, hang=args.hang, first=args.index))
        print_report([result_json(r)], args.seed, r.seconds)
        return 1 if r.crashed else 0
    total = 20_000 if args.quick else args.inputs
    print(f"fuzzing {total} inputs, seed {args.seed}", flush=True)
    started = time.perf_counter()
    rows = []
    for name, count in shares(total, names).items():
        rows.append(run_isolated(name, count, args.seed, args.hang))
        r = rows[-1]
        print(f"  {name}: {r['inputs']} inputs, {r['crashed']} crashes, {r['seconds']:.1f} s", flush=True)
    print_report(rows, args.seed, time.perf_counter() - started)
    return 1 if any(r["crashed"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
