"""The panel's side of a call's media: camera video out, resident's audio in."""

from __future__ import annotations

import asyncio
import fractions
import time

import av
import cv2
from aiortc.mediastreams import MediaStreamError, VideoStreamTrack

from .. import trace

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
        self._source = None             # the camera frame last converted, and what it became
        self._i420 = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._count * self.period - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        frame = self.camera.latest
        while frame is None:                 # the camera has not delivered yet
            await asyncio.sleep(self.period)
            frame = self.camera.latest
        out = self._to_video_frame(frame)
        out.pts = int((time.monotonic() - self._start) * VIDEO_CLOCK_RATE)
        out.time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        self._count += 1
        trace.point("call.video.frame", pts=out.pts)
        return out

    def _to_video_frame(self, frame) -> av.VideoFrame:
        """BGR -> the encoder's YUV 4:2:0 with OpenCV, once per camera frame (a still
        scene is converted once); faster than the encoder's own swscale reformat."""
        h, w = frame.shape[:2]
        if h % 2 or w % 2:
            return av.VideoFrame.from_ndarray(frame, format="bgr24")
        if frame is not self._source:
            self._source, self._i420 = frame, cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)
        return av.VideoFrame.from_ndarray(self._i420, format="yuv420p")
