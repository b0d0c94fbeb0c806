"""SDP offer/answer (RFC 3264, 4566) for the panel's calls.

The panel offers, the resident's phone answers. Audio: Opus, then PCMU and PCMA, with
RFC 4733 telephone-events; video (sent only: the panel shows no video of the resident):
H.264 (packetization-mode 1, what aiortc's packetizer writes), then VP8. Each stream
offers RTCP on its own port (`a=rtcp`, RFC 3605) and RTP/RTCP multiplexing (`a=rtcp-mux`,
RFC 5761), and video feedback (`a=rtcp-fb`, RFC 4585: PLI, FIR) in RTP/AVP as baresip and
Linphone do, so a phone without AVPF still answers. SRTP keys by SDES (`a=crypto`, RFC
4568): "optional" offers them in RTP/AVP (used when the answer has them), "required" in
RTP/SAVP. The codec used is the answer's first one the panel offered."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from . import srtp


@dataclass(frozen=True)
class Codec:
    payload_type: int
    name: str
    clock_rate: int
    channels: int = 1
    fmtp: str = ""

    @property
    def rtpmap(self) -> str:
        return f"{self.name}/{self.clock_rate}" + (f"/{self.channels}" if self.channels > 1 else "")


OPUS = Codec(111, "opus", 48000, 2, "minptime=10;useinbandfec=1")      # RFC 7587: always /48000/2
PCMU, PCMA = Codec(0, "PCMU", 8000), Codec(8, "PCMA", 8000)
H264 = Codec(97, "H264", 90000, fmtp="profile-level-id=42e01f;packetization-mode=1")   # aiortc: Baseline 3.1
VP8 = Codec(96, "VP8", 90000)
AUDIO_CODECS = (OPUS, PCMU, PCMA)          # the panel's preference
VIDEO_CODECS = (H264, VP8)
TELEPHONE_EVENT = 101
VIDEO_FEEDBACK = ("nack", "nack pli", "ccm fir")
SRTP_MODES = ("off", "optional", "required")


@dataclass(frozen=True)
class Local:
    """One stream of the panel's offer: its RTP and RTCP ports, its SRTP key line if any."""
    port: int
    rtcp_port: int
    key: str = ""               # srtp.new_key(): base64 key and salt, offered as a=crypto


def offer(address: str, audio: Local, video: Local | None = None, srtp_mode: str = "off") -> str:
    session = secrets.randbelow(1 << 31)
    lines = ["v=0", f"o=panel {session} {session} IN IP4 {address}", "s=entry panel", f"c=IN IP4 {address}", "t=0 0"]
    profile = "RTP/SAVP" if srtp_mode == "required" else "RTP/AVP"
    lines += _media("audio", audio, profile, AUDIO_CODECS, srtp_mode, "sendrecv",
                    [f"a=rtpmap:{TELEPHONE_EVENT} telephone-event/8000", f"a=fmtp:{TELEPHONE_EVENT} 0-16",
                     "a=ptime:20"], [TELEPHONE_EVENT])
    if video is not None:
        lines += _media("video", video, profile, VIDEO_CODECS, srtp_mode, "sendonly",
                        [f"a=rtcp-fb:* {fb}" for fb in VIDEO_FEEDBACK])
    return "\r\n".join(lines) + "\r\n"


def _media(kind: str, local: Local, profile: str, codecs, srtp_mode: str, direction: str, extra: list[str],
           more_pts: list[int] = ()) -> list[str]:
    pts = " ".join(str(pt) for pt in [c.payload_type for c in codecs] + list(more_pts))
    lines = [f"m={kind} {local.port} {profile} {pts}"]
    for c in codecs:
        lines.append(f"a=rtpmap:{c.payload_type} {c.rtpmap}")
        if c.fmtp:
            lines.append(f"a=fmtp:{c.payload_type} {c.fmtp}")
    lines += extra
    lines += [f"a=rtcp:{local.rtcp_port}", "a=rtcp-mux"]
    if srtp_mode != "off":
        lines.append(f"a=crypto:1 {srtp.SUITE} inline:{local.key}")
    lines.append(f"a={direction}")
    return lines


@dataclass(frozen=True)
class Stream:
    """One stream as the answer accepted it: where to send, the codec, and how."""
    address: str
    port: int
    payload_type: int
    codec: str                  # "opus", "PCMU", "PCMA", "H264", "VP8"
    rtcp: tuple[str, int]       # where RTCP goes (the RTP port itself with rtcp-mux)
    rtcp_mux: bool = False
    feedback: frozenset[str] = frozenset()      # a=rtcp-fb values for this codec ("nack pli", "ccm fir" ...)
    key: bytes | None = None    # the peer's SRTP master key and salt (its a=crypto), None: plain RTP
    telephone_event: int | None = None          # audio: the payload type of RFC 4733 key presses, if accepted

    @property
    def clock_rate(self) -> int:
        return next(c.clock_rate for c in AUDIO_CODECS + VIDEO_CODECS if c.name == self.codec)

    @property
    def requests_keyframes(self) -> bool:
        """The peer says it asks for key frames (PLI or FIR) when it needs one."""
        return bool(self.feedback & {"nack pli", "ccm fir"})


