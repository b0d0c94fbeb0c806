"""2. Panel CPU: the panel as its own process, idle and in an established call."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

from panel.config import Config
from panel.sim.cloud import DevCloud

from .common import (PANEL_TOKEN, TARGET_CPU, LinkedPanel, loopback_softphone, negotiated_codec, ok,
                     place_and_answer)


async def bench_cpu(seconds: float, windows: int, tmp: Path) -> dict:
    """`windows` back-to-back windows of `seconds` idle, then as many in one call: this
    machine is shared, so one window can be 15 % off; the median is the figure."""
    cloud = DevCloud(Config().property_file, panel_token=PANEL_TOKEN)
    await cloud.start()
    panel = LinkedPanel(tmp, cloud, "cpu")
    phone = loopback_softphone(cloud)

    async def measure() -> list[tuple[float, float, float]]:
        """(cores, event-loop thread cores, video frames/s at the phone) per window."""
        out = []
        for _ in range(windows):
            f0, c0, m0, w0 = (phone.video_frames, panel.proc.cpu_seconds(), panel.proc.main_thread_cpu_seconds(),
                              time.monotonic())
            await asyncio.sleep(seconds)
            wall = time.monotonic() - w0
            out.append(((panel.proc.cpu_seconds() - c0) / wall, (panel.proc.main_thread_cpu_seconds() - m0) / wall,
                        (phone.video_frames - f0) / wall))
        return out
    try:
        await panel.start(cloud)
        await phone.connect()
        await asyncio.sleep(3.0)                        # start-up settled
        idle = await measure()
        idle_rss = panel.proc.rss_mb()
        await place_and_answer(panel.api, phone)
        codec = negotiated_codec(phone.pc.localDescription.sdp)
        await asyncio.sleep(2.0)                        # past the first keyframes and the bitrate ramp
        call = await measure()
        call_rss, threads = panel.proc.rss_mb(), panel.proc.threads()
        screen = await panel.api.screen()
        await panel.api.press("End call")
        await phone.expect("ended")
        return {"seconds": seconds, "idle": idle, "call": call, "codec": codec, "screen": screen,
                "idle_rss": idle_rss, "call_rss": call_rss, "threads": threads}
    finally:
        await phone.close()
        await panel.stop()
        await cloud.stop()


def cpu_tables(r: dict) -> list[str]:
    def cols(windows):
        total = [w[0] for w in windows]
        main = statistics.median(w[1] for w in windows)
        t = statistics.median(total)
        return t, main, f"{t:.3f} | {min(total):.3f}-{max(total):.3f} | {main:.3f} | {t - main:.3f}"
    idle, idle_main, idle_cols = cols(r["idle"])
    call, call_main, call_cols = cols(r["call"])
    fps = statistics.median(w[2] for w in r["call"])
    n = len(r["call"])
    return [f"### 2. Panel CPU (own process, camera 640x480 at 15 fps; median of {n} windows of "
            f"{r['seconds']:.0f} s)", "",
            "| panel process | CPU (cores) | range | event-loop thread | other threads | target | met |",
            "|---|---:|---:|---:|---:|---:|:--:|",
            f"| idle (home screen, camera and QR scanner running) | {idle_cols} | | |",
            f"| in an established call ({r['codec']}, {fps:.1f} frames/s received) | {call_cols} | "
            f"< {TARGET_CPU} | {ok(call, TARGET_CPU)} |",
            f"| the call's own share (call - idle) | {call - idle:.3f} | | {call_main - idle_main:.3f} | "
            f"{call - idle - (call_main - idle_main):.3f} | | |",
            "", f"Codec negotiated: {r['codec']} (the answer's first video payload). Answered by the Python "
            f"softphone (aiortc) in the benchmark process; the panel process is measured alone "
            f"(/proc/PID/stat utime+stime). Panel RSS idle {r['idle_rss']:.1f} MB, in call {r['call_rss']:.1f} MB, "
            f"{r['threads']} threads in call; screen during the call: {r['screen']}."]
