"""SIP call media against a real phone: baresip (tests/sip_peers.py) registered at
Kamailio, called by the real panel. Opus, H.264/VP8, RTCP (reports, PLI), SRTP-SDES."""

from __future__ import annotations

import asyncio
import re
import wave

import cv2
import numpy as np
import pytest
from aiortc.rtp import RtpPacket

from tests.integration import test_sip_calls
from tests.integration.test_sip_calls import call_olivia, olivia_ringing
from tests.support import until

world = test_sip_calls.world        # the fixture: Kamailio, and the panel and phones it starts

PANEL_TONE = 440            # hal/audio.py ToneTrack: the simulated microphone
PHONE_TONE = 1000           # what baresip's ausine plays (tests/sip_peers.py)


async def in_call(world, phone_options: dict | None = None, **panel_options):
    p, olivia = await olivia_ringing(world, phone_options, **panel_options)
    await olivia.answer()
    await until(lambda: p.app.state.screen.value == "in_call", what="In call")
    return p, olivia


def dominant_frequency(path) -> float:
    """The strongest frequency in a WAV file (baresip's sndfile recording)."""
    with wave.open(str(path)) as w:
        rate, channels = w.getframerate(), w.getnchannels()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, channels)[:, 0]
    samples = samples[len(samples) // 4:].astype(float)            # past the start of the call
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum[1:])) + 1])


async def test_opus_both_ways_the_phone_hears_the_panels_tone_and_the_panel_plays_the_phones(world):
    p, olivia = await in_call(world, {"audio_codecs": "opus"})
    media = p.app.sip.calls.media
    assert media.codec == "opus"
    speaker = p.app.sip.calls.speaker
    await until(lambda: media.packets_received >= 50 and speaker.frames >= 50, what="the phone's Opus decoded")
    assert speaker.peak_rms > 0.05                  # baresip's tone, not silence
    async def phone_heard_50():
        return await olivia.audio_received() >= 50
    await until(phone_heard_50, what="baresip receives the panel's Opus")
    await olivia.hangup()
    await olivia.expect("CALL_CLOSED")
    [recording] = await until(olivia.recorded, what="baresip's recording of what it decoded")
    await until(lambda: recording.stat().st_size > 44 + 48000, what="a second of it on disk")   # closed with the call
    assert abs(dominant_frequency(recording) - PANEL_TONE) < 10      # the panel's tone, decoded by the phone


@pytest.mark.parametrize("codec", ["H264", "VP8"])
async def test_the_phone_decodes_the_panels_video_in_the_codec_it_answered(world, tmp_path, codec):
    p, olivia = await in_call(world, {"video_codecs": codec})
    video = p.app.sip.calls.media.video
    assert video.stream.codec == codec
    await until(lambda: video.frames_sent >= 3, what="video frames sent")
    seen = tmp_path / "seen.png"
    await olivia.snapshot_received(seen)        # baresip writes the next frame it decodes
    image = (await until(lambda: [cv2.imread(str(seen))] if seen.exists() and cv2.imread(str(seen)) is not None
                         else None, what="baresip decoded a frame of the panel's video"))[0]
    camera = p.app.camera.latest
    assert image.shape == camera.shape
    assert image.std() > 10 and abs(float(image.mean()) - float(camera.mean())) < 20   # the scene, not black
    assert f"decode: {codec}" in await olivia.video_debug()


def _keyframes_decoded(text: str) -> int:
    return int(text.split("n_keyframes=")[1].split(",")[0])


async def test_a_lost_packet_the_phone_asks_with_pli_and_gets_a_key_frame(world):
    p, olivia = await in_call(world, {"video_codecs": "H264"})
    video = p.app.sip.calls.media.video
    assert video.stream.requests_keyframes      # baresip answers a=rtcp-fb:* nack pli
    # Feedback works, so no periodic key frames: well past KEYFRAME_SECONDS, still the first only.
    await until(lambda: video.frames_sent >= 3 * p.app.config.camera.fps, timeout=10, what="3 s of video")
    assert video.keyframes_sent == 1
    requests, decoded = video.keyframe_requests, _keyframes_decoded(await olivia.video_debug())
    # One datagram lost on the way: baresip sees the gap in sequence numbers and sends PLI.
    transport = video.rtp._rtp.transport
    send, lost = transport.sendto, []
    transport.sendto = lambda data, addr=None: lost.append(data) if not lost else send(data, addr)
    await until(lambda: video.keyframe_requests > requests, what="PLI from the phone")
    await until(lambda: video.keyframes_sent >= 2, what="a key frame sent for it")
    async def decoded_again():
        return _keyframes_decoded(await olivia.video_debug()) > decoded
    await until(decoded_again, what="the phone decoded the new key frame")


