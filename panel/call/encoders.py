"""The panel's encoders: aiortc's, with a video bitrate ceiling, VP8 tuned for a panel
and Opus for one microphone.

aiortc's VP8 settings are libwebrtc's desktop ones: libvpx speed -6 and the adaptive
denoiser on luma and chroma. A panel encodes one 640x480 camera beside its QR scanner
and screen on a small ARM board, so it uses the speed libwebrtc picks for ARM phones
(`LibvpxVp8Encoder::GetCpuSpeed`: -12 on 2-3 cores) and no denoiser: the camera's
image processor (a Pi camera's ISP, a UVC webcam's firmware) has denoised the picture
already, and libvpx's costs a third of the encode. On the same camera-like frames
that takes 30-40 % off the encode time at the same quality
(`scripts/bench_call.py --only encoder` prints both).

The receiver's bandwidth estimate (REMB) raises aiortc's bitrate up to 1.5 Mbps
(VP8) or 3 Mbps (H.264) whatever the picture; `[call] max_video_kbps` is the ceiling
(default 1000: a visitor at 640x480 and 15 frames/s looks no better above it, and a
building's uplink may carry several calls).

The visitor's voice is one microphone: Opus goes out mono at 32 kbps, as browsers send
it, not aiortc's stereo at 96 kbps. Each sent audio frame also gets its level (RFC
6465, an RTP header extension), which aiortc computes with a Python loop over every
sample: 1.7 % of a core on the event loop at 50 frames a second. `audio_level_dbov`
gives the same number with numpy.

All of it applies to the panel's own senders only. aiortc has no encoder option: an
RTCRtpSender creates its encoder itself, on the first frame, in
`RTCRtpSender._next_encoded_frame` (with `aiortc.codecs.get_encoder`, and the level
with `aiortc.rtp.compute_audio_level_dbov`, both looked up in aiortc's modules). The
seam is that one method: `use(sender, max_video_kbps)` makes a sender a
`PanelRtpSender`, aiortc's class with `_next_encoded_frame` overridden (aiortc 1.16's,
but for those two calls), and a ceiling of its own. The encoder stays in aiortc's
attribute (`_RTCRtpSender__encoder`), where aiortc's REMB handler sets its bitrate and
`_run_rtp` releases it. aiortc's modules and classes are not changed, so any other
RTCPeerConnection in the process (the Python softphone, a stock aiortc peer) encodes
with aiortc's own encoders. `panel/call/peer.py` applies `use` to every sender of a
panel peer connection.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing

import av
import numpy as np
from aiortc.codecs import get_encoder as aiortc_get_encoder
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.opus import SAMPLE_RATE as OPUS_SAMPLE_RATE
from aiortc.codecs.opus import SAMPLES_PER_FRAME as OPUS_SAMPLES_PER_FRAME
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder, number_of_threads
from aiortc.rtcrtpsender import RTCEncodedFrame, RTCRtpSender
from av import AudioFrame, AudioResampler
from av.frame import Frame

from .. import trace

VP8_SPEED = -12             # libvpx cpu-used in realtime mode; aiortc uses -6
VP8_NOISE_SENSITIVITY = 0   # no denoiser; aiortc uses 4 (adaptive, luma and chroma)
OPUS_BITRATE = 32_000       # mono speech; aiortc sends stereo at 96 kbps
DEFAULT_MAX_VIDEO_KBPS = 1000   # `[call] max_video_kbps`'s default


class _Ceiling:
    """target_bitrate, as the REMB handler and the encoder read it, never above the ceiling."""

    codec_name = "video"

    def __init__(self, max_video_kbps: int = DEFAULT_MAX_VIDEO_KBPS) -> None:
        self.max_bitrate = max_video_kbps * 1000
        super().__init__()
        self.target_bitrate = self.target_bitrate     # aiortc's start value may be above it
        trace.point("call.encoder.created", codec=self.codec_name)

    def encode(self, frame, force_keyframe: bool = False):
        trace.point("call.encode.start", codec=self.codec_name)
        payloads, timestamp = super().encode(frame, force_keyframe)
        if trace.active():
            trace.point("call.encode.done", codec=self.codec_name, bytes=sum(len(p) for p in payloads))
        return payloads, timestamp

    @property
    def target_bitrate(self) -> int:
        return super().target_bitrate

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        # `super().target_bitrate = x` does not reach the base class's setter: call it.
        base = super(_Ceiling, type(self)).target_bitrate
        base.fset(self, min(bitrate, self.max_bitrate))


class PanelVp8Encoder(_Ceiling, Vp8Encoder):
    codec_name = "vp8"

    def encode(self, frame, force_keyframe: bool = False):
        # Open libvpx with our settings whenever aiortc would open it with its own: on the
        # first frame, a new frame size, or a bitrate change of over 10 % (its rule).
        # aiortc's encode() then finds a codec it has no reason to replace, and does the rest
        # (keyframes on request, packetizing, timestamps).
        c = self.codec
        if (c is None or (frame.width, frame.height) != (c.width, c.height)
                or abs(self.target_bitrate - c.bit_rate) / c.bit_rate > 0.1):
            self.codec = _open_vp8(frame.width, frame.height, self.target_bitrate)
        return super().encode(frame, force_keyframe)


def _open_vp8(width: int, height: int, bitrate: int):
    """aiortc's libvpx settings (aiortc/codecs/vpx.py, 1.16), but for speed and denoiser."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = width, height
    codec.bit_rate = bitrate
    codec.pix_fmt = "yuv420p"
    codec.gop_size = 3000               # keyframes only when the receiver asks
    codec.qmin, codec.qmax = 2, 56
    codec.options = {
        "bufsize": str(bitrate),        # a 1 s rate-control buffer
        "cpu-used": str(VP8_SPEED),
        "deadline": "realtime",
        "lag-in-frames": "0",
        "minrate": str(bitrate), "maxrate": str(bitrate),       # constant bitrate
        "noise-sensitivity": str(VP8_NOISE_SENSITIVITY),
        "overshoot-pct": "15",
        "partitions": "0",
        "static-thresh": "1",
        "undershoot-pct": "100",
    }
    codec.thread_count = number_of_threads(width * height, multiprocessing.cpu_count())   # 1 up to 640x480
    return codec


