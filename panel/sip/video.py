"""A call's video over RTP (panel/sip/rtp.py's RtpSession): the panel camera's track
(panel/call/media.py, shared with the QR scanner: the camera is not opened again) encoded
by the panel's H.264 (RFC 6184, packetization mode 1) or VP8 (RFC 7741) encoder
(panel/call/encoders.py), off the event loop.

A key frame goes out when the peer asks (RTCP PLI or FIR). A peer whose answer has no
rtcp-fb may never ask, so then one goes out every KEYFRAME_SECONDS as well: a phone that
lost a packet, or started decoding late, recovers."""

from __future__ import annotations

import asyncio
import logging

from aiortc.mediastreams import MediaStreamError

from ..call.encoders import PanelH264Encoder, PanelVp8Encoder
from ..call.media import CameraVideoTrack
from . import sdp
from .rtp import RtpSession

log = logging.getLogger(__name__)

KEYFRAME_SECONDS = 2.0
ENCODERS = {"H264": PanelH264Encoder, "VP8": PanelVp8Encoder}


class VideoStream:
    def __init__(self, rtp: RtpSession):
        self.rtp = rtp
        self.stream: sdp.Stream | None = None
        self.frames_sent = self.keyframes_sent = self.keyframe_requests = 0
        self._keyframe_wanted = True
        self._sender: asyncio.Task | None = None

    @classmethod
    async def open(cls, host: str) -> "VideoStream":
        return cls(await RtpSession.open(host))

    @property
    def packets_sent(self) -> int:
        return self.rtp.packets_sent

    def start(self, stream: sdp.Stream, camera, fps: float, max_video_kbps: int) -> None:
        self.stream = stream
        self.rtp.on_keyframe_request = self._keyframe_requested
        self.rtp.connect(stream)
        track = CameraVideoTrack(camera, fps)
        self._sender = asyncio.ensure_future(self._send(track, ENCODERS[stream.codec](max_video_kbps)))

    def _keyframe_requested(self) -> None:
        self.keyframe_requests += 1
        self._keyframe_wanted = True

    async def _send(self, track: CameraVideoTrack, encoder) -> None:
        loop = asyncio.get_running_loop()
        periodic = not self.stream.requests_keyframes
        next_keyframe = 0.0
        try:
            while True:
                frame = await track.recv()
                keyframe = self._keyframe_wanted or (periodic and loop.time() >= next_keyframe)
                self._keyframe_wanted = False
                if keyframe:
                    next_keyframe = loop.time() + KEYFRAME_SECONDS
                    self.keyframes_sent += 1
                payloads, timestamp = await loop.run_in_executor(None, encoder.encode, frame, keyframe)
                for i, payload in enumerate(payloads):
                    self.rtp.send(self.stream.payload_type, timestamp, payload, marker=int(i == len(payloads) - 1))
                self.frames_sent += 1
        except MediaStreamError:
            pass
        finally:
            track.stop()

    def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
        self.rtp.close()
