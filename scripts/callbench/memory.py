"""3. Panel memory: a fresh panel process, many calls in a row with the softphone."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from panel.config import Config
from panel.sim.cloud import DevCloud

from .common import PANEL_TOKEN, LinkedPanel, loopback_softphone, place_and_answer, until


async def bench_memory(calls: int, tmp: Path) -> dict:
    cloud = DevCloud(Config().property_file, panel_token=PANEL_TOKEN)
    await cloud.start()
    panel = LinkedPanel(tmp, cloud, "memory")
    phone = loopback_softphone(cloud)
    samples: list[tuple[int, float, int, int]] = []
    started = time.monotonic()
    try:
        await panel.start(cloud)
        await phone.connect()
        await asyncio.sleep(1.0)
        base = (panel.proc.rss_mb(), panel.proc.threads(), panel.proc.fds())
        for i in range(1, calls + 1):
            call_id = await place_and_answer(panel.api, phone)
            if i % 2:
                await panel.api.press("End call")       # the visitor ends it
                await phone.expect("ended")
            else:
                await phone.hangup(call_id)              # the resident ends it

            async def home():
                return await panel.api.screen() == "home"
            await until(home, timeout=10, what="panel home again", step=0.05)
            await asyncio.sleep(0.3)                      # media closed, tasks finished
            samples.append((i, panel.proc.rss_mb(), panel.proc.threads(), panel.proc.fds()))
        return {"calls": calls, "base": base, "samples": samples, "wall": time.monotonic() - started,
                "cloud_log": len(cloud.log)}
    finally:
        await phone.close()
        await panel.stop()
        await cloud.stop()


def memory_tables(r: dict) -> list[str]:
    samples = r["samples"]
    by_call = {i: (rss, th, fd) for i, rss, th, fd in samples}
    n = r["calls"]
    marks = [k for k in (1, 10, 50, 100) if k <= n]
    if n not in marks:
        marks.append(n)
    if n < 100:
        marks = sorted(set(marks) | {k for k in (1, 5, 10, 20) if k <= n})
    first = by_call[1][0]
    out = [f"### 3. Panel memory over {n} calls in a row (own process; softphone; visitor and resident "
           f"hang up in turn)", "", "| after call | RSS MB | vs call 1 MB | threads | open fds |",
           "|---:|---:|---:|---:|---:|",
           f"| 0 (idle, linked) | {r['base'][0]:.1f} | {r['base'][0] - first:+.1f} | {r['base'][1]} | {r['base'][2]} |"]
    for k in marks:
        rss, th, fd = by_call[k]
        out.append(f"| {k} | {rss:.1f} | {rss - first:+.1f} | {th} | {fd} |")
    # RSS of a CPython + libvpx process moves between levels ~15 MB apart from call to call
    # (glibc keeps or returns freed heap), so single calls are no measure: after a warm-up
    # of w calls, compare the envelope (lowest, highest) of the next w calls with the last w.
    w = max(5, n // 10)
    if 3 * w > n:                   # a short run (--memory-calls 5): windows of a third
        w = max(1, n // 3)
    early = [rss for i, rss, _, _ in samples if w < i <= 2 * w]
    late = [rss for i, rss, _, _ in samples if i > n - w]
    top, bottom = max(late) - max(early), min(late) - min(early)
    per_call = top * 1024 / max(1, n - 2 * w)          # between the windows' centres
    verdict = ("no growth beyond noise" if top <= 2.0
               else f"**grows** {top:+.1f} MB at the top of the band")
    out += ["", f"RSS calls {w + 1}-{2 * w}: {min(early):.1f} to {max(early):.1f} MB; calls {n - w + 1}-{n}: "
            f"{min(late):.1f} to {max(late):.1f} MB. Highest {top:+.1f} MB ({per_call:+.0f} KB/call), lowest "
            f"{bottom:+.1f} MB. Verdict (highest RSS of the last {w} calls vs calls {w + 1}-{2 * w}, 2 MB "
            f"allowed): {verdict}. Call 1 -> {n}: {by_call[n][0] - first:+.1f} MB. Threads and open files "
            f"must not grow: {by_call[1][1]} -> {by_call[n][1]} threads, {by_call[1][2]} -> {by_call[n][2]} "
            f"fds. {n} calls took {r['wall']:.0f} s ({r['wall'] / n:.2f} s a call, ring to home screen). "
            f"(Dev cloud side, not the panel: its signaling log holds {r['cloud_log']} messages.)"]
    return out
