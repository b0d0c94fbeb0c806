"""A call's audio over plain RTP (RFC 3550, RTP/AVP): the panel's microphone track encoded
with aiortc's G.711 encoders, the peer's packets decoded into a track the speaker plays.
The microphone is the panel's own track (hal/audio.py), so no device is opened twice."""

from __future__ import annotations

import asyncio
import logging
import secrets

from aiortc.codecs.g711 import PcmaDecoder, PcmaEncoder, PcmuDecoder, PcmuEncoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RtpPacket

log = logging.getLogger(__name__)

CODECS = {"PCMU": (PcmuEncoder, PcmuDecoder), "PCMA": (PcmaEncoder, PcmaDecoder)}
KEYS = "0123456789*#ABCD"           # RFC 4733 events 0-15


def telephone_event(payload: bytes) -> tuple[str, bool] | None:
    """An RFC 4733 payload as (key, ended); None if it is not a key press."""
    if len(payload) < 4 or payload[0] >= len(KEYS):
        return None
    return KEYS[payload[0]], bool(payload[1] & 0x80)


class ReceivedAudio(MediaStreamTrack):
    """The peer's decoded audio, as a track for the panel's speaker."""
    kind = "audio"

    def __init__(self):
        super().__init__()
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=50)

    async def recv(self):
        frame = await self.queue.get()
        if frame is None:
            raise MediaStreamError
        return frame


class MediaSocket(asyncio.DatagramProtocol):
    """One media stream's UDP socket on a free port (what the SDP offer names)."""
    socket: asyncio.DatagramTransport | None = None

    @classmethod
    async def open(cls, host: str):
        loop = asyncio.get_running_loop()
        _, stream = await loop.create_datagram_endpoint(cls, local_addr=(host, 0))
        return stream

    @property
    def port(self) -> int:
        return self.socket.get_extra_info("sockname")[1]

    def connection_made(self, transport) -> None:
        self.socket = transport


class AudioStream(MediaSocket):
    def __init__(self):
        self.remote: tuple[str, int] | None = None
        self.payload_type = 0
        self.packets_sent = self.packets_received = 0
        self.last_heard = 0.0               # loop time of the last audio packet (or of start)
        self.track = ReceivedAudio()
        self._decoder = None
        self._sender: asyncio.Task | None = None
        self.video = None                   # the call's VideoStream, if any: closed with this
        self.events_type: int | None = None
        self.on_key = lambda key: None
        self._key_at: int | None = None    # the RTP timestamp of the last key press reported

    def start(self, remote: tuple[str, int], payload_type: int, codec: str, microphone, speaker, *,
              events_type: int | None = None, on_key=lambda key: None) -> None:
        encoder_cls, decoder_cls = CODECS[codec]
        self.remote, self.payload_type = remote, payload_type
        self.events_type, self.on_key = events_type, on_key
        self._decoder = decoder_cls()
        self.last_heard = asyncio.get_running_loop().time()
        speaker.play(self.track)
        self._sender = asyncio.ensure_future(self._send(microphone, encoder_cls()))

    async def _send(self, microphone, encoder) -> None:
        ssrc, seq = secrets.randbits(32), secrets.randbits(16)
        try:
            while True:
                frame = await microphone.recv()
                payloads, timestamp = encoder.encode(frame)
                for payload in payloads:
                    packet = RtpPacket(payload_type=self.payload_type, sequence_number=seq, timestamp=timestamp,
                                       ssrc=ssrc, payload=payload)
                    seq = (seq + 1) & 0xFFFF
                    self.socket.sendto(packet.serialize(), self.remote)
                    self.packets_sent += 1
        except MediaStreamError:
            pass
        finally:
            microphone.stop()

    def datagram_received(self, data: bytes, addr) -> None:
        if self._decoder is None or len(data) < 12 or 192 <= data[1] <= 223:
            return                              # not started yet, or RTCP on the same port
        if addr[0] != self.remote[0]:
            return                              # only the answer's host speaks into the panel's speaker
        try:
            packet = RtpPacket.parse(data)
        except ValueError:
            return
        if packet.payload_type == self.events_type and packet.payload_type is not None:
            self._key_press(packet)
            return
        if packet.payload_type != self.payload_type:
            return                              # comfort noise and the like: not audio
        self.packets_received += 1
        self.last_heard = asyncio.get_running_loop().time()
        for frame in self._decoder.decode(JitterFrame(packet.payload, packet.timestamp)):
            if not self.track.queue.full():
                self.track.queue.put_nowait(frame)

    def _key_press(self, packet: RtpPacket) -> None:
        """One key per event: its end packet (sent three times) counts once, by timestamp."""
        event = telephone_event(packet.payload)
        if event is not None and event[1] and packet.timestamp != self._key_at:
            self._key_at = packet.timestamp
            self.on_key(event[0])

    def close(self) -> None:
        if self.video is not None:
            self.video.close()
        if self._sender is not None:
            self._sender.cancel()
        if not self.track.queue.full():
            self.track.queue.put_nowait(None)
        if self.socket is not None:
            self.socket.close()
