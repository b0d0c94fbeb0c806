"""Trusted time: whether the panel may believe its wall clock, and the latest time it
could (kept across boots in the store's meta table).

Keys are windows of wall time. A Pi without a real-time clock that boots with no
network may read 1970 or the time it last saved; a clock a day slow would make
yesterday's visitor key valid again. So the panel knows:
- `trusted`: NTP keeps the clock, or a real-time clock set it (hal/timesync.py), and
  it does not read earlier than a time already trusted (a dead RTC battery);
- `last_trusted`: the latest wall time read while trusted, persisted every minute.
Keys are then checked at no earlier than `last_trusted` (panel/access/policy.py): a
clock running behind cannot bring an expired key back. What a not-yet-valid key does
on an untrusted clock is policy.verify's rule (README, "Time and keys").
"""

from __future__ import annotations

from dataclasses import dataclass

from hal.clock import Clock

META_KEY = "last_trusted_time"
PERSIST_SECONDS = 60.0          # how often the latest trusted time goes to disk while trusted
BEHIND_SECONDS = 30.0           # a clock this far behind a time already trusted is wrong


@dataclass(frozen=True)
class TimeView:
    now: float                  # the wall clock's reading
    trusted: bool
    source: str                 # ntp | rtc | persisted (untrusted, a floor known) | none
    last_trusted: float | None

    @property
    def floor(self) -> float:
        """The earliest time it can be: keys are checked at no earlier than this."""
        return max(self.now, self.last_trusted or 0.0)

    def to_json(self) -> dict:
        return {"trusted": self.trusted, "source": self.source, "last_trusted": self.last_trusted}


class TrustedTime:
    def __init__(self, clock: Clock, last_trusted: float | None = None):
        self.clock = clock
        self.last_trusted = last_trusted
        self._saved = last_trusted

    def read(self) -> TimeView:
        """The wall clock now and whether to believe it (cheap: a system call and a stat)."""
        now, source = self.clock.wall(), self.clock.sync_source()
        behind = self.last_trusted is not None and now < self.last_trusted - BEHIND_SECONDS
        if source and not behind:
            self.last_trusted = max(now, self.last_trusted or now)
            return TimeView(now, True, source, self.last_trusted)
        return TimeView(now, False, "persisted" if self.last_trusted is not None else "none", self.last_trusted)

    def to_save(self) -> float | None:
        """The latest trusted time when it moved PERSIST_SECONDS since the last save, else None."""
        self.read()
        latest = self.last_trusted
        if latest is None or (self._saved is not None and latest - self._saved < PERSIST_SECONDS):
            return None
        return latest

    def saved(self, value: float) -> None:
        self._saved = value

    @staticmethod
    def parse(saved: str | None) -> float | None:
        try:
            return float(saved) if saved else None
        except ValueError:
            return None
