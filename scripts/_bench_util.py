"""Helpers for the benchmarks: camera-like scenes, CPU accounting, an instrumented
in-process panel (through panel.trace), and markdown tables. Benchmark code only:
nothing in panel/ or hal/ imports this. The percentile and the /proc reader are
panel.remote.measure's (one of each for scripts and tests).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from panel import trace
from panel.remote.measure import Proc, percentile
from panel.sim.camera_scene import Phone, paste, qr_screen, wall  # noqa: F401 (the scenes' helpers, shared)

# -- statistics and tables --------------------------------------------------------------


# The q-th percentile, q in 0..100: linear interpolation between closest ranks (numpy's
# default); nan for no values. The one in panel.remote.measure, under its short name here.
pct = percentile


def med(values) -> float:
    return percentile(values, 50)


def fmt_ms(value: float) -> str:
    if value != value:  # nan
        return "-"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def table(headers: list[str], rows: list[list], right: set[int] | None = None) -> str:
    """A markdown table; columns whose index is in ``right`` are right-aligned."""
    right = right or set()
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# -- camera-like scenes ------------------------------------------------------------------


def lit(frame: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Light falling off towards one side."""
    width = frame.shape[1]
    lo = 0.6 if rng is None else rng.uniform(0.55, 0.8)
    light = np.linspace(1.1, lo, width, dtype=np.float32)
    if rng is not None and rng.random() < 0.5:
        light = light[::-1]
    return frame * light[None, :]


def random_phone(size: tuple[int, int], rng: np.random.Generator) -> Phone:
    """A phone held up to the camera: filling 35-60% of the frame's height, anywhere it
    fits, turned up to 20 degrees, tilted a little (perspective)."""
    width, height = size
    side = height * rng.uniform(0.35, 0.6)
    reach = side * 0.75  # half-diagonal of a turned square, with room for the tilt
    cx = rng.uniform(reach, width - reach)
    cy = rng.uniform(reach, height - reach)
    return Phone(cx, cy, side, rng.uniform(-20, 20), tuple(rng.uniform(-0.06, 0.06, 8)))


def finish(frame: np.ndarray, rng: np.random.Generator, *, blur: float = 1.0, noise: float = 4.0,
           bgr: bool = True) -> np.ndarray:
    """Lens blur and sensor noise; uint8, as BGR (what the HAL camera delivers) or gray."""
    if blur > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), blur)
    if noise > 0:
        frame = frame + rng.normal(0, noise, frame.shape).astype(np.float32)
    gray = np.clip(frame, 0, 255).astype(np.uint8)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR) if bgr else gray


# -- CPU accounting ----------------------------------------------------------------------

def thread_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of every thread of this process, by native thread id."""
    return Proc().thread_cpu_seconds()


def thread_label(tid: int) -> str:
    """A thread's Python name without the pool index (``qr-decode_0`` -> ``qr-decode``).
    Threads Python did not start are grouped as native: in the panel the ones that use
    CPU are OpenCV's worker pool (their share goes to 0 under cv2.setNumThreads(1))."""
    for t in threading.enumerate():
        if t.native_id == tid:
            name = t.name
            if name.rsplit("_", 1)[-1].isdigit():
                name = name.rsplit("_", 1)[0]
            return {"MainThread": "event loop (main thread)", "asyncio": "asyncio.to_thread pool"}.get(name, name)
    return "native threads (OpenCV worker pool, SDL, ...)"


@dataclass
class CpuWindow:
    """CPU used over a wall-clock window: the whole process and per thread group."""
    wall: float = 0.0
    process: float = 0.0
    threads: dict[str, float] = field(default_factory=dict)

    @property
    def percent(self) -> float:
        return 100.0 * self.process / self.wall if self.wall else float("nan")

    def thread_percent(self, label: str) -> float:
        return 100.0 * self.threads.get(label, 0.0) / self.wall if self.wall else float("nan")


class CpuMeter:
    """``start()`` ... ``stop()`` -> CpuWindow (process_time for the total, /proc per thread)."""

    def start(self) -> None:
        self._wall0, self._cpu0, self._threads0 = time.perf_counter(), time.process_time(), thread_cpu()

    def stop(self) -> CpuWindow:
        wall, cpu, threads = time.perf_counter(), time.process_time(), thread_cpu()
        groups: dict[str, float] = {}
        for tid, seconds in threads.items():
            used = seconds - self._threads0.get(tid, 0.0)
            if used > 0:
                label = thread_label(tid)
                groups[label] = groups.get(label, 0.0) + used
        return CpuWindow(wall - self._wall0, cpu - self._cpu0, groups)


# -- the way of one frame to the relay ------------------------------------------------------