def _reported_sent(text: str, ssrc: int) -> int:
    """What libre's RTCP session (baresip's audio_debug) says a member sent, per its SR."""
    found = re.search(rf"member 0x{ssrc:08x}:.*?psent=(\d+)", text, re.S)
    return int(found.group(1)) if found else 0


@pytest.mark.parametrize("mux", [False, True])
async def test_rtcp_reports_both_ways(world, mux):
    p, olivia = await in_call(world, {"rtcp_mux": mux})
    audio = p.app.sip.calls.media.rtp
    assert audio.remote_stream.rtcp_mux is mux
    # The panel's sender reports reach the phone: libre's member entry for the panel's SSRC
    # counts the packets the SR says were sent (0 without one).
    async def phone_has_our_sender_report():
        return _reported_sent((await olivia.command("audio_debug"))["data"], audio.ssrc) > 0
    await until(phone_has_our_sender_report, timeout=10, what="the panel's SR read by baresip")
    # The phone's reports reach the panel (libre sends one about every 5 s): its SR, with a
    # receiver report block about the panel's stream.
    await until(lambda: audio.reports_heard >= 1 and audio.sender_reports_heard >= 1, timeout=15,
                what="baresip's RTCP reports about the panel's audio")
    if mux:
        assert audio._rtcp is None              # one port for both


class _Sink(asyncio.DatagramProtocol):
    pass


async def test_srtp_sdes_call_works_and_a_plain_rtp_packet_is_dropped(world):
    p, olivia = await in_call(world, {"mediaenc": "srtp-mand"}, srtp="required")
    media = p.app.sip.calls.media
    assert media.rtp.srtp is not None and media.video.rtp.srtp is not None
    await until(lambda: media.packets_received >= 25, what="the phone's SRTP audio decoded")
    async def phone_heard_25():
        return await olivia.audio_received() >= 25
    await until(phone_heard_25, what="baresip decrypts the panel's audio")
    assert "secure=yes" in (await olivia.command("audio_debug"))["data"]
    # A plain RTP packet to the panel's audio port, from the phone's host: refused, not played.
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(_Sink, local_addr=("127.0.0.1", 0))
    try:
        before = media.rtp.rejected
        plain = RtpPacket(payload_type=media.stream.payload_type, sequence_number=1, timestamp=1, ssrc=0x1234,
                          payload=b"\xff" * 160).serialize()
        transport.sendto(plain, ("127.0.0.1", media.rtp.port))
        await until(lambda: media.rtp.rejected > before, what="the plain packet rejected")
    finally:
        transport.close()


@pytest.mark.parametrize("phone_srtp, encrypted", [("srtp", True), ("", False)])
async def test_optional_srtp_encrypts_when_the_phone_takes_the_key_and_falls_back_to_plain(world, phone_srtp, encrypted):
    p, olivia = await in_call(world, {"mediaenc": phone_srtp}, srtp="optional")
    media = p.app.sip.calls.media
    assert (media.rtp.srtp is not None) is encrypted
    await until(lambda: media.packets_received >= 25, what="the phone's audio decoded")
    assert f"secure={'yes' if encrypted else 'no'}" in (await olivia.command("audio_debug"))["data"]


async def test_a_panel_that_requires_srtp_does_not_call_in_plain(world):
    _, panel, phone = world
    olivia = await phone()                      # no SRTP
    p = await panel(srtp="required")
    await until(lambda: p.app.state.sip_online, what="panel registered")
    await call_olivia(p)
    await olivia.expect("CALL_CLOSED")          # RTP/SAVP offered: baresip refuses it before it rings
    assert not olivia.of("CALL_INCOMING")
    await until(lambda: p.app.state.screen.value == "call_ended", what="the call fails")
    assert p.app.sip.calls.media is None


async def test_the_door_code_opens_in_an_opus_call(world):
    # RFC 4733 events at 8000 Hz beside 48 kHz Opus: baresip sends them on the call's RTP.
    p, olivia = await in_call(world, {"audio_codecs": "opus"}, door_code="9")
    assert p.app.sip.calls.media.codec == "opus"
    await olivia.command("sndcode", "9")
    await until(lambda: p.app.state.screen.value == "door_open", what="Door open")
    await olivia.expect("CALL_CLOSED")
