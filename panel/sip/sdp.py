"""SDP offer/answer (RFC 3264, 4566) for the panel's calls: G.711 audio (PCMU, PCMA) with
RFC 4733 telephone-events, and VP8 video from the panel camera (sent only: the panel
shows no video of the resident); the answer's address, port and codec for each."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

AUDIO_CODECS = {0: "PCMU", 8: "PCMA"}          # static payload types, 8000 Hz
TELEPHONE_EVENT = 101
VP8 = 96


def offer(address: str, port: int, video_port: int | None = None) -> str:
    session = secrets.randbelow(1 << 31)
    pts = " ".join(str(pt) for pt in (*AUDIO_CODECS, TELEPHONE_EVENT))
    lines = ["v=0", f"o=panel {session} {session} IN IP4 {address}", "s=entry panel", f"c=IN IP4 {address}",
             "t=0 0", f"m=audio {port} RTP/AVP {pts}",
             *(f"a=rtpmap:{pt} {name}/8000" for pt, name in AUDIO_CODECS.items()),
             f"a=rtpmap:{TELEPHONE_EVENT} telephone-event/8000", f"a=fmtp:{TELEPHONE_EVENT} 0-16",
             "a=ptime:20", "a=sendrecv"]
    if video_port is not None:
        lines += [f"m=video {video_port} RTP/AVP {VP8}", f"a=rtpmap:{VP8} VP8/90000", "a=sendonly"]
    return "\r\n".join(lines) + "\r\n"


@dataclass(frozen=True)
class Answer:
    address: str
    port: int
    payload_type: int
    codec: str                  # "PCMU" or "PCMA"
    telephone_event: int | None = None      # the payload type of RFC 4733 key presses, if accepted
    video: tuple[str, int, int] | None = None   # (address, port, VP8 payload type) if video was accepted


def parse_answer(text: str) -> Answer:
    """The media the peer accepted; ValueError naming what is missing. The audio stream's
    address is its own c= line if it has one, else the session's (RFC 4566 5.7)."""
    session_address, audio, audio_address, section = "", None, "", "session"
    events = None
    video, video_address, video_vp8 = None, "", None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("m="):
            fields = line.split()
            section = "audio" if line.startswith("m=audio ") and audio is None else (
                "video" if line.startswith("m=video ") and video is None else "other")
            if section == "audio":
                audio = (int(fields[1]), [int(pt) for pt in fields[3:] if pt.isdigit()])
            elif section == "video":
                video = (int(fields[1]), [int(pt) for pt in fields[3:] if pt.isdigit()])
        elif line.startswith("c="):
            if section == "session":
                session_address = line.split()[-1]
            elif section == "audio":
                audio_address = line.split()[-1]
            elif section == "video":
                video_address = line.split()[-1]
        elif section == "video" and line.lower().startswith("a=rtpmap:") and " vp8/90000" in line.lower():
            pt = line[len("a=rtpmap:"):].split()[0]
            video_vp8 = int(pt) if pt.isdigit() else None
        elif section == "audio" and line.lower().startswith("a=rtpmap:") and "telephone-event/8000" in line.lower():
            pt = line[len("a=rtpmap:"):].split()[0]
            events = int(pt) if pt.isdigit() else None
    if audio is None:
        raise ValueError("the answer has no audio stream")
    port, pts = audio
    if port == 0:
        raise ValueError("the peer refused the audio stream (port 0)")
    common = [pt for pt in pts if pt in AUDIO_CODECS]
    if not common:
        raise ValueError(f"no common audio codec: the peer answered payload types {pts}, the panel offers PCMU, PCMA")
    address = audio_address or session_address
    if not address:
        raise ValueError("the answer has no connection address (c=)")
    accepted_video = None
    if video is not None and video[0] != 0 and video_vp8 in video[1] and (video_address or session_address):
        accepted_video = (video_address or session_address, video[0], video_vp8)
    return Answer(address, port, common[0], AUDIO_CODECS[common[0]], events if events in pts else None,
                  accepted_video)