@dataclass(frozen=True)
class Answer:
    audio: Stream
    video: Stream | None = None


@dataclass
class _Section:
    kind: str
    port: int
    profile: str
    pts: list[int]
    address: str = ""
    rtpmap: dict[int, str] = field(default_factory=dict)      # pt -> "name/rate[/channels]"
    fmtp: dict[int, str] = field(default_factory=dict)
    attributes: list[tuple[str, str]] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        return [v for n, v in self.attributes if n == name]


def parse_answer(text: str, srtp_mode: str = "off") -> Answer:
    """The media the peer accepted; ValueError naming what is missing. A stream's address
    is its own c= line if it has one, else the session's (RFC 4566 5.7)."""
    session_address, sections = "", []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("m="):
            fields = line[2:].split()
            if len(fields) < 3 or not fields[1].isdigit():
                raise ValueError(f"the answer has a malformed media line: {line!r}")
            sections.append(_Section(fields[0], int(fields[1]), fields[2], [int(p) for p in fields[3:] if p.isdigit()]))
        elif line.startswith("c="):
            if sections:
                sections[-1].address = line.split()[-1]
            else:
                session_address = line.split()[-1]
        elif line.startswith("a=") and sections:
            name, _, value = line[2:].partition(":")
            s = sections[-1]
            if name in ("rtpmap", "fmtp"):
                pt, _, rest = value.partition(" ")
                if pt.isdigit():
                    getattr(s, name)[int(pt)] = rest.strip()
            else:
                s.attributes.append((name, value.strip()))
    audio = next((s for s in sections if s.kind == "audio"), None)
    video = next((s for s in sections if s.kind == "video"), None)
    if audio is None:
        raise ValueError("the answer has no audio stream")
    if audio.port == 0:
        raise ValueError("the peer refused the audio stream (port 0)")
    accepted_audio = _stream(audio, AUDIO_CODECS, session_address, srtp_mode)
    if accepted_audio is None:
        raise ValueError(f"no common audio codec: the peer answered payload types {audio.pts}, "
                         f"the panel offers {', '.join(c.name for c in AUDIO_CODECS)}")
    accepted_video = None
    if video is not None and video.port != 0:
        accepted_video = _stream(video, VIDEO_CODECS, session_address, srtp_mode)
    return Answer(accepted_audio, accepted_video)


def _codec_of(section: _Section, pt: int, ours) -> Codec | None:
    """Which of our codecs the answer's payload type is: by its rtpmap, else by static number."""
    rtpmap = section.rtpmap.get(pt)
    for c in ours:
        if rtpmap is None and pt == c.payload_type and pt < 96:
            return c
        if rtpmap is not None and rtpmap.split("/")[0].lower() == c.name.lower():
            if c.name == "H264" and _fmtp_value(section.fmtp.get(pt, ""), "packetization-mode") != "1":
                continue            # aiortc packetizes FU-A/STAP-A: mode 1 only
            return c
    return None


def _fmtp_value(fmtp: str, key: str) -> str:
    for item in fmtp.split(";"):
        k, _, v = item.strip().partition("=")
        if k.lower() == key:
            return v.strip()
    return ""


def _stream(section: _Section, ours, session_address: str, srtp_mode: str) -> Stream | None:
    chosen = next(((pt, c) for pt in section.pts if (c := _codec_of(section, pt, ours)) is not None), None)
    if chosen is None:
        return None
    pt, codec = chosen
    address = section.address or session_address
    if not address:
        raise ValueError("the answer has no connection address (c=)")
    mux = any(n == "rtcp-mux" for n, _ in section.attributes)
    rtcp = (address, section.port) if mux else _rtcp_address(section, address)
    feedback = frozenset(v.partition(" ")[2].strip() for v in section.values("rtcp-fb")
                         if v.partition(" ")[0] in ("*", str(pt)))
    key = None
    crypto = section.values("crypto")
    if crypto:
        key = srtp.parse_crypto(crypto)
    elif srtp_mode == "required" or section.profile.startswith("RTP/SAVP"):
        raise ValueError(f"the peer did not accept SRTP for {section.kind} (no a=crypto in the answer)")
    events = None
    for ept, rtpmap in section.rtpmap.items():
        if rtpmap.lower().startswith("telephone-event/") and ept in section.pts:
            events = ept
    return Stream(address, section.port, pt, codec.name, rtcp, mux, feedback, key, events)


def _rtcp_address(section: _Section, address: str) -> tuple[str, int]:
    """RFC 3605's a=rtcp (port, and address if given), else RTP's port + 1 (RFC 3550)."""
    for value in section.values("rtcp"):
        fields = value.split()
        if fields and fields[0].isdigit():
            return (fields[3] if len(fields) >= 4 else address, int(fields[0]))
    return address, section.port + 1
