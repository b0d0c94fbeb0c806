"""A call's video over plain RTP (RFC 3550, RTP/AVP; VP8 payload per RFC 7741): the panel
camera's track (panel/call/media.py, shared with the QR scanner: the camera is not opened
again) encoded by the panel's VP8 encoder (panel/call/encoders.py), off the event loop.

Plain RTP/AVP carries no feedback (no RTCP PLI here yet), so a key frame goes out every
KEYFRAME_SECONDS: a phone that lost a packet, or started decoding late, recovers."""

from __future__ import annotations

import asyncio
import logging
import secrets

from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket

from ..call.encoders import PanelVp8Encoder
from ..call.media import CameraVideoTrack
from .rtp import MediaSocket

log = logging.getLogger(__name__)

KEYFRAME_SECONDS = 2.0


class VideoStream(MediaSocket):
    def __init__(self):
        self.frames_sent = self.packets_sent = 0
        self._sender: asyncio.Task | None = None

    def datagram_received(self, data: bytes, addr) -> None:
        pass                            # the resident's video: not shown on the panel (yet)

    def start(self, remote: tuple[str, int], payload_type: int, camera, fps: float, max_video_kbps: int) -> None:
        track = CameraVideoTrack(camera, fps)
        self._sender = asyncio.ensure_future(self._send(remote, payload_type, track,
                                                        PanelVp8Encoder(max_video_kbps)))

    async def _send(self, remote, payload_type: int, track: CameraVideoTrack, encoder) -> None:
        loop = asyncio.get_running_loop()
        ssrc, seq = secrets.randbits(32), secrets.randbits(16)
        next_keyframe = 0.0
        try:
            while True:
                frame = await track.recv()
                keyframe = loop.time() >= next_keyframe
                if keyframe:
                    next_keyframe = loop.time() + KEYFRAME_SECONDS
                payloads, timestamp = await loop.run_in_executor(None, encoder.encode, frame, keyframe)
                for i, payload in enumerate(payloads):
                    packet = RtpPacket(payload_type=payload_type, marker=int(i == len(payloads) - 1),
                                       sequence_number=seq, timestamp=timestamp, ssrc=ssrc, payload=payload)
                    seq = (seq + 1) & 0xFFFF
                    self.socket.sendto(packet.serialize(), remote)
                    self.packets_sent += 1
                self.frames_sent += 1
        except MediaStreamError:
            pass
        finally:
            track.stop()

    def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
        if self.socket is not None:
            self.socket.close()
