#!/usr/bin/env python3
"""Touchscreen UI benchmark: search per keystroke, full-redraw frame time, idle CPU.

    .venv/bin/python scripts/bench_ui.py [--residents N] [--rounds N] [--frames N] [--idle-seconds S]

1. Directory search with 10,000 generated residents: realistic queries typed letter
   by letter, every keystroke a new query (the result cache is emptied before each),
   as the directory screen asks for them (up to 200 results). Median and p99 ms per
   keystroke, next to the previous algorithm (a copy is kept below) in the same run.
   Targets: p99 under 5 ms.
2. A full redraw of every screen at 800x1280 and 1280x800: layout plus drawing onto
   the off-screen surface (no display flip). "first" is the first frame of the run
   with empty text caches; median and p99 over the following frames. Target: 16 ms.
3. CPU of an idle panel on the home screen, in % of one core: the demo (`python -m
   panel --headless --port 0`: panel, dev cloud, synthetic camera) as a subprocess
   with HOME in a temporary folder; and the panel alone (App, no cloud) in this
   process, so its threads can be told apart by name, with the synthetic camera and
   with a still scene (a folder of one image). utime+stime of each thread from
   /proc/PID/task/*/stat over the idle period (panel.remote.measure.Proc). Percentiles:
   panel.remote.measure.percentile (linear interpolation between closest ranks). The
   event-loop thread lays out and draws; the camera and the QR decoder run on other
   threads. Target: under 3 %.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz, process  # noqa: E402

from panel.config import Config, load  # noqa: E402
from panel.remote import PanelProcess  # noqa: E402
from panel.remote.measure import Proc  # noqa: E402
from panel.remote.measure import percentile as pct  # noqa: E402
from panel.core.machine import Screen, initial_state  # noqa: E402
from panel.directory import Directory, Resident, fold, load_property  # noqa: E402
from panel.ui import renderer as rendering  # noqa: E402
from panel.ui.layout import SEARCH_LIMIT, View, layout  # noqa: E402
from panel.ui.renderer import Renderer  # noqa: E402
from panel.ui.strings import Strings  # noqa: E402

QUERIES = ["smith", "olivia sm", "mueller", "zoe", "3c", "smiht", "hohenberg", "kowalsky", "nguyen", "anna b",
           "o'connor", "12a"]
FIRST = ("Olivia James Noah Amelia Zoë Liam Emma Mohammed Sofia Lukas Léa Björn Anaïs Chidinma Wei Li Hannah "
         "Rafael Grzegorz Maximilian Oluwaseun Ingrid Søren Ana María José François Zeynep Aylin Kenji Yuki Priya "
         "Arjun Fatima Omar Elena Dmitri Olga Siobhán Seán Niamh Mateo Lucía Chloé Matthias Jürgen Ümit Çağla "
         "Anna Thomas Sarah David Laura Daniel Julia Michael Marie Peter Nina Paul Eva Jan Lena Tim Mia Ben").split()
LAST = ("Smith Johnson Müller Brown O'Connor Al-Farsi Åkesson Brzęczyszczykiewicz Okonkwo Zhang Nguyen García "
        "Martínez Rossi Bianchi Dubois Lefèvre Schröder Schmidt Weiß Kowalski Nowak Öztürk Yılmaz Tanaka Suzuki "
        "Patel Sharma Khan Haddad Ivanova Petrov Murphy Kelly Fernández López Hernández Silva Santos Costa Jensen "
        "Hansen Nielsen Virtanen Korhonen Novák Horváth Papadopoulos Becker Wagner Fischer Meyer Wolf Hoffmann "
        "Schulz Koch Richter Klein Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Werner").split()
PARTICLES = ["", "", "", "", "von ", "van der ", "de ", "dos "]


def generated_residents(n: int, seed: int = 1) -> list[Resident]:
    """A big building: common and accented names, particles, double-barrelled surnames."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        last = rng.choice(PARTICLES) + rng.choice(LAST)
        if rng.random() < 0.15:
            last += "-" + rng.choice(LAST)
        first = rng.choice(FIRST) + (" " + rng.choice(FIRST) if rng.random() < 0.1 else "")
        out.append(Resident(f"g{i}", first, last, f"{rng.randint(1, 60)}{rng.choice('ABCDEF')}"))
    return out


