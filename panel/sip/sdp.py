"""SDP offer/answer (RFC 3264, 4566) for the panel's calls: G.711 audio (PCMU, PCMA) and
RFC 4733 telephone-events offered; the answer's address, port and first common codec."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

AUDIO_CODECS = {0: "PCMU", 8: "PCMA"}          # static payload types, 8000 Hz
TELEPHONE_EVENT = 101


def offer(address: str, port: int) -> str:
    session = secrets.randbelow(1 << 31)
    pts = " ".join(str(pt) for pt in (*AUDIO_CODECS, TELEPHONE_EVENT))
    lines = ["v=0", f"o=panel {session} {session} IN IP4 {address}", "s=entry panel", f"c=IN IP4 {address}",
             "t=0 0", f"m=audio {port} RTP/AVP {pts}",
             *(f"a=rtpmap:{pt} {name}/8000" for pt, name in AUDIO_CODECS.items()),
             f"a=rtpmap:{TELEPHONE_EVENT} telephone-event/8000", f"a=fmtp:{TELEPHONE_EVENT} 0-16",
             "a=ptime:20", "a=sendrecv"]
    return "\r\n".join(lines) + "\r\n"


@dataclass(frozen=True)
class Answer:
    address: str
    port: int
    payload_type: int
    codec: str                  # "PCMU" or "PCMA"
    telephone_event: int | None = None      # the payload type of RFC 4733 key presses, if accepted


def parse_answer(text: str) -> Answer:
    """The media the peer accepted; ValueError naming what is missing. The audio stream's
    address is its own c= line if it has one, else the session's (RFC 4566 5.7)."""
    session_address, audio, audio_address, section = "", None, "", "session"
    events = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("m="):
            section = "audio" if line.startswith("m=audio ") and audio is None else "other"
            if section == "audio":
                fields = line.split()
                audio = (int(fields[1]), [int(pt) for pt in fields[3:] if pt.isdigit()])
        elif line.startswith("c="):
            if section == "session":
                session_address = line.split()[-1]
            elif section == "audio":
                audio_address = line.split()[-1]
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
    return Answer(address, port, common[0], AUDIO_CODECS[common[0]], events if events in pts else None)
