"""Measuring a process from outside: one percentile, one /proc reader.

Benchmarks and tests use these two and nothing else, so "p95" means one thing
everywhere and every CPU figure is read the same way.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def percentile(values, p: float) -> float:
    """The p-th percentile (p in 0..100) by linear interpolation between the closest
    ranks: the value at rank (n - 1) * p / 100 of the sorted values, the method
    numpy.percentile uses by default (Hyndman and Fan type 7). p=0 is the minimum,
    p=100 the maximum, p=50 the median; one value is every percentile of itself;
    no values: nan."""
    if not 0 <= p <= 100:
        raise ValueError(f"percentile p must be between 0 and 100, got {p}")
    s = sorted(float(v) for v in values)
    if not s:
        return math.nan
    k = (len(s) - 1) * p / 100
    lo = math.floor(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _stat_cpu(path: Path) -> float:
    # After the command name (which may hold spaces and parentheses): utime and stime
    # are the 14th and 15th fields of /proc/.../stat.
    fields = path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


@dataclass(frozen=True)
class Proc:
    """A process by pid (this one by default), read from /proc when asked."""
    pid: int = field(default_factory=os.getpid)

    @property
    def _dir(self) -> Path:
        return Path(f"/proc/{self.pid}")

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the whole process so far (all its threads)."""
        return _stat_cpu(self._dir / "stat")

    def thread_cpu_seconds(self) -> dict[int, float]:
        """User + system CPU seconds of each live thread, by native thread id (the
        main thread's id is the pid). Threads that ended are not listed."""
        out = {}
        for task in (self._dir / "task").iterdir():
            try:
                out[int(task.name)] = _stat_cpu(task / "stat")
            except (FileNotFoundError, ProcessLookupError):
                continue            # ended meanwhile
        return out

    def main_thread_cpu_seconds(self) -> float:
        """The main thread alone (for the panel: the event loop, which lays out and draws)."""
        return _stat_cpu(self._dir / "task" / str(self.pid) / "stat")

    def rss_mb(self) -> float:
        """Resident set size in MiB (/proc/PID/statm)."""
        return int((self._dir / "statm").read_text().split()[1]) * _PAGE / 2**20

    def threads(self) -> int:
        for line in (self._dir / "status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
        return 0

    def fds(self) -> int:
        """Open file descriptors."""
        return len(os.listdir(self._dir / "fd"))
