"""The panel's video encoders and audio level: a bitrate ceiling the receiver's estimate
cannot lift, VP8 a receiver decodes to the picture that went in, and the RTP audio
level aiortc would have sent."""

from __future__ import annotations

import fractions

import av
import cv2
import numpy as np
import pytest
from aiortc import rtcrtpsender, rtp
from aiortc.codecs import get_encoder as aiortc_get_encoder
from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from panel.call import encoders

AIORTC_AUDIO_LEVEL = rtp.compute_audio_level_dbov


@pytest.fixture
def ceiling():
    """The panel's encoder for a codec, given the ceiling in kbps (encoders.get_encoder,
    what a panel sender calls). Nothing process-wide is installed, so nothing to undo."""
    def panel_encoder(kbps: int):
        return lambda codec: encoders.get_encoder(codec, kbps)
    yield panel_encoder
    assert rtcrtpsender.get_encoder is aiortc_get_encoder          # aiortc's own, untouched
    assert rtp.compute_audio_level_dbov is AIORTC_AUDIO_LEVEL


def codec(mime: str) -> RTCRtpCodecParameters:
    return RTCRtpCodecParameters(mimeType=mime, clockRate=90000, payloadType=96)


def camera_frames(n: int, seed: int = 5) -> list[np.ndarray]:
    """640x480 I420: a textured wall panning 4 px a frame, fresh sensor noise each frame."""
    rng = np.random.default_rng(seed)
    wall = cv2.resize(rng.integers(60, 160, (60, 80 + n), dtype=np.uint8), (640 + 4 * n, 480))
    out = []
    for i in range(n):
        gray = np.clip(wall[:, 4 * i:4 * i + 640] + rng.normal(0, 3, (480, 640)), 0, 255).astype(np.uint8)
        out.append(cv2.cvtColor(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), cv2.COLOR_BGR2YUV_I420))
    return out


def encode_all(encoder, frames) -> tuple[list[bytes], list[np.ndarray]]:
    """Each frame encoded at 15 frames/s; what a receiver's libvpx decodes from the payloads."""
    decoder = av.CodecContext.create("libvpx", "r")
    sent, decoded = [], []
    for i, i420 in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
        frame.pts, frame.time_base = i * 6000, fractions.Fraction(1, 90000)
        payloads, _ = encoder.encode(frame)
        sent.append(b"".join(vp8_depayload(p) for p in payloads))
        decoded += [f.to_ndarray(format="yuv420p") for f in decoder.decode(av.Packet(sent[-1]))]
    return sent, decoded


def panel_and_aiortc(frames, bitrate: int, max_video_kbps: int = 1000):
    """encode_all of the same frames by the panel's VP8 encoder (under `max_video_kbps`) and
    by aiortc's, each asked for `bitrate` (what the receiver's estimate says)."""
    results = []
    for encoder in (encoders.PanelVp8Encoder(max_video_kbps), Vp8Encoder()):
        encoder.target_bitrate = bitrate
        results.append(encode_all(encoder, frames))
    return results


def kbps(sent: list[bytes], skip: int) -> float:
    """Bits a second after the first `skip` frames (the keyframe and the rate settling)."""
    body = sent[skip:]
    return sum(len(s) for s in body) * 8 / (len(body) / 15) / 1000


OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)


def test_panel_encoders_are_the_panels_and_aiortcs_for_the_rest(ceiling):
    get_encoder = ceiling(800)
    assert isinstance(get_encoder(codec("video/VP8")), encoders.PanelVp8Encoder)
    assert isinstance(get_encoder(codec("video/H264")), encoders.PanelH264Encoder)
    assert isinstance(get_encoder(OPUS), encoders.PanelOpusEncoder)
    pcmu = RTCRtpCodecParameters(mimeType="audio/PCMU", clockRate=8000, channels=1, payloadType=0)
    assert type(get_encoder(pcmu)).__name__ == "PcmuEncoder"
    assert type(rtcrtpsender.get_encoder(codec("video/VP8"))) is Vp8Encoder       # aiortc's still aiortc's


@pytest.mark.parametrize("mime", ["video/VP8", "video/H264"])
def test_the_receivers_estimate_cannot_lift_the_bitrate_over_the_ceiling(ceiling, mime):
    encoder = ceiling(800)(codec(mime))
    assert encoder.target_bitrate <= 800_000                 # H.264 starts at 1 Mbps in aiortc
    encoder.target_bitrate = 5_000_000                       # what a REMB on a fast LAN says
    assert encoder.target_bitrate == 800_000
    encoder.target_bitrate = 600_000                         # a congested link: followed down
    assert encoder.target_bitrate == 600_000


