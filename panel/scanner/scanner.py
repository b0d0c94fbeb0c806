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
- A frame that did not change since the last decoded one (mean of 16x16-pixel
  blocks, no block moved by more than ``change_threshold`` grey levels) is skipped,
  unless the last decode is ``rescan_seconds`` old: block means barely notice
  focus, so a phone that comes to rest after a blurred approach must still be
  looked at again (an empty static scene then costs one decode a second).
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
from .decoders import Decoder, default_decoder, to_gray

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
        clock: Callable[[], float] = time.monotonic,
    ):
        self.decoder = decoder or default_decoder()
        self.on_code = on_code
        self.dedupe_seconds = dedupe_seconds
        self.change_threshold = change_threshold
        self.rescan_seconds = rescan_seconds
        self.clock = clock
        self.min_interval = 0.0  # seconds between decodes in run(); the latest frame wins meanwhile
        self.frames_seen = 0  # handed to run()/process()
        self.frames_decoded = 0  # actually given to the decoder
        self._thumb: np.ndarray | None = None  # of the last decoded frame
        self._decoded_at = float("-inf")
        self._last_seen: dict[str, float] = {}
        self._lock = threading.Lock()  # process() may be called from any thread

    # -- per frame (runs in the worker thread) ----------------------------------------
    def _thumbnail(self, gray: np.ndarray) -> np.ndarray:
        h, w = gray.shape
        size = (max(1, w // _BLOCK), max(1, h // _BLOCK))
        return cv2.resize(gray, size, interpolation=cv2.INTER_AREA).astype(np.int16)

    def _worth_decoding(self, thumb: np.ndarray, now: float) -> bool:
        previous = self._thumb
        if previous is None or previous.shape != thumb.shape or now - self._decoded_at >= self.rescan_seconds:
            return True
        return int(np.abs(thumb - previous).max()) > self.change_threshold

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
        emitted recently; ``[]`` for an unchanged frame."""
        with self._lock:
            trace.point("scanner.process.start", frame=frame)
            self.frames_seen += 1
            gray = to_gray(frame)
            thumb = self._thumbnail(gray)
            if not self._worth_decoding(thumb, self.clock()):
                trace.point("scanner.process.end", frame=frame, texts=[])
                return []
            self._thumb = thumb
            self.frames_decoded += 1
            trace.point("scanner.decode.start", frame=frame)
            texts = self.decoder.decode(gray)
            trace.point("scanner.decode.end", frame=frame, texts=texts)
            # Read the clock after decoding: "last seen" is when the decode finished.
            now = self._decoded_at = self.clock()
            fresh = self._fresh(texts, now)
            trace.point("scanner.process.end", frame=frame, texts=fresh)
            return fresh

    # -- the loop -----------------------------------------------------------------
    async def run(self, frames: AsyncIterable[np.ndarray]) -> None:
        """Read ``frames`` until it ends, decoding the latest frame whenever the
        worker is free, and await ``on_code(text)`` for every new text."""
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