class OldDirectory:
    """The search before the index (kept as the baseline): a Python loop over every resident
    for word prefixes, then rapidfuzz partial_ratio over every resident's full key."""

    def __init__(self, residents):
        self.residents = sorted(residents, key=lambda r: (fold(r.last_name), fold(r.first_name), r.unit))
        self._keys = [fold(f"{r.first_name} {r.last_name} {r.unit}") for r in self.residents]
        self._words = [k.split() for k in self._keys]

    def search(self, query: str, limit: int = 50):
        q = fold(query).strip()
        if not q:
            return self.residents[:limit]
        terms = q.split()
        prefix = [i for i, words in enumerate(self._words)
                  if all(any(w.startswith(t) for w in words) for t in terms)]
        if len(prefix) >= limit:
            return [self.residents[i] for i in prefix[:limit]]
        taken = set(prefix)
        fuzzy = process.extract(q, self._keys, scorer=fuzz.partial_ratio, limit=limit + len(prefix),
                                score_cutoff=75 if len(q) > 2 else 90)
        rest = [i for _, _, i in fuzzy if i not in taken]
        return [self.residents[i] for i in (prefix + rest)[:limit]]


def bench_search(n: int, rounds: int) -> list[tuple]:
    residents = generated_residents(n)
    start = time.perf_counter()
    new = Directory(residents)
    build_ms = (time.perf_counter() - start) * 1000
    old = OldDirectory(residents)
    keystrokes = [q[:k] for q in QUERIES for k in range(1, len(q) + 1)]
    rows = []
    for name, directory in (("indexed (now)", new), ("naive loop (before)", old)):
        times = []
        for _ in range(rounds if directory is new else max(1, rounds // 4)):
            for typed in keystrokes:
                if hasattr(directory, "_cache"):
                    directory._cache.clear()       # every keystroke is a query not seen before
                t = time.perf_counter()
                directory.search(typed, limit=SEARCH_LIMIT)
                times.append((time.perf_counter() - t) * 1000)
        rows.append((name, len(times), statistics.median(times), pct(times, 99), max(times)))
    top = new.search("smiht", limit=3)
    print(f"  {n} residents, index built in {build_ms:.0f} ms; {len(keystrokes)} keystrokes per round "
          f"({', '.join(repr(q) for q in QUERIES)}); 'smiht' -> {', '.join(r.full_name for r in top)}")
    return rows


def scenes():
    base = replace(initial_state(0), cloud_online=True)
    name = "Olivia Smith"
    return {
        "home": base,
        "home offline": replace(base, cloud_online=False),
        "directory 'smi'": replace(base, screen=Screen.DIRECTORY, query="smi"),
        "directory (all)": replace(base, screen=Screen.DIRECTORY),
        "calling": replace(base, screen=Screen.CALLING, resident_name=name, ringing=True),
        "in call": replace(base, screen=Screen.IN_CALL, resident_name=name, entered_at=-42),
        "declined": replace(base, screen=Screen.CALL_ENDED, resident_name=name, resident_id="r01", message="declined"),
        "door open": replace(base, screen=Screen.DOOR_OPEN),
        "access granted": replace(base, screen=Screen.ACCESS_GRANTED, message="Zoë Müller"),
        "access refused": replace(base, screen=Screen.ACCESS_DENIED, message="expired"),
        "out of order": replace(base, screen=Screen.OUT_OF_ORDER, door_fault="relay"),
    }


def bench_frames(frames: int) -> list[tuple]:
    import numpy as np
    config = Config()
    prop = load_property(config.property_file)
    directory = Directory(prop.residents)
    strings = Strings("en")
    rng = np.random.default_rng(1)
    preview = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)       # a camera frame on the home screen
    rows = []
    for w, h in ((800, 1280), (1280, 800)):
        renderer = Renderer(w, h)
        for name, state in scenes().items():
            rendering.fit.cache_clear()
            rendering._rendered.cache_clear()
            times = []
            for k in range(frames + 1):
                # The ringing animation and the call timer move: a new phase every frame.
                view = View(w, h, prop.name, strings, directory, now=1.0 + k / 30, wall=1_764_072_000.0)
                t = time.perf_counter()
                renderer.draw(layout(state, view), preview)
                times.append((time.perf_counter() - t) * 1000)
            rows.append((f"{w}x{h}", name, times[0], statistics.median(times[1:]), pct(times[1:], 99)))
    return rows


def bench_idle(seconds: float) -> list[tuple]:
    """(label, % all threads, % event-loop thread, % by thread, redraws, QR decodes, screen)."""
    import cv2
    import numpy as np
    rows = []
    with tempfile.TemporaryDirectory() as home:
        rows.append(("demo (subprocess): panel + dev cloud", *_idle_subprocess(["--headless", "--port", "0"], home,
                                                                              seconds)))
        # A still entrance hall: the synthetic scene's moving light band makes every frame
        # new to the QR scanner; a real hall mostly does not change.
        still = Path(home) / "still"
        still.mkdir()
        hall = np.repeat(np.linspace(60, 120, 480, dtype=np.uint8)[:, None], 640, axis=1)
        cv2.imwrite(str(still / "hall.png"), cv2.merge([hall] * 3))
        for label, camera in (("panel (in-process), synthetic camera", "synthetic"),
                              ("panel (in-process), still scene", str(still))):
            config = load(None).replace("panel", state_dir=f"{home}/state-{len(rows)}").replace(
                "api", port=0).replace("camera", source=camera)
            rows.append((label, *asyncio.run(_idle_in_process(config, seconds))))
    return rows


async def _idle_in_process(config: Config, seconds: float) -> tuple:
    """The panel in this process, so its threads can be told apart by name."""
    import threading

    from panel.app import App
    app = App(config)
    task = asyncio.create_task(app.run())
    while app.api is None or app.display is None:
        if task.done():
            task.result()               # start-up failed: say why
            raise RuntimeError("the panel stopped during start-up")
        await asyncio.sleep(0.05)
    await asyncio.sleep(3)              # start-up work done
    names = {t.native_id: t.name for t in threading.enumerate()}
    me = Proc()
    before, frames, decoded, wall = me.thread_cpu_seconds(), app.display.frames, app.scanner.frames_decoded, \
        time.monotonic()
    await asyncio.sleep(seconds)
    after, elapsed = me.thread_cpu_seconds(), time.monotonic() - wall
    names.update({t.native_id: t.name for t in threading.enumerate()})
    per = {}
    for tid, t in after.items():
        name = re.sub(r"_\d+$", "", names.get(tid, "native"))          # asyncio_0, asyncio_1 -> asyncio
        per[name] = per.get(name, 0) + 100 * (t - before.get(tid, 0)) / elapsed
    screen = app.state.screen.value
    redraws, decodes = app.display.frames - frames, app.scanner.frames_decoded - decoded
    app.stop()
    await task
    return (sum(per.values()), per.get("MainThread", 0.0), per, redraws / elapsed, decodes / elapsed, screen)


def _idle_subprocess(args: list[str], home: str, seconds: float) -> tuple:
    env = {**os.environ, "HOME": home, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    env.pop("DISPLAY", None)
    with PanelProcess(args, env=env) as panel:
        time.sleep(3)                   # let start-up work (imports, first sync) finish first
        proc = Proc(panel.pid)
        before, wall = proc.thread_cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        after, elapsed = proc.thread_cpu_seconds(), time.monotonic() - wall
        used = {tid: t - before.get(tid, 0) for tid, t in after.items()}

        async def screen() -> str:
            async with panel.client() as api:
                return await api.screen()
        # The event-loop thread (tid = pid) lays out and draws; the others read the camera and decode QR codes.
        return 100 * sum(used.values()) / elapsed, 100 * used.get(panel.pid, 0) / elapsed, {}, None, None, \
            asyncio.run(screen())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--residents", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=20, help="times each query is typed (search)")
    ap.add_argument("--frames", type=int, default=60, help="redraws per screen and size")
    ap.add_argument("--idle-seconds", type=float, default=20.0)
    args = ap.parse_args()

    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    print("Directory search per keystroke (target p99 < 5 ms)")
    print(f"  {'algorithm':<22}{'keystrokes':>11}{'median ms':>11}{'p99 ms':>9}{'max ms':>9}")
    for name, count, med, p99, worst in bench_search(args.residents, args.rounds):
        print(f"  {name:<22}{count:>11}{med:>11.2f}{p99:>9.2f}{worst:>9.2f}")

    print("\nFull redraw: layout + draw, off-screen (target < 16 ms)")
    print(f"  {'size':<11}{'screen':<18}{'first ms':>9}{'median ms':>11}{'p99 ms':>9}")
    for size, name, first, med, p99 in bench_frames(args.frames):
        print(f"  {size:<11}{name:<18}{first:>9.1f}{med:>11.2f}{p99:>9.2f}")

    print(f"\nIdle CPU on the home screen over {args.idle_seconds:g} s (target < 3 % of one core)")
    print(f"  {'process':<40}{'all':>8}{'loop':>8}{'draws/s':>9}{'QR/s':>6}  screen  other threads")
    for label, cpu, loop, per, redraws, decodes, screen in bench_idle(args.idle_seconds):
        others = ", ".join(f"{name} {v:.1f} %" for name, v in sorted(per.items(), key=lambda kv: -kv[1])
                           if name != "MainThread" and v >= 0.05)
        rate = lambda v: "-" if v is None else f"{v:.1f}"
        print(f"  {label:<40}{cpu:>6.1f} %{loop:>6.1f} %{rate(redraws):>9}{rate(decodes):>6}  {screen:<7} {others}")
    print("  (loop: the event-loop thread, which lays out and draws; qr-decode: the scanner; asyncio:\n"
          "   to_thread work such as reading image files; native: threads of C libraries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
