"""The panel's side of a call's media: camera video out, resident's audio in."""

from __future__ import annotations

import asyncio
import fractions
import time

import av
from aiortc.mediastreams import MediaStreamError, VideoStreamTrack

VIDEO_CLOCK_RATE = 90000


class CameraVideoTrack(VideoStreamTrack):
    """The panel camera's latest frame, paced at `fps`.

    Reads `camera.latest` rather than consuming the camera's stream, so the scanner
    and any number of calls share one camera.
    """

    def __init__(self, camera, fps: float):
        super().__init__()
        self.camera = camera
        self.period = 1.0 / fps
        self._start: float | None = None
        self._count = 0

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            wait = self._start + self._count * self.period - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        frame = self.camera.latest
        while frame is None:                 # the camera has not delivered yet
            await asyncio.sleep(self.period)
            frame = self.camera.latest
        out = av.VideoFrame.from_ndarray(frame, format="bgr24")
        out.pts = int((time.time() - self._start) * VIDEO_CLOCK_RATE)
        out.time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        self._count += 1
        return out
