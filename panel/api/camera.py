"""The live camera for browsers, Home Assistant and video recorders.

`GET camera/snapshot.jpg`: the latest frame as a JPEG. `GET camera/stream.mjpeg`:
multipart/x-mixed-replace, one JPEG per part, at most [camera] stream_fps frames a
second, to at most [camera] stream_viewers viewers at once (one more gets 503).
Each new frame is encoded once, off the loop, whoever asks (viewers share it), and
at most ENCODERS encodes run at a time: viewers cost the panel bytes, not CPU each.
"""

from __future__ import annotations

import asyncio

import cv2
from aiohttp import web

BOUNDARY = "frame"
ENCODERS = 1
QUALITY = 80


class LiveJpeg:
    """The latest frame's JPEG, encoded once per frame."""

    def __init__(self, latest):
        self.latest = latest                # () -> the camera's latest BGR frame, or None
        self._frame = None
        self._jpeg: bytes | None = None
        self._busy = asyncio.Semaphore(ENCODERS)

    async def jpeg(self) -> bytes | None:
        frame = self.latest()
        if frame is None:
            return None
        async with self._busy:
            if frame is not self._frame:    # a new frame (the camera replaces, never mutates, it)
                ok, buf = await asyncio.to_thread(cv2.imencode, ".jpg", frame,
                                                  [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
                self._frame, self._jpeg = frame, buf.tobytes() if ok else None
            return self._jpeg


def routes(panel, prefix: str) -> list[web.RouteDef]:
    live = LiveJpeg(lambda: panel.live_frame())
    viewers = 0

    async def snapshot(request: web.Request) -> web.Response:
        jpeg = await live.jpeg()
        if jpeg is None:
            return web.json_response({"error": "the camera has delivered no frame yet; try again in a moment"},
                                     status=503)
        return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "no-store"})

    async def stream(request: web.Request) -> web.StreamResponse:
        nonlocal viewers
        fps, limit = panel.camera_stream_limits()
        if viewers >= limit:
            return web.json_response({"error": f"{limit} viewers watch the stream already ([camera] "
                                               f"stream_viewers); use camera/snapshot.jpg"}, status=503)
        viewers += 1
        try:
            resp = web.StreamResponse(headers={
                "Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                "Cache-Control": "no-store"})
            await resp.prepare(request)
            loop = asyncio.get_running_loop()
            next_at = loop.time()
            while True:
                jpeg = await live.jpeg()
                if jpeg is not None:
                    await resp.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                     f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")
                next_at = max(next_at + 1.0 / fps, loop.time())
                await asyncio.sleep(next_at - loop.time())
        except ConnectionResetError:
            pass                            # the viewer went away
        finally:
            viewers -= 1
        return resp

    return [web.get(prefix + "/camera/snapshot.jpg", snapshot), web.get(prefix + "/camera/stream.mjpeg", stream)]
