"""A call's media transport and audio.

`RtpSession` is one stream's RTP and RTCP (RFC 3550) on UDP: RTP on one socket, RTCP on a
second (announced as a=rtcp) or on the same one when the answer multiplexes (RFC 5761);
SRTP when the answer gave a key (panel/sip/srtp.py). It sends sender reports (and
receiver reports of what it hears, with aiortc's `StreamStatistics`) about once a second
as aiortc does, and tells its stream when the peer asks for a key frame: PLI or FIR
(RFC 4585, 5104) or the older FIR of RFC 2032 that baresip sends to a peer that offered no
rtcp-fb. Packets are aiortc's (`RtpPacket`, `RtcpPacket`).

`AudioStream` is the call's audio: the panel's microphone track (hal/audio.py, so no
device is opened twice) encoded with aiortc's Opus (mono, `PanelOpusEncoder`) or G.711
encoders, the peer's packets decoded into a track the speaker plays, and RFC 4733 key
presses."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import struct
import time
from collections.abc import Callable

import av
from aiortc import clock
from aiortc.codecs.g711 import PcmaDecoder, PcmaEncoder, PcmuDecoder, PcmuEncoder
from aiortc.codecs.opus import OpusDecoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import (RTCP_PSFB_FIR, RTCP_PSFB_PLI, RtcpByePacket, RtcpPacket, RtcpPsfbPacket, RtcpReceiverInfo,
                        RtcpRrPacket, RtcpSdesPacket, RtcpSenderInfo, RtcpSourceInfo, RtcpSrPacket, RtpPacket)

from ..call.encoders import PanelOpusEncoder
from . import sdp, srtp

log = logging.getLogger(__name__)

CODECS = {"opus": (PanelOpusEncoder, OpusDecoder), "PCMU": (PcmuEncoder, PcmuDecoder),
          "PCMA": (PcmaEncoder, PcmaDecoder)}
KEYS = "0123456789*#ABCD"           # RFC 4733 events 0-15
RTCP_FIR_RFC2032 = 192              # H.261's full intra request, libre's rtcp_send_fir


def telephone_event(payload: bytes) -> tuple[str, bool] | None:
    """An RFC 4733 payload as (key, ended); None if it is not a key press."""
    if len(payload) < 4 or payload[0] >= len(KEYS):
        return None
    return KEYS[payload[0]], bool(payload[1] & 0x80)


def is_rtcp(data: bytes) -> bool:
    return len(data) >= 2 and 192 <= data[1] <= 223          # RFC 5761 section 4


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, receive: Callable[[bytes, tuple], None]):
        self.receive = receive
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.receive(data, addr)


class RtpSession:
    """One media stream's RTP and RTCP. Open it (ports for the offer), `connect` it to the
    answer, `send` payloads; `on_rtp` hears the peer's packets (only from the answer's
    host), `on_keyframe_request` its PLI/FIR."""

    def __init__(self):
        self._rtp: _Socket | None = None
        self._rtcp: _Socket | None = None
        self.key = srtp.new_key()           # offered in a=crypto when SRTP is on
        self.ssrc, self._seq = secrets.randbits(32), secrets.randbits(16)
        self.remote: tuple[str, int] | None = None
        self.remote_rtcp: tuple[str, int] | None = None
        self.srtp: srtp.SrtpSession | None = None
        self.on_rtp: Callable[[RtpPacket], None] = lambda packet: None
        self.on_keyframe_request: Callable[[], None] = lambda: None
        self.packets_sent = self.octets_sent = self.packets_received = 0
        self.rtcp_sent = self.rtcp_received = 0
        self.reports_heard = 0              # receiver report blocks about our stream, from the peer
        self.sender_reports_heard = 0
        self.remote_stream: sdp.Stream | None = None
        self.rejected = 0                   # packets that failed SRTP authentication (plain, forged, replayed)
        self._stats: StreamStatistics | None = None
        self._clock_rate = 8000
        self._remote_ssrc: int | None = None
        self._last_rtp_timestamp = self._last_ntp = 0
        self._lsr, self._lsr_at = 0, 0.0    # the middle of the peer's last SR's NTP time, when it came
        self._reporter: asyncio.Task | None = None

    @classmethod
    async def open(cls, host: str) -> "RtpSession":
        self = cls()
        loop = asyncio.get_running_loop()
        _, self._rtp = await loop.create_datagram_endpoint(lambda: _Socket(self._rtp_received), local_addr=(host, 0))
        _, self._rtcp = await loop.create_datagram_endpoint(lambda: _Socket(self._rtcp_received), local_addr=(host, 0))
        return self

    @property
    def port(self) -> int:
        return self._rtp.transport.get_extra_info("sockname")[1]

    @property
    def rtcp_port(self) -> int:
        return self._rtcp.transport.get_extra_info("sockname")[1]

    def local(self) -> sdp.Local:
        return sdp.Local(self.port, self.rtcp_port, self.key)

    def connect(self, stream: sdp.Stream) -> None:
        self.remote_stream = stream
        self.remote, self.remote_rtcp = (stream.address, stream.port), stream.rtcp
        self._clock_rate = stream.clock_rate
        self._stats = StreamStatistics(self._clock_rate)
        if stream.key is not None:
            self.srtp = srtp.SrtpSession(self.key, stream.key)
        if stream.rtcp_mux and self._rtcp is not None:
            self._rtcp.transport.close()
            self._rtcp = None
        self._reporter = asyncio.ensure_future(self._report())

    # -- sending ------------------------------------------------------------------------
    def send(self, payload_type: int, timestamp: int, payload: bytes, marker: int = 0) -> None:
        packet = RtpPacket(payload_type=payload_type, marker=marker, sequence_number=self._seq,
                           timestamp=timestamp & 0xFFFFFFFF, ssrc=self.ssrc, payload=payload)
        self._seq = (self._seq + 1) & 0xFFFF
        data = packet.serialize()
        if self.srtp is not None:
            data = self.srtp.protect(data)
        self._rtp.transport.sendto(data, self.remote)
        self.packets_sent += 1
        self.octets_sent += len(payload)
        self._last_rtp_timestamp, self._last_ntp = packet.timestamp, clock.current_ntp_time()

    def _send_rtcp(self, packets) -> None:
        data = b"".join(bytes(p) for p in packets)
        if self.srtp is not None:
            data = self.srtp.protect_rtcp(data)
        sock = self._rtcp or self._rtp
        if sock is not None and sock.transport is not None and not sock.transport.is_closing():
            sock.transport.sendto(data, self.remote_rtcp)
            self.rtcp_sent += 1

    def _compound(self) -> list:
        """SR (we send) or RR, with a report block on the peer's stream once we hear it, and CNAME."""
        reports = []
        if self._remote_ssrc is not None and self._stats.max_seq is not None:
            s = self._stats
            dlsr = int((time.time() - self._lsr_at) * 65536) if self._lsr_at else 0
            reports.append(RtcpReceiverInfo(ssrc=self._remote_ssrc, fraction_lost=s.fraction_lost,
                                            packets_lost=s.packets_lost, highest_sequence=s.cycles + s.max_seq,
                                            jitter=s.jitter, lsr=self._lsr, dlsr=dlsr if self._lsr else 0))
        if self.packets_sent:
            first = RtcpSrPacket(ssrc=self.ssrc, reports=reports, sender_info=RtcpSenderInfo(
                ntp_timestamp=self._last_ntp, rtp_timestamp=self._last_rtp_timestamp,
                packet_count=self.packets_sent & 0xFFFFFFFF, octet_count=self.octets_sent & 0xFFFFFFFF))
        else:
            first = RtcpRrPacket(ssrc=self.ssrc, reports=reports)
        return [first, RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=self.ssrc, items=[(1, b"panel")])])]

    async def _report(self) -> None:
        while True:
            await asyncio.sleep(0.5 + random.random())       # aiortc's interval, randomized (RFC 3550 6.2)
            self._send_rtcp(self._compound())

    # -- receiving ----------------------------------------------------------------------
    def _from_peer(self, addr) -> bool:
        return self.remote is not None and addr[0] == self.remote[0]

    def _rtp_received(self, data: bytes, addr) -> None:
        if not self._from_peer(addr) or len(data) < 12:
            return                          # not connected yet, or not the answer's host
        if is_rtcp(data):
            self._rtcp_received(data, addr)
            return
        if self.srtp is not None:
            try:
                data = self.srtp.unprotect(data)
            except srtp.Error:
                self.rejected += 1
                return
        try:
            packet = RtpPacket.parse(data)
        except ValueError:
            return
        self.packets_received += 1
        if packet.ssrc != self._remote_ssrc:
            self._remote_ssrc, self._stats = packet.ssrc, StreamStatistics(self._clock_rate)
        self._stats.add(packet)
        self.on_rtp(packet)

    def _rtcp_received(self, data: bytes, addr) -> None:
        if not self._from_peer(addr):
            return
        if self.srtp is not None:
            try:
                data = self.srtp.unprotect_rtcp(data)
            except srtp.Error:
                self.rejected += 1
                return
        self.rtcp_received += 1
        if _has_rfc2032_fir(data):
            self.on_keyframe_request()
        try:
            packets = RtcpPacket.parse(data)
        except ValueError:
            return
        for p in packets:
            if isinstance(p, (RtcpSrPacket, RtcpRrPacket)):
                self.reports_heard += sum(1 for r in p.reports if r.ssrc == self.ssrc)
            if isinstance(p, RtcpSrPacket):
                self.sender_reports_heard += 1
                self._lsr, self._lsr_at = (p.sender_info.ntp_timestamp >> 16) & 0xFFFFFFFF, time.time()
            elif isinstance(p, RtcpPsfbPacket) and p.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
                self.on_keyframe_request()

    def close(self) -> None:
        if self._reporter is not None:
            self._reporter.cancel()
            self._send_rtcp([*self._compound()[:1], RtcpByePacket(sources=[self.ssrc])])
        for sock in (self._rtp, self._rtcp):
            if sock is not None and sock.transport is not None:
                sock.transport.close()


