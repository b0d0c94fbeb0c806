"""Cameras: an async stream of BGR frames (numpy uint8, height x width x 3).

Sources: an OpenCV device index or V4L2 path, a video file or stream URL, a folder
of images, or a synthetic scene. Every camera also accepts injected frames (the
local API's `POST camera/frame`, HIL rigs): an injected frame is delivered next and
then held for a few seconds, as a card held up to a lens would be.

A camera that stops delivering is reopened and reported through `on_fault`, never
fatal to the panel.

Pacing: `fps` is the most a camera delivers; `pace(fps)` asks for fewer frames (the
scanner does when nothing moves) and `pace(None)` for the full rate again, at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


class CameraError(Exception):
    pass


class Camera:
    """Base: pacing, injection, the latest frame. Subclasses implement `_read`."""

    def __init__(self, width: int = 640, height: int = 480, fps: float = 10.0,
                 hold_seconds: float = 3.0, on_fault: Callable[[str | None], None] | None = None):
        self.width, self.height, self.fps = width, height, fps
        self.hold_seconds = hold_seconds
        self.on_fault = on_fault
        self.fault: str | None = None     # what is wrong now (None: delivering frames)
        self.latest: np.ndarray | None = None
        self.frames_delivered = 0
        self._paced: float | None = None   # frames/s asked for by pace(), None: fps
        self._injected: np.ndarray | None = None
        self._injected_until = 0.0
        self._wake = asyncio.Event()

    def inject(self, frame: np.ndarray) -> None:
        """Show this frame next, and keep showing it for hold_seconds."""
        self._injected = frame
        self._injected_until = time.monotonic() + self.hold_seconds
        self._wake.set()

    @property
    def rate(self) -> float:
        """Frames/s now: `fps`, or less while paced down."""
        return self.fps if self._paced is None else min(self._paced, self.fps)

    def pace(self, fps: float | None) -> None:
        """Deliver at most `fps` frames/s from now on (None: the configured rate). Going
        up cuts the current wait short: the next frame comes at once."""
        before = self.rate
        self._paced = None if fps is None else max(0.1, float(fps))
        if self.rate > before:
            self._wake.set()

    async def frames(self) -> AsyncIterator[np.ndarray]:
        next_at = time.monotonic()
        while True:
            # Cleared before the frame is chosen: an inject() from here on (even while the
            # consumer holds the frame we yield) cuts the next wait short.
            self._wake.clear()
            if self._injected is not None and time.monotonic() < self._injected_until:
                frame = self._injected
            else:
                self._injected = None
                frame = await self._read()
            if frame is not None:
                self.latest = frame
                self.frames_delivered += 1
                yield frame
            next_at = max(next_at + 1.0 / self.rate, time.monotonic())   # the rate read each tick
            try:
                # An injected frame (or a faster pace) cuts the wait short: HIL rigs expect it
                # to be seen at once.
                # (asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancel.)
                async with asyncio.timeout(max(0.0, next_at - time.monotonic())):
                    await self._wake.wait()
                next_at = time.monotonic()
            except TimeoutError:
                pass

    async def _read(self) -> np.ndarray | None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def _report(self, problem: str | None) -> None:
        if problem != self.fault:
            (log.warning if problem else log.info)("camera: %s", problem or "delivering frames again")
        self.fault = problem
        if self.on_fault:
            try:
                self.on_fault(problem)
            except Exception:
                log.exception("camera fault callback failed")


class SyntheticCamera(Camera):
    """A generated scene: an entrance-hall grey with a moving light band and the time.
    `clock` (wall time) places both; a fixed one gives the same picture every time."""

    def __init__(self, *args, clock: Callable[[], float] = time.time, **kwargs):
        super().__init__(*args, **kwargs)
        self.clock = clock
        h, w = self.height, self.width
        gradient = np.linspace(60, 120, h, dtype=np.uint8)[:, None]
        self._base = np.dstack([np.repeat(gradient, w, axis=1)] * 3)
        self._lit = cv2.add(self._base, (40, 40, 40, 0))       # the band: 40 grey levels brighter

    async def _read(self) -> np.ndarray:
        frame = self._base.copy()
        now = self.clock()
        x = int((now * 80) % self.width)
        band = slice(max(0, x - 20), x + 20)
        frame[:, band] = self._lit[:, band]
        cv2.putText(frame, time.strftime("%H:%M:%S", time.localtime(now)), (16, self.height - 20), cv2.FONT_HERSHEY_SIMPLEX,
                    self.height / 640, (230, 230, 230), 2, cv2.LINE_AA)
        return frame


class FolderCamera(Camera):
    """Each image of a folder in turn, looping: a repeatable scene for tests and demos.

    Decoded images are kept (up to CACHE_BYTES) and the same image is the same frame
    object, so a folder of one picture is a still scene: nothing downstream redraws or
    decodes it again. An image rewritten on disk is read again."""

    CACHE_BYTES = 64 << 20

    def __init__(self, folder: str | Path, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise CameraError(f"{folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder")
        self._i = 0
        self._cache: dict[Path, tuple[int, np.ndarray]] = {}     # path -> (mtime_ns, frame)

    async def _read(self) -> np.ndarray | None:
        path = self.paths[self._i % len(self.paths)]
        self._i += 1
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            mtime = None
        cached = self._cache.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        frame = await asyncio.to_thread(cv2.imread, str(path), cv2.IMREAD_COLOR)
        if frame is None:
            self._cache.pop(path, None)
            self._report(f"{path}: not a readable image")
            return None
        frame.flags.writeable = False     # shared by every delivery of this image
        if sum(f.nbytes for _, f in self._cache.values()) + frame.nbytes <= self.CACHE_BYTES:
            self._cache[path] = (mtime, frame)
        return frame


class OpenCvCamera(Camera):
    """A V4L2 device, a video file or a stream URL through cv2.VideoCapture, read in a thread."""

    def __init__(self, source: str | int, *args, reopen_seconds: float = 2.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.source = source
        self.reopen_seconds = reopen_seconds
        self._cap: cv2.VideoCapture | None = None
        self._failed_at = 0.0
        # A read runs in a worker thread; release() must not run while it does (it can hang).
        self._io = threading.Lock()

    def _open(self) -> cv2.VideoCapture | None:
        try:
            cap = cv2.VideoCapture(self.source)
        except cv2.error as e:            # some backends raise instead of failing to open
            log.debug("VideoCapture(%r): %s", self.source, e)
            return None
        if not cap.isOpened():
            cap.release()
            return None
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        cap.set(cv2.CAP_PROP_FPS, self.fps)
        return cap

    async def _read(self) -> np.ndarray | None:
        if self._cap is None:
            if time.monotonic() - self._failed_at < self.reopen_seconds:
                return None
            self._cap = await asyncio.to_thread(self._open)
            if self._cap is None:
                self._failed_at = time.monotonic()
                self._report(f"camera {self.source!r} cannot be opened; retrying")
                return None
            self._report(None)
        try:
            ok, frame = await asyncio.to_thread(self._locked_read)
            if self._cap is None:
                return None                   # closed meanwhile
        except cv2.error as e:
            log.debug("camera %r read: %s", self.source, e)
            ok, frame = False, None
        if not ok:
            if isinstance(self.source, str) and Path(self.source).is_file():
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)     # a video file loops
                return None
            self._cap.release()
            self._cap = None
            self._failed_at = time.monotonic()
            self._report(f"camera {self.source!r} stopped delivering frames; reopening")
            return None
        return frame

    def _locked_read(self):
        with self._io:
            return self._cap.read() if self._cap is not None else (False, None)

    def close(self) -> None:
        with self._io:
            if self._cap is not None:
                self._cap.release()
                self._cap = None


def open_camera(source: str, width: int, height: int, fps: float, **kwargs) -> Camera:
    """The camera a config's `source` names: synthetic, a device index, a folder, or anything OpenCV opens."""
    if source == "synthetic":
        from hal.scenes import DoorwayCamera        # a visitor at a doorway (imported here: it builds on SyntheticCamera)
        return DoorwayCamera(width, height, fps, **kwargs)
    if source.isdigit():
        return OpenCvCamera(int(source), width, height, fps, **kwargs)
    path = Path(source)
    if path.is_dir():
        return FolderCamera(path, width, height, fps, **kwargs)
    if "://" not in source and not path.exists():
        raise CameraError(f"camera source {source!r} not found (a device index, a V4L2 path, a file, a folder, "
                          f"a URL, or \"synthetic\")")
    return OpenCvCamera(source, width, height, fps, **kwargs)


class ImageTooLarge(CameraError):
    """An encoded image whose header says it would decode to more pixels than allowed."""


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """("png" | "jpeg", width, height) from the header alone (PNG IHDR, JPEG SOF), or None
    when the bytes are neither. Nothing is decoded: a few bytes say what decoding would cost."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        return "png", int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:                  # fill byte before a marker
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:     # markers without a length
            i += 2
            continue
        if marker in _JPEG_SOF:
            return "jpeg", int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        if marker == 0xDA:                  # scan data before any frame header: not a JPEG we read
            return None
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return None


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def decode_image(data: bytes, max_pixels: int | None = None) -> np.ndarray | None:
    """A PNG or JPEG image as a BGR frame, or None if it is not one. With `max_pixels`, an
    image whose header names more pixels raises ImageTooLarge before any decoding."""
    info = image_size(data) if data else None
    if info is None:
        return None
    kind, width, height = info
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLarge(f"the {kind.upper()} image is {width}x{height} = {width * height} pixels")
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def encode_jpeg(frame: np.ndarray, quality: int = 80) -> bytes:
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise CameraError("JPEG encoding failed")
    return data.tobytes()
