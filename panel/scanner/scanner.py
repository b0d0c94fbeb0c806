"""Camera frames -> decoded QR texts, off the event loop.

Usage (the app runs this in its TaskGroup)::

    scanner = Scanner(on_code=handle_text)          # async def handle_text(text: str)
    await scanner.run(camera_frames)                # any async iterator of numpy frames

Texts are emitted through the **async callback** ``on_code``, awaited in order;
``run`` returns when the frame source ends (or raises what the source or the
callback raised; a decoder error is not swallowed either, since the decoders
themselves never raise on a picture).

- Decoding happens in one dedicated worker thread, one frame at a time.
- Frames arriving while a decode runs are not queued: only the latest is kept, so
  after a slow decode the scanner looks at what the camera sees *now*.
- A frame that did not change since the last one looked at (mean of 16x16-pixel
  blocks, no block moved by more than ``change_threshold`` grey levels) is skipped,
  unless the last decode is ``rescan_seconds`` old and something code-like was in
  view: block means barely notice focus, so a phone that comes to rest after a
  blurred approach must still be looked at again.
- A changed frame is decoded only where a code can be (``likeness``: dense sharp
  edges along both axes, panel.scanner.likeness): people walking past, light
  changing and sensor noise cost a thumbnail and an edge count, not a decode. As a
  safety net, a changed frame with nothing code-like still gets a whole-frame decode
  once per ``rescan_seconds``. ``likeness=False``: every changed frame is decoded
  and a still scene once per ``rescan_seconds`` (the scanner before issue 18).
- The camera's pace: ``run(frames, pace=camera.pace)`` asks the camera for
  ``idle_fps`` once nothing changed for ``idle_after`` seconds and for its full rate
  again at the first change (the camera then delivers a frame at once).
- ``view``: the latest frame that differed from the one before it (for the screen's
  preview: sensor noise alone does not redraw it).
- ``min_interval`` (seconds, 0 = none) spaces the decodes out: the app sets it
  during a call, when a code is unlikely and the CPU goes to the call's video.
- A text read again less than ``dedupe_seconds`` after it was last *seen* is not
  emitted again: a code held in front of the camera gives one decision, and the
  same code shown again after being away for that long gives a new one.

A frame must not be modified after the source yielded it (it may still be in the
worker). ``process(frame)`` is the same per-frame logic without the threading, for
tests and for callers that already run in a worker.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterable, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from .. import trace
from .burst import BurstDecoder
from .decoders import Decoder, to_gray
from .likeness import candidates

_BLOCK = 16  # pixels per side of a change-detection block


class Scanner:
    def __init__(
        self,
        decoder: Decoder | None = None,
        *,
        on_code: Callable[[str], Awaitable[None]] | None = None,
        dedupe_seconds: float = 3.0,
        change_threshold: float = 6.0,
        rescan_seconds: float = 1.0,
        likeness: bool = True,
        idle_fps: float | None = 7.5,
        idle_after: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.decoder = decoder or BurstDecoder()
        self.on_code = on_code
        self.dedupe_seconds = dedupe_seconds
        self.change_threshold = change_threshold
        self.rescan_seconds = rescan_seconds
        self.clock = clock
        self.likeness = likeness
        self.idle_fps, self.idle_after = idle_fps, idle_after
        self.view: np.ndarray | None = None     # the latest frame that changed
        self.min_interval = 0.0  # seconds between decodes in run(); the latest frame wins meanwhile
        self.frames_seen = 0  # handed to run()/process()
        self.frames_decoded = 0  # actually given to the decoder
        self._thumb: np.ndarray | None = None  # of the last frame looked at
        self._decoded_at = float("-inf")
        self._changed_at = float("-inf")
        self._code_like = False                 # the last frame looked at had a candidate
        self._last_seen: dict[str, float] = {}
        self._lock = threading.Lock()  # process() may be called from any thread

    # -- per frame (runs in the worker thread) ----------------------------------------
    def _thumbnail(self, gray: np.ndarray) -> np.ndarray:
        h, w = gray.shape
        size = (max(1, w // _BLOCK), max(1, h // _BLOCK))
        return cv2.resize(gray, size, interpolation=cv2.INTER_AREA).astype(np.int16)

    def _changed(self, thumb: np.ndarray) -> bool:
        previous = self._thumb
        return (previous is None or previous.shape != thumb.shape
                or int(np.abs(thumb - previous).max()) > self.change_threshold)

    def _fresh(self, texts: list[str], now: float) -> list[str]:
        fresh = []
        for text in texts:
            last = self._last_seen.get(text)
            if last is None or now - last >= self.dedupe_seconds:
                fresh.append(text)
            self._last_seen[text] = now
        # Forget codes not seen for a while, so the dict stays small.
        for text, seen in list(self._last_seen.items()):
            if now - seen >= self.dedupe_seconds:
                del self._last_seen[text]
        return fresh

    def process(self, frame: np.ndarray) -> list[str]:
        """Decode one frame (numpy gray, BGR or BGRA) and return the texts not
        emitted recently; ``[]`` for a frame not worth a decode."""
        with self._lock:
            trace.point("scanner.process.start", frame=frame)
            self.frames_seen += 1
            gray = to_gray(frame)
            thumb = self._thumbnail(gray)
            now = self.clock()
            changed = self._changed(thumb)
            rescan = now - self._decoded_at >= self.rescan_seconds
            if changed:
                self._changed_at = now
                self.view = frame
            if not changed and not (rescan and (self._code_like or not self.likeness)):
                trace.point("scanner.process.end", frame=frame, texts=[])
                return []
            self._thumb = thumb
            regions = None
            if self.likeness:
                regions = candidates(gray)
                self._code_like = bool(regions)
                if not regions and not rescan:
                    trace.point("scanner.process.end", frame=frame, texts=[])
                    return []
            self.frames_decoded += 1
            trace.point("scanner.decode.start", frame=frame)
            if getattr(self.decoder, "takes_regions", False):
                texts = self.decoder.decode(gray, regions)
            else:
                texts = self.decoder.decode(gray)
            trace.point("scanner.decode.end", frame=frame, texts=texts)
            # Read the clock after decoding: "last seen" is when the decode finished.
            now = self._decoded_at = self.clock()
            fresh = self._fresh(texts, now)
            trace.point("scanner.process.end", frame=frame, texts=fresh)
            return fresh

    def wanted_fps(self) -> float | None:
        """The camera rate to ask for now: ``idle_fps`` after ``idle_after`` seconds
        without a change, else None (the camera's full rate). Never while decodes are
        spaced out (``min_interval``: the app's sign of a call, whose video is the
        camera's latest frame at the camera's full rate)."""
        if (self.idle_fps is None or self.min_interval > 0
                or self.clock() - self._changed_at < self.idle_after):
            return None
        return self.idle_fps

    # -- the loop -----------------------------------------------------------------
    async def run(self, frames: AsyncIterable[np.ndarray],
                  pace: Callable[[float | None], None] | None = None) -> None:
        """Read ``frames`` until it ends, decoding the latest frame whenever the
        worker is free, and await ``on_code(text)`` for every new text. ``pace``
        (a camera's) is told the rate wanted whenever that changes."""
        paced: float | None = None
        latest: list[np.ndarray] = []  # at most one frame: the newest not yet taken
        arrived = asyncio.Event()
        ended = False

        async def pump() -> None:
            nonlocal ended
            try:
                async for frame in frames:
                    latest[:] = [frame]
                    arrived.set()
            finally:
                ended = True
                arrived.set()

        loop = asyncio.get_running_loop()
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qr-decode")
        reader = asyncio.create_task(pump())
        try:
            while True:
                if not latest:
                    if ended:
                        break
                    await arrived.wait()
                    arrived.clear()
                    continue
                frame = latest.pop()
                started = loop.time()
                texts = await loop.run_in_executor(worker, self.process, frame)
                if pace is not None and (wanted := self.wanted_fps()) != paced:
                    paced = wanted
                    pace(wanted)
                for text in texts:
                    if self.on_code is not None:
                        trace.point("scanner.code", text=text)
                        await self.on_code(text)
                if (pause := started + self.min_interval - loop.time()) > 0:
                    await asyncio.sleep(pause)          # frames arriving meanwhile: the latest is kept
            await reader  # re-raise an error of the frame source
        finally:
            reader.cancel()
            # Don't block the event loop on a decode still running after a cancel.
            worker.shutdown(wait=False, cancel_futures=True)
