"""SDP offer/answer for SIP calls (panel/sip/sdp.py): codec choice, RTCP ports and
multiplexing, feedback, SDES crypto lines. Answers in the shape baresip 1.0 sends them."""

from __future__ import annotations

import base64

import pytest

from panel.sip import sdp, srtp

AUDIO, VIDEO = sdp.Local(40000, 40001, srtp.new_key()), sdp.Local(40002, 40003, srtp.new_key())


def answer(audio: str = "m=audio 26898 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
                        "a=rtpmap:101 telephone-event/8000\r\n", video: str = "") -> str:
    return ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\na=tool:baresip 1.0.0\r\n"
            + audio + video)


def section(text: str, kind: str) -> str:
    return text[text.index(f"m={kind} "):].split("\r\nm=")[0]


def test_offer_prefers_opus_keeps_g711_and_telephone_events():
    text = sdp.offer("192.0.2.7", AUDIO)
    audio = section(text, "audio")
    assert audio.startswith("m=audio 40000 RTP/AVP 111 0 8 101") and "c=IN IP4 192.0.2.7" in text
    assert "a=rtpmap:111 opus/48000/2" in audio and "a=rtpmap:0 PCMU/8000" in audio
    assert "a=rtpmap:101 telephone-event/8000" in audio
    assert "a=rtcp:40001" in audio and "a=rtcp-mux" in audio
    assert "a=crypto" not in text and "m=video" not in text


def test_video_offers_h264_mode_1_then_vp8_send_only_with_feedback():
    video = section(sdp.offer("192.0.2.7", AUDIO, VIDEO), "video")
    assert video.startswith("m=video 40002 RTP/AVP 97 96")
    assert "a=rtpmap:97 H264/90000" in video and "a=fmtp:97 profile-level-id=42e01f;packetization-mode=1" in video
    assert "a=rtpmap:96 VP8/90000" in video and "a=sendonly" in video
    assert "a=rtcp-fb:* nack pli" in video and "a=rtcp-fb:* ccm fir" in video


@pytest.mark.parametrize("mode, profile", [("optional", "RTP/AVP"), ("required", "RTP/SAVP")])
def test_srtp_offers_one_sdes_key_per_stream(mode, profile):
    text = sdp.offer("192.0.2.7", AUDIO, VIDEO, mode)
    for kind, local in (("audio", AUDIO), ("video", VIDEO)):
        s = section(text, kind)
        assert s.startswith(f"m={kind} {local.port} {profile} ")
        assert f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{local.key}" in s
    assert len(base64.b64decode(AUDIO.key)) == 30 and AUDIO.key != VIDEO.key


def test_the_answers_first_codec_is_used():
    a = sdp.parse_answer(answer()).audio
    assert (a.address, a.port, a.payload_type, a.codec, a.telephone_event) == ("127.0.0.1", 26898, 0, "PCMU", 101)
    opus = sdp.parse_answer(answer("m=audio 5000 RTP/AVP 111 0\r\na=rtpmap:111 opus/48000/2\r\n")).audio
    assert (opus.payload_type, opus.codec, opus.clock_rate) == (111, "opus", 48000)
    # Another payload number for Opus than the offer's: the answer's is what is sent.
    renumbered = sdp.parse_answer(answer("m=audio 5000 RTP/AVP 109\r\na=rtpmap:109 OPUS/48000/2\r\n")).audio
    assert (renumbered.payload_type, renumbered.codec) == (109, "opus")
    assert sdp.parse_answer(answer("m=audio 5000 RTP/AVP 8\r\n")).audio.codec == "PCMA"   # static, no rtpmap


def test_rtcp_goes_to_port_plus_one_or_a_rtcp_or_the_rtp_port_when_multiplexed():
    base = "m=audio 5000 RTP/AVP 0\r\n"
    assert sdp.parse_answer(answer(base)).audio.rtcp == ("127.0.0.1", 5001)
    assert sdp.parse_answer(answer(base + "a=rtcp:6000\r\n")).audio.rtcp == ("127.0.0.1", 6000)
    assert sdp.parse_answer(answer(base + "a=rtcp:6000 IN IP4 10.0.0.9\r\n")).audio.rtcp == ("10.0.0.9", 6000)
    muxed = sdp.parse_answer(answer(base + "a=rtcp:6000\r\na=rtcp-mux\r\n")).audio
    assert muxed.rtcp_mux and muxed.rtcp == ("127.0.0.1", 5000)


