"""One call's media: an aiortc RTCPeerConnection from the panel to the device that
accepted. The panel sends camera video and microphone audio and plays the
resident's audio; it offers, the device answers.

The connection is a `peer.PeerConnection`: ICE restricted to `ice_addresses` (when
given) and the panel's encoders under `max_video_kbps`, for this connection only."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from aiortc import RTCConfiguration, RTCIceServer, RTCSessionDescription
from aiortc.rtcrtpsender import RTCRtpSender

from .encoders import DEFAULT_MAX_VIDEO_KBPS
from .. import trace
from .media import CameraVideoTrack
from .peer import PeerConnection

log = logging.getLogger(__name__)


def ice_servers(urls: list[str]) -> list[RTCIceServer]:
    """"stun:host:port" and "turn:user:password@host:port" -> aiortc's RTCIceServer."""
    servers = []
    for url in urls:
        m = re.match(r"^(turns?):([^:@]+):([^@]+)@(.+)$", url)
        if m:
            servers.append(RTCIceServer(urls=f"{m[1]}:{m[4]}", username=m[2], credential=m[3]))
        else:
            servers.append(RTCIceServer(urls=url))
    return servers


class CallSession:
    def __init__(self, call_id: str, device: str, *, camera, fps: float, microphone, speaker,
                 ice: list[str], video_codecs: list[str], on_failed: Callable[[str], None],
                 ice_addresses: list[str] | tuple[str, ...] = (), max_video_kbps: int = DEFAULT_MAX_VIDEO_KBPS):
        trace.point("call.session.new", call_id=call_id)
        self.call_id, self.device = call_id, device
        self.pc = PeerConnection(RTCConfiguration(iceServers=ice_servers(ice)),
                                 ice_addresses=ice_addresses, max_video_kbps=max_video_kbps)
        self.video = CameraVideoTrack(camera, fps)
        self.microphone = microphone
        self.speaker = speaker
        self.video_on = True
        self._on_failed = on_failed
        self._closed = False
        self._video_sender = self.pc.addTransceiver(self.video, direction="sendonly").sender
        self.pc.addTransceiver(self.microphone, direction="sendrecv")
        self._prefer_codecs(video_codecs)

        @self.pc.on("track")
        def on_track(track):
            if track.kind == "audio":
                self.speaker.play(track)

        @self.pc.on("iceconnectionstatechange")
        def on_ice():
            trace.point("call.ice", call_id=call_id, state=self.pc.iceConnectionState)

        @self.pc.on("connectionstatechange")
        async def on_state():
            trace.point("call.connection", call_id=call_id, state=self.pc.connectionState)
            log.info("call %s: connection %s", call_id, self.pc.connectionState)
            # aiortc reports a lost ICE consent (the peer's network went away) as "closed"
            # rather than "failed"; either, when we did not close it ourselves, ends the call.
            if self.pc.connectionState in ("failed", "closed") and not self._closed:
                self._on_failed("network")
        trace.point("call.session.ready", call_id=call_id)

    def _prefer_codecs(self, names: list[str]) -> None:
        capabilities = RTCRtpSender.getCapabilities("video").codecs
        preferred = [c for name in names for c in capabilities if c.mimeType.lower() == f"video/{name.lower()}"]
        preferred += [c for c in capabilities if c.mimeType.lower() == "video/rtx"]
        for t in self.pc.getTransceivers():
            if t.kind == "video":
                t.setCodecPreferences(preferred)

    async def offer(self) -> str:
        """The complete offer (aiortc gathers every candidate before it returns)."""
        trace.point("call.offer.start", call_id=self.call_id)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        trace.point("call.offer.done", call_id=self.call_id)
        return self.pc.localDescription.sdp

    async def answer(self, sdp: str) -> None:
        trace.point("call.answer.start", call_id=self.call_id)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        trace.point("call.answer.done", call_id=self.call_id)

    def set_video(self, on: bool) -> None:
        """The resident turned the visitor's video off or on: stop or resume sending it."""
        if on != self.video_on:
            self.video_on = on
            self._video_sender.replaceTrack(self.video if on else None)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.speaker.stop()
        self.video.stop()
        self.microphone.stop()
        await self.pc.close()