# Stages in the order a frame goes through them: (name, from mark, to mark).
STAGES = [
    ("HTTP request -> camera.inject (upload, PNG decode, inject)", "request", "inject"),
    ("  of which request sent -> the API handler has the body", "request", "png_start"),
    ("  of which PNG -> BGR (decode_image, in a thread) -> camera.inject", "png_start", "inject"),
    ("inject -> camera yields the frame (camera wake-up)", "inject", "yielded"),
    ("yield -> decode thread starts (hand-off, wait for a decode in progress)", "yielded", "proc_start"),
    ("decode thread: to_gray + change check + decode", "proc_start", "proc_end"),
    ("  of which decoder.decode", "decode_start", "decode_end"),
    ("decode thread -> on_code on the loop (hand-off back)", "proc_end", "on_code"),
    ("on_code -> verify starts", "on_code", "verify_start"),
    ("verify (signatures, policy)", "verify_start", "verify_end"),
    ("dispatch: core.step + effects + redraw", "dispatch_start", "dispatch_end"),
    ("  of which redraw (screen render)", "redraw_start", "redraw_end"),
    ("dispatch -> relay energized (pulse task, strike, GPIO)", "dispatch_end", "released"),
]


class Probe:
    """perf_counter timestamps of one frame on its way to the relay. Each mark keeps
    its first value (the frame may be looked at again on a rescan)."""

    def __init__(self) -> None:
        self.frame = None
        self.text = None
        self.t: dict[str, float] = {}
        self.history: list[dict[str, float]] = []
        self.in_process = False

    def arm(self, text: str, frame=None) -> None:
        self.text, self.frame, self.t, self.in_process = text, frame, {}, False

    def mark(self, name: str) -> None:
        if self.text is not None:
            self.t.setdefault(name, time.perf_counter())

    def done(self) -> None:
        self.history.append(self.t)
        self.text = self.frame = None


def instrument(app, probe: Probe, on_strike: callable) -> None:
    """Let the probe record where an armed frame is, from the panel's trace points (and
    the camera the App opens). Call before ``app.run()``; ``on_strike`` sees the door's
    trace points ("strike.released", "strike.relocked") after the probe.
    ``app._bench_restore()`` undoes it."""
    import panel.hardware as hardware

    original_open_camera = hardware.open_camera

    def open_camera(cfg, on_fault):
        camera = original_open_camera(cfg, on_fault)
        frames, inject = camera.frames, camera.inject

        async def timed_frames():
            async for frame in frames():
                if frame is probe.frame:
                    probe.mark("yielded")
                yield frame

        def timed_inject(frame):
            probe.frame = frame        # through HTTP this is the decoded copy, not ours
            probe.mark("inject")
            inject(frame)

        camera.frames, camera.inject = timed_frames, timed_inject
        hardware.open_camera = original_open_camera     # only this app's camera
        return camera

    hardware.open_camera = open_camera

    def on_point(name: str, f: dict) -> None:
        t = probe.t
        if name == "strike.released":
            probe.mark("released")
        elif name.startswith("scanner."):
            if name == "scanner.code":
                if f["text"] == probe.text:
                    probe.mark("on_code")
            elif f["frame"] is probe.frame:
                if name == "scanner.process.start" and "proc_start" not in t:
                    probe.mark("proc_start")
                    probe.in_process = True
                elif name == "scanner.process.end" and probe.in_process:
                    probe.in_process = False
                    probe.mark("proc_end")
                elif name == "scanner.decode.start" and probe.in_process:
                    probe.mark("decode_start")
                elif name == "scanner.decode.end" and probe.in_process:
                    probe.mark("decode_end")
        elif name in ("access.verify.start", "access.verify.end"):
            if f["text"] == probe.text:
                probe.mark("verify_start" if name.endswith("start") else "verify_end")
        elif name == "api.frame.received":
            if "request" in t:
                probe.mark("png_start")
        elif name == "app.dispatch.start":
            if "verify_end" in t and "dispatch_start" not in t:
                probe.mark("dispatch_start")
        elif name == "app.dispatch.end":
            if "dispatch_start" in t:
                probe.mark("dispatch_end")
        elif name in ("ui.update.start", "ui.update.end"):
            if "dispatch_start" in t and "dispatch_end" not in t:
                probe.mark("redraw_start" if name.endswith("start") else "redraw_end")
        if name.startswith("strike."):
            on_strike(name)

    unsubscribe = trace.subscribe(on_point)

    def restore() -> None:
        unsubscribe()
        hardware.open_camera = original_open_camera     # in case the app never opened its camera

    app._bench_restore = restore


def stage_rows(history: list[dict[str, float]]) -> list[list[str]]:
    """One row per stage present in the history: median, p99, max (ms)."""
    rows = []
    for name, a, b in STAGES:
        values = [(t[b] - t[a]) * 1000 for t in history if a in t and b in t]
        if values:
            rows.append([name, len(values), fmt_ms(med(values)), fmt_ms(pct(values, 99)), fmt_ms(max(values))])
    return rows
