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

aiortc creates encoders itself, with no per-connection hook, so `install()` replaces
the one factory it calls and the level function (process-wide, like `ice.restrict`:
a panel runs one set of calls).
"""

from __future__ import annotations

import math
import multiprocessing

import av
import numpy as np
from aiortc import rtcrtpsender, rtp
from aiortc.codecs import get_encoder as aiortc_get_encoder
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.opus import SAMPLE_RATE as OPUS_SAMPLE_RATE
from aiortc.codecs.opus import SAMPLES_PER_FRAME as OPUS_SAMPLES_PER_FRAME
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder, number_of_threads
from av import AudioResampler

from .. import trace

VP8_SPEED = -12             # libvpx cpu-used in realtime mode; aiortc uses -6
VP8_NOISE_SENSITIVITY = 0   # no denoiser; aiortc uses 4 (adaptive, luma and chroma)
OPUS_BITRATE = 32_000       # mono speech; aiortc sends stereo at 96 kbps

_max_bitrate = 1_000_000


class _Ceiling:
    """target_bitrate, as the REMB handler and the encoder read it, never above the ceiling."""

    codec_name = "video"

    def __init__(self) -> None:
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
        base.fset(self, min(bitrate, _max_bitrate))


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


def install(max_video_kbps: int) -> None:
    """Senders created from now on use the panel's encoders (Opus, VP8, H.264)."""
    global _max_bitrate
    _max_bitrate = max_video_kbps * 1000
    rtcrtpsender.get_encoder = get_encoder
    rtp.compute_audio_level_dbov = audio_level_dbov


def get_encoder(codec):
    mime = codec.mimeType.lower()
    if mime == "video/vp8":
        return PanelVp8Encoder()
    if mime == "video/h264":
        return PanelH264Encoder()
    if mime == "audio/opus":
        return PanelOpusEncoder()
    return aiortc_get_encoder(codec)


def audio_level_dbov(frame) -> int:
    """What aiortc.rtp.compute_audio_level_dbov returns (it also reads the whole first
    plane and divides by the samples of one channel), from an integer sum of squares."""
    samples = np.frombuffer(bytes(frame.planes[0]), dtype="<i2").astype(np.int64)
    rms = math.sqrt(int(samples @ samples) / (frame.samples * 32767 * 32767))
    return round(min(max(20 * math.log10(rms), -127), 0)) if rms > 0 else -127