BARESIP_VIDEO = ("m=video 26900 RTP/AVP 97\r\nc=IN IP4 127.0.0.9\r\na=rtpmap:97 H264/90000\r\n"
                 "a=fmtp:97 packetization-mode=1;profile-level-id=42e01f\r\na=rtcp-fb:* nack pli\r\na=recvonly\r\n")


def test_video_codec_and_feedback_from_the_answer():
    v = sdp.parse_answer(answer(video=BARESIP_VIDEO)).video
    assert (v.address, v.port, v.payload_type, v.codec) == ("127.0.0.9", 26900, 97, "H264")   # its own c=
    assert v.feedback == {"nack pli"} and v.requests_keyframes
    vp8 = sdp.parse_answer(answer(video="m=video 26900 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n")).video
    assert vp8.codec == "VP8" and not vp8.requests_keyframes         # no rtcp-fb: periodic key frames
    nack_only = BARESIP_VIDEO.replace("nack pli", "nack")
    assert not sdp.parse_answer(answer(video=nack_only)).video.requests_keyframes


def test_h264_in_packetization_mode_0_is_not_taken_and_refused_video_is_none():
    mode0 = BARESIP_VIDEO.replace("packetization-mode=1", "packetization-mode=0")
    assert sdp.parse_answer(answer(video=mode0)).video is None
    assert sdp.parse_answer(answer(video=BARESIP_VIDEO.replace("m=video 26900", "m=video 0"))).video is None


def test_the_answers_sdes_key_is_read_per_stream():
    key = srtp.new_key()
    crypto = f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key}|2^31\r\n"
    a = sdp.parse_answer(answer("m=audio 5000 RTP/SAVP 0\r\n" + crypto), "required").audio
    assert a.key == base64.b64decode(key)
    assert sdp.parse_answer(answer("m=audio 5000 RTP/AVP 0\r\n"), "optional").audio.key is None    # plain fallback


@pytest.mark.parametrize("audio, mode, problem", [
    ("m=audio 5000 RTP/AVP 0\r\n", "required", "did not accept SRTP"),
    ("m=audio 5000 RTP/SAVP 0\r\n", "optional", "did not accept SRTP"),
    ("m=audio 5000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:AAAA\r\n", "required", "suite"),
    ("m=audio 5000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA\r\n", "required", "bytes"),
    ("m=audio 5000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:!!\r\n", "required", "base64"),
    (f"m=audio 5000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{'A' * 40}|2^20|1:4\r\n", "required",
     "MKI"),
    ("m=audio 5000 RTP/SAVP 0\r\na=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:AAAA\r\n", "required", "tag 1"),
])
def test_an_unusable_crypto_answer_says_why(audio, mode, problem):
    with pytest.raises(ValueError, match=problem):
        sdp.parse_answer(answer(audio), mode)


@pytest.mark.parametrize("text, problem", [
    ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 5 RTP/AVP 96\r\n", "no audio"),
    ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 0 RTP/AVP 0\r\n", "refused"),
    ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5 RTP/AVP 9 111\r\n", "no common audio codec"),   # 111 with no rtpmap
    ("v=0\r\nm=audio 5 RTP/AVP 0\r\n", "no connection address"),
    ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio x RTP/AVP 0\r\n", "malformed media line"),
])
def test_an_unusable_answer_says_why(text, problem):
    with pytest.raises(ValueError, match=problem):
        sdp.parse_answer(text)


def test_sdes_keys_protect_one_way_and_refuse_plain_packets():
    from aiortc.rtp import RtpPacket
    ours, theirs = srtp.new_key(), srtp.new_key()
    panel = srtp.SrtpSession(ours, base64.b64decode(theirs))
    phone = srtp.SrtpSession(theirs, base64.b64decode(ours))
    plain = RtpPacket(payload_type=0, sequence_number=7, timestamp=160, ssrc=1, payload=b"\x7f" * 160).serialize()
    sent = panel.protect(plain)
    assert sent != plain and phone.unprotect(sent) == plain
    with pytest.raises(srtp.Error):
        panel.unprotect(plain)          # plain RTP, not authenticated with the phone's key
