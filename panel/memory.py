"""Keeping a panel's memory flat over months and thousands of calls (glibc and the GC).

- `settle()`, once before the panel runs: what start-up imported (aiortc, OpenCV,
  pygame...) lives as long as the panel, so it is frozen and the full collection
  after each call skips it (70 ms -> about 1 ms). glibc gives every thread its own
  malloc arena (up to 8 a core); the codec threads' freed buffers then sit in several
  arenas no trim empties, so the panel uses two. Over 100 calls RSS then ends within
  2-3 MB of call 10, where it grew by 8 MB (scripts/bench_call.py).
- `give_back()`, after each call: aiortc's peer connection, transports and codec
  contexts form reference cycles, which wait for Python's rare full collection (13
  piled up over 60 calls): collect them now, a few ms on a screen that says "Call
  ended". Then hand what glibc keeps in its arenas (codec and DTLS buffers) back to
  the system (malloc_trim; without it RSS crept up 6 MB over 100 calls).

Not glibc (musl, macOS): the allocator calls are skipped.
"""

from __future__ import annotations

import ctypes
import gc

M_ARENA_MAX = -8                # mallopt parameter (glibc malloc.h)


def _glibc(name: str):
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None


_mallopt, _malloc_trim = _glibc("mallopt"), _glibc("malloc_trim")


def settle() -> None:
    gc.collect()
    gc.freeze()
    if _mallopt is not None:
        _mallopt(M_ARENA_MAX, 2)


def give_back() -> None:
    gc.collect()
    if _malloc_trim is not None:
        _malloc_trim(0)