def test_vp8_holds_the_ceiling_where_aiortc_would_send_one_and_a_half_megabits():
    frames = camera_frames(45)
    (ours_sent, decoded), (theirs_sent, _) = panel_and_aiortc(frames, 5_000_000, max_video_kbps=400)
    assert kbps(ours_sent, 15) < 400 * 1.25
    assert kbps(theirs_sent, 15) > 1000                      # the same frames, no ceiling
    assert len(decoded) == len(frames)


def luma_psnr(sent: list[np.ndarray], decoded: list[np.ndarray]) -> float:
    mse = np.mean([np.mean((a[:480].astype(np.float32) - b[:480].astype(np.float32)) ** 2)
                   for a, b in zip(sent, decoded)])
    return float(10 * np.log10(255 ** 2 / mse))


def test_vp8_decodes_to_the_picture_that_went_in_as_well_as_aiortcs():
    frames = camera_frames(30)
    (_, decoded), (_, baseline) = panel_and_aiortc(frames, 1_000_000)
    assert len(decoded) == len(frames)                       # every frame, none dropped
    ours_db, theirs_db = luma_psnr(frames[5:], decoded[5:]), luma_psnr(frames[5:], baseline[5:])
    assert ours_db > 30 and ours_db > theirs_db - 1.0, (ours_db, theirs_db)


def test_vp8_keyframe_on_request_and_a_new_size_reopens_the_encoder():
    encoder = encoders.PanelVp8Encoder(1000)
    frames = camera_frames(4)
    sent, _ = encode_all(encoder, frames)
    assert sent[0][0] & 1 == 0 and sent[1][0] & 1 == 1       # VP8: bit 0 clear = keyframe
    frame = av.VideoFrame.from_ndarray(frames[0], format="yuv420p")
    frame.pts, frame.time_base = 9 * 6000, fractions.Fraction(1, 90000)
    payloads, _ = encoder.encode(frame, force_keyframe=True)  # the receiver sent a PLI
    assert vp8_depayload(payloads[0])[0] & 1 == 0
    small = av.VideoFrame.from_ndarray(cv2.resize(cv2.cvtColor(frames[0], cv2.COLOR_YUV2BGR_I420), (320, 240)),
                                       format="bgr24")
    small.pts, small.time_base = 10 * 6000, fractions.Fraction(1, 90000)
    payloads, _ = encoder.encode(small)
    assert (encoder.codec.width, encoder.codec.height) == (320, 240)
    assert vp8_depayload(payloads[0])[0] & 1 == 0


@pytest.mark.parametrize("layout,channels", [("mono", 1), ("stereo", 2)])
@pytest.mark.parametrize("level", [0, 1, 30, 1000, 12000, 32767])
def test_audio_level_is_what_aiortc_computes(layout, channels, level):
    rng = np.random.default_rng(level)
    samples = np.clip(rng.normal(0, max(level, 1e-9), (1, 960 * channels)), -32768, 32767).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(samples, format="s16", layout=layout)
    assert encoders.audio_level_dbov(frame) == AIORTC_AUDIO_LEVEL(frame)


def test_opus_goes_out_mono_at_speech_bitrate_and_decodes_to_the_voice(ceiling):
    from aiortc.codecs.opus import OpusDecoder, OpusEncoder
    from aiortc.jitterbuffer import JitterFrame

    from hal.audio import rms

    ours, theirs = ceiling(1000)(OPUS), OpusEncoder()
    t = np.arange(48000) / 48000                                # one second of a 440 Hz tone
    wave = (np.sin(2 * np.pi * 440 * t) * 0.2 * 32767).astype(np.int16)
    frames = []
    for i in range(50):
        frame = av.AudioFrame.from_ndarray(wave[i * 960:(i + 1) * 960].reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48000, i * 960, fractions.Fraction(1, 48000)
        frames.append(frame)
    packets = [p for f in frames for p in ours.encode(f)[0]]
    baseline = [p for f in frames for p in theirs.encode(f)[0]]
    assert all(p[0] & 0x04 == 0 for p in packets)              # Opus TOC: the stereo bit clear
    assert all(p[0] & 0x04 for p in baseline)                   # aiortc's: stereo
    assert sum(map(len, packets)) * 8 < 40_000 < sum(map(len, baseline)) * 8     # bits in one second
    decoder = OpusDecoder()                                     # what a receiver does with it
    heard = [f for i, p in enumerate(packets) for f in decoder.decode(JitterFrame(p, i * 960))]
    assert rms(heard[-1]) == pytest.approx(0.2 / np.sqrt(2), rel=0.1)
