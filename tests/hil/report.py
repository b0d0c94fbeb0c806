"""What a HIL run leaves behind: each flow's steps with the panel's screen, its time,
and the tables made from them (timings.md, report.md in the results folder)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Step:
    label: str
    at: float                   # seconds since the flow started
    screen: str                 # the panel's screen name then
    image: str                  # the PNG's path, relative to the results folder ("" if none)


@dataclass
class Flow:
    name: str
    rig: object
    steps: list[Step] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    outcome: str = ""
    folder: Path | None = None
    id: str = ""                # the test's id (with its round): names its screenshots

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    async def step(self, label: str) -> None:
        """Note this step and keep the panel's screen as it is now (GET screen.png)."""
        at = time.monotonic() - self.started
        try:
            png = await self.rig.panel.screen_png()
            screen = (await self.rig.panel.status())["screen"]
        except Exception as e:          # the panel is down (a restart flow): the step still counts
            png, screen = b"", f"unreachable ({type(e).__name__})"
        self.steps.append(Step(label, at, screen, ""))
        if png and self.folder is not None:
            name = f"screens/{_slug(self.id or self.name)}-{len(self.steps):02d}-{_slug(label)}.png"
            (self.folder / name).parent.mkdir(parents=True, exist_ok=True)
            (self.folder / name).write_bytes(png)
            self.steps[-1].image = name


class Results:
    def __init__(self, folder: Path):
        self.folder = folder
        self.flows: list[Flow] = []

    def add(self, flow: Flow) -> None:
        self.flows.append(flow)

    def timings(self, percentile) -> list[tuple[str, int, float, float]]:
        """(flow, passed rounds, median s, p95 s) for every flow that passed at least once."""
        by_name: dict[str, list[float]] = {}
        for f in self.flows:
            if f.outcome == "passed":
                by_name.setdefault(f.name, []).append(f.seconds)
        return [(name, len(v), percentile(v, 50), percentile(v, 95)) for name, v in by_name.items()]

    def write(self, percentile) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        rows = self.timings(percentile)
        table = ["| flow | rounds | median s | p95 s |", "|---|---:|---:|---:|"]
        table += [f"| {name} | {n} | {med:.2f} | {p95:.2f} |" for name, n, med, p95 in rows]
        (self.folder / "timings.md").write_text("# HIL flow timings\n\n" + "\n".join(table) + "\n")
        rig = self.flows[0].rig
        out = [f"# HIL report\n", f"Rig: {rig.kind}, panel {rig.panel.url}\n", "## Timings\n", *table, ""]
        for f in self.flows:
            out.append(f"## {f.name}: {f.outcome} ({f.seconds:.2f} s)\n")
            out.append("| t (s) | step | screen | |\n|---:|---|---|---|")
            for s in f.steps:
                image = f"![{s.label}]({s.image})" if s.image else ""
                out.append(f"| {s.at:.2f} | {s.label} | {s.screen} | {image} |")
            out.append("")
        (self.folder / "report.md").write_text("\n".join(out) + "\n")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]
