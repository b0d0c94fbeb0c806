"""Whether this machine's wall clock was set by something trustworthy.

Two witnesses, both cheap enough for the door path (a system call, a stat):
- NTP: the kernel's own flag (adjtimex(2) with no changes: STA_UNSYNC clear means an
  NTP daemon, chrony or systemd-timesyncd, is disciplining the clock). This is what
  `timedatectl show -p NTPSynchronized` reports, without a subprocess or D-Bus.
- A real-time clock: /dev/rtc0 or an entry in /sys/class/rtc (a Raspberry Pi before
  the 5 has none; without one it boots at the last saved time or in 1970).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from pathlib import Path

__all__ = ["ntp_synced", "rtc_present", "sync_source"]

_STA_UNSYNC = 0x0040
_TIME_ERROR = 5


class _Timex(ctypes.Structure):
    # The head of struct timex (linux/timex.h) up to `status`; the rest is room to spare.
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("_rest", ctypes.c_byte * 256)]


def _adjtimex():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        return libc.adjtimex
    except (OSError, AttributeError):
        return None


_ADJTIMEX = _adjtimex()


def ntp_synced() -> bool | None:
    """True when NTP keeps the clock, False when the kernel says it is unsynchronised,
    None when this system cannot tell (not Linux, no adjtimex)."""
    if _ADJTIMEX is None:
        return None
    t = _Timex()                # modes = 0: read only, no privilege needed
    state = _ADJTIMEX(ctypes.byref(t))
    if state < 0:
        return None
    return state != _TIME_ERROR and not t.status & _STA_UNSYNC


def rtc_present(root: str | Path = "/") -> bool:
    root = Path(root)
    rtc = root / "sys" / "class" / "rtc"
    try:
        return (root / "dev" / "rtc0").exists() or (rtc.is_dir() and any(rtc.iterdir()))
    except OSError:
        return False


def sync_source() -> str | None:
    """"ntp", "rtc", or None when nothing vouches for the wall clock."""
    if ntp_synced():
        return "ntp"
    if rtc_present():
        return "rtc"
    return None