def _has_rfc2032_fir(data: bytes) -> bool:
    """A compound packet holding RFC 2032's FIR (type 192), which aiortc's parser skips."""
    pos = 0
    while pos + 4 <= len(data):
        _, packet_type, length = struct.unpack_from("!BBH", data, pos)
        if packet_type == RTCP_FIR_RFC2032:
            return True
        pos += 4 + 4 * length
    return False


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


class AudioStream:
    def __init__(self, rtp: RtpSession):
        self.rtp = rtp
        self.stream: sdp.Stream | None = None
        self.packets_received = 0           # audio packets of the negotiated codec
        self.last_heard = 0.0               # loop time of the last audio packet (or of start)
        self.track = ReceivedAudio()
        self._decoder = None
        self._sender: asyncio.Task | None = None
        self.video = None                   # the call's VideoStream, if any: closed with this
        self.on_key = lambda key: None
        self._key_at: int | None = None    # the RTP timestamp of the last key press reported

    @classmethod
    async def open(cls, host: str) -> "AudioStream":
        return cls(await RtpSession.open(host))

    @property
    def packets_sent(self) -> int:
        return self.rtp.packets_sent

    @property
    def codec(self) -> str:
        return self.stream.codec if self.stream else ""

    def start(self, stream: sdp.Stream, microphone, speaker, *, on_key=lambda key: None) -> None:
        encoder_cls, decoder_cls = CODECS[stream.codec]
        self.stream, self.on_key = stream, on_key
        self._decoder = decoder_cls()
        self.last_heard = asyncio.get_running_loop().time()
        self.rtp.on_rtp = self._received
        self.rtp.connect(stream)
        speaker.play(self.track)
        self._sender = asyncio.ensure_future(self._send(microphone, encoder_cls()))

    async def _send(self, microphone, encoder) -> None:
        try:
            while True:
                frame = await microphone.recv()
                payloads, timestamp = encoder.encode(frame)
                for payload in payloads:            # Opus buffers: none until a whole 20 ms frame
                    self.rtp.send(self.stream.payload_type, timestamp, payload)
        except MediaStreamError:
            pass
        finally:
            microphone.stop()

    def _received(self, packet: RtpPacket) -> None:
        if packet.payload_type == self.stream.telephone_event:
            self._key_press(packet)
            return
        if packet.payload_type != self.stream.payload_type:
            return                              # comfort noise and the like: not audio
        self.packets_received += 1
        self.last_heard = asyncio.get_running_loop().time()
        try:
            frames = self._decoder.decode(JitterFrame(packet.payload, packet.timestamp))
        except av.FFmpegError:
            return                              # a corrupt packet: the next one decodes
        for frame in frames:
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
        self.rtp.close()
