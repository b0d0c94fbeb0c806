#!/usr/bin/env python3
"""Call benchmark: latency with a real browser as the resident, panel CPU during a
call, panel memory over many calls. Everything on 127.0.0.1.

    .venv/bin/python scripts/bench_call.py [--quick] [--only latency,cpu,memory]

1. Latency (headless Chromium as the resident's one device; panel and dev cloud in
   this process, ICE restricted to 127.0.0.1; one untimed warm-up call, then N):
   - ring: the API touch on the resident's row sent -> the incoming call shown in the
     browser (the #incoming card un-hidden, seen by a MutationObserver, then the next
     requestAnimationFrame, i.e. the frame that paints the Accept button);
   - first frame: the Accept click (a capture-phase click listener in the page) ->
     the first decoded frame composited in <video id="video">
     (requestVideoFrameCallback); both ends on the page's clock;
   - open door: the Open Door click (page) -> the panel's trace point
     "strike.released" (the DoorStrike's backend confirmed the relay energized).
   Clocks: page times are performance.timeOrigin + performance.now() (ms since the
   epoch); host times are time.time(). Both come from this machine's clock, but the
   page's is a monotonic clock anchored once at navigation, so before every call the
   offset is measured: 7 round trips of page.evaluate(now), the one with the smallest
   round trip wins, offset = page - midpoint(host before, host after); its
   uncertainty (half that round trip) is printed.
2. Panel CPU: the panel as its own process (`python -m panel run --config X
   --headless`, camera synthetic 640x480 at 15 fps), the dev cloud and a Python
   softphone here; utime+stime of the panel from /proc/PID/stat over 3 idle windows
   and 3 windows of an established call (15 s each); the median counts.
3. Panel memory: a fresh panel process, N calls in a row with the softphone (ring,
   accept, a few video frames, hang up: the visitor and the resident in turn); RSS,
   threads and open file descriptors of the panel from /proc/PID.

4. VP8 encoder: aiortc's Vp8Encoder (its libvpx settings) against the panel's
   (panel/call/encoders.py) on the same 640x480 frames at the same 1000 kbps, in this
   process, one thread: ms per frame, the bitrate produced, and the luma PSNR of what a
   receiver decodes (libvpx decoder) against the frame that went in.

--quick: 3 calls, 2 CPU windows of 8 s, 20 calls for memory, 2 passes over the encoder frames.

One module per benchmark in scripts/callbench/ (latency, cpu, memory, encoder; what
they share in callbench/common.py); this script runs the chosen ones and prints
their tables. The panel's timestamps come from its trace points (panel/trace.py); the
panel process is driven through panel.remote (PanelProcess, PanelClient) and measured
with panel.remote.measure (Proc; percentiles by linear interpolation).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from callbench import cpu, encoder, latency, memory  # noqa: E402
from callbench.common import chromium_version  # noqa: E402

PARTS = ("latency", "cpu", "memory", "encoder")


async def main(args) -> int:
    calls, cpu_seconds, cpu_windows, memory_calls, passes = ((3, 8.0, 2, 20, 2) if args.quick
                                                             else (args.calls, 15.0, 3, 100, 4))
    if args.memory_calls:
        memory_calls = args.memory_calls
    if args.cpu_seconds:
        cpu_seconds = args.cpu_seconds
    parts = set(args.only.split(",")) if args.only else set(PARTS)
    if parts - set(PARTS):
        raise SystemExit(f"bench_call: --only: unknown part(s) {', '.join(sorted(parts - set(PARTS)))}; "
                         f"choose from {','.join(PARTS)}")
    logging.basicConfig(level=logging.ERROR)
    out: list[str] = [f"## Call benchmark ({'quick' if args.quick else 'full'}; {os.cpu_count()} cores, "
                      f"Python {sys.version.split()[0]}, Chromium {chromium_version()})", ""]
    print("\n".join(out), flush=True)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-call-") as d:
        tmp = Path(d)
        if "latency" in parts:
            print("\n".join(latency.latency_tables(await latency.bench_latency(calls, tmp)) + [""]), flush=True)
        if "cpu" in parts:
            print("\n".join(cpu.cpu_tables(await cpu.bench_cpu(cpu_seconds, cpu_windows, tmp)) + [""]), flush=True)
        if "memory" in parts:
            print("\n".join(memory.memory_tables(await memory.bench_memory(memory_calls, tmp)) + [""]), flush=True)
        if "encoder" in parts:
            print("\n".join(encoder.encoder_tables(await encoder.bench_encoder(passes)) + [""]), flush=True)
    print(f"(benchmark wall time {time.monotonic() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="3 calls, 2 CPU windows of 8 s, 20 calls for memory, 2 encoder passes")
    parser.add_argument("--calls", type=int, default=10, help="timed browser calls (default 10)")
    parser.add_argument("--memory-calls", type=int, help="calls in a row for memory (default 100, quick 20)")
    parser.add_argument("--cpu-seconds", type=float, help="length of each CPU window (default 15, quick 8)")
    parser.add_argument("--only", metavar="PARTS", help="comma-separated: latency,cpu,memory,encoder (default all)")
    sys.exit(asyncio.run(main(parser.parse_args())))