class PanelH264Encoder(_Ceiling, H264Encoder):
    """aiortc's H.264 encoder, under the ceiling."""
    codec_name = "h264"


class PanelOpusEncoder(OpusEncoder):
    """Speech from one microphone: Opus mono at 32 kbps, what libwebrtc sends by default,
    instead of aiortc's stereo at 96 kbps (a third less encode time, a third of the bytes)."""

    def __init__(self) -> None:
        super().__init__()
        self.codec.layout = "mono"              # the codec opens on the first frame
        self.codec.bit_rate = OPUS_BITRATE
        self.resampler = AudioResampler(format="s16", layout="mono", rate=OPUS_SAMPLE_RATE,
                                        frame_size=OPUS_SAMPLES_PER_FRAME)


class PanelRtpSender(RTCRtpSender):
    """aiortc's RTCRtpSender, encoding with `get_encoder` below and levelling audio with
    `audio_level_dbov`. Not constructed: `use` re-classes a sender aiortc made."""

    max_video_kbps: int = DEFAULT_MAX_VIDEO_KBPS

    async def _next_encoded_frame(self, codec):
        # aiortc 1.16's RTCRtpSender._next_encoded_frame, statement for statement, but for
        # the two calls marked "ours" (aiortc's private attributes by their mangled names).
        data = await self.track.recv()
        if not self._enabled:
            return None
        audio_level = None
        if self._RTCRtpSender__encoder is None:
            self._RTCRtpSender__encoder = get_encoder(codec, self.max_video_kbps)        # ours
        encoder = self._RTCRtpSender__encoder
        if isinstance(data, Frame):
            if isinstance(data, AudioFrame):
                audio_level = audio_level_dbov(data)                                     # ours
            force_keyframe = self._RTCRtpSender__force_keyframe
            self._RTCRtpSender__force_keyframe = False
            payloads, timestamp = await asyncio.get_running_loop().run_in_executor(
                None, encoder.encode, data, force_keyframe)
        else:
            payloads, timestamp = encoder.pack(data)
        if not payloads:
            return None
        return RTCEncodedFrame(payloads, timestamp, audio_level)


def use(sender: RTCRtpSender, max_video_kbps: int = DEFAULT_MAX_VIDEO_KBPS) -> None:
    """This sender encodes with the panel's encoders (Opus, VP8, H.264), video under
    `max_video_kbps`. Call before it sends. Other senders are untouched."""
    if type(sender) not in (RTCRtpSender, PanelRtpSender):
        raise TypeError(f"encoders.use: expects aiortc's RTCRtpSender, not {type(sender).__name__}")
    sender.__class__ = PanelRtpSender
    sender.max_video_kbps = max_video_kbps


def get_encoder(codec, max_video_kbps: int = DEFAULT_MAX_VIDEO_KBPS):
    """The panel's encoder for this codec; aiortc's for the others (G.722, PCMA, PCMU)."""
    mime = codec.mimeType.lower()
    if mime == "video/vp8":
        return PanelVp8Encoder(max_video_kbps)
    if mime == "video/h264":
        return PanelH264Encoder(max_video_kbps)
    if mime == "audio/opus":
        return PanelOpusEncoder()
    return aiortc_get_encoder(codec)


def audio_level_dbov(frame) -> int:
    """What aiortc.rtp.compute_audio_level_dbov returns (it also reads the whole first
    plane and divides by the samples of one channel), from an integer sum of squares."""
    samples = np.frombuffer(bytes(frame.planes[0]), dtype="<i2").astype(np.int64)
    rms = math.sqrt(int(samples @ samples) / (frame.samples * 32767 * 32767))
    return round(min(max(20 * math.log10(rms), -127), 0)) if rms > 0 else -127
