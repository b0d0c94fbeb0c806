"""Settings per peer connection (panel/call/peer.py): the panel's encoders and ICE
restriction apply to the connection made with them, and a stock aiortc
RTCPeerConnection beside it in the same process stays aiortc's own. No network: the
peers gather (bind sockets) and encode first frames, nothing is sent."""

from __future__ import annotations

import aioice
from aiortc import RTCConfiguration, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from aiortc.rtcrtpsender import RTCRtpSender

from panel.call import encoders, ice
from panel.call.peer import PeerConnection
from tests.support import (assert_aiortc_and_aioice_unpatched, assert_stock, first_encoders, local_hosts,
                           stock_aiortc_peer)

NO_STUN = RTCConfiguration(iceServers=[])


def panel_peer(**settings) -> PeerConnection:
    pc = PeerConnection(NO_STUN, **settings)
    pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
    pc.addTransceiver(AudioStreamTrack(), direction="sendrecv")
    return pc


def gatherers(pc):
    return [t.receiver.transport.transport.iceGatherer for t in pc.getTransceivers()]


async def test_a_panel_peer_and_a_stock_peer_side_by_side():
    panel = panel_peer(ice_addresses=["127.0.0.1"], max_video_kbps=800)
    try:
        await panel.setLocalDescription(await panel.createOffer())
        stock = await stock_aiortc_peer()            # made while the panel's peer is live
        assert local_hosts(panel) == {"127.0.0.1"}
        offered = [x for x in panel.localDescription.sdp.split("\r\n") if x.startswith("a=candidate:")]
        assert offered and all(x.split()[4] == "127.0.0.1" for x in offered)
        assert all(ice.allowed(g) == {"127.0.0.1"} for g in gatherers(panel))
        assert {type(s) for s in panel.getSenders()} == {encoders.PanelRtpSender}
        ours = await first_encoders(panel)
        assert isinstance(ours["video"], encoders.PanelVp8Encoder) and ours["video"].max_bitrate == 800_000
        assert ours["video"].target_bitrate <= 800_000
        assert isinstance(ours["audio"], encoders.PanelOpusEncoder) and ours["audio"].codec.bit_rate == 32_000
    finally:
        await panel.close()
    assert_stock(stock)
    assert_aiortc_and_aioice_unpatched()


async def test_restricting_ice_alone_keeps_aiortcs_encoders():
    """What the softphone asks for on loopback: its own ICE restriction, aiortc's encoders."""
    pc = panel_peer(ice_addresses=["127.0.0.1"])
    try:
        await pc.setLocalDescription(await pc.createOffer())
        assert local_hosts(pc) == {"127.0.0.1"}
        assert {type(s) for s in pc.getSenders()} == {RTCRtpSender}
        assert {type(e).__name__ for e in (await first_encoders(pc)).values()} == {"Vp8Encoder", "OpusEncoder"}
    finally:
        await pc.close()


async def test_no_settings_is_aiortcs_peer():
    pc = panel_peer()
    try:
        await pc.setLocalDescription(await pc.createOffer())
        assert all(type(g._connection) is aioice.Connection for g in gatherers(pc))
        assert {type(s) for s in pc.getSenders()} == {RTCRtpSender}
    finally:
        await pc.close()


async def test_an_answering_peer_is_restricted_before_the_offers_candidates_arrive():
    """The answerer's transports are born in setRemoteDescription, which adds the offer's
    candidates at once: only the allowed ones get in."""
    offerer = panel_peer(ice_addresses=["127.0.0.1"])
    answerer = PeerConnection(NO_STUN, ice_addresses=["127.0.0.1"])
    try:
        await offerer.setLocalDescription(await offerer.createOffer())
        sdp = offerer.localDescription.sdp
        line = next(x for x in sdp.split("\r\n") if x.startswith("a=candidate:"))
        lan = line.replace("127.0.0.1", "192.0.2.77").replace(line.split()[0], "a=candidate:99")
        sdp = sdp.replace(line, f"{line}\r\n{lan}")
        await answerer.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        remote = {c.ip for t in answerer.getTransceivers()
                  for c in t.receiver.transport.transport.getRemoteCandidates()}
        assert remote == {"127.0.0.1"}
        await answerer.setLocalDescription(await answerer.createAnswer())
        assert local_hosts(answerer) == {"127.0.0.1"}
    finally:
        await offerer.close()
        await answerer.close()


class _Protocol:
    def __init__(self):
        self.sent = []

    def send_stun(self, message, addr):
        self.sent.append(addr)


async def test_checks_from_other_addresses_get_no_answer():
    from aioice import stun

    pc = panel_peer(ice_addresses=["127.0.0.1"])
    try:
        [connection, *_] = [g._connection for g in gatherers(pc)]
        connection.remote_username, connection.remote_password = "abcd", "x" * 22
        request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
        request.attributes["USERNAME"] = f"{connection.local_username}:abcd"
        protocol = _Protocol()
        connection.request_received(request, ("192.0.2.9", 5000), protocol)
        assert protocol.sent == []                    # dropped before aioice sees it
        connection.request_received(request, ("127.0.0.1", 5000), protocol)
        assert protocol.sent == [("127.0.0.1", 5000)]     # aioice answers (an error: no integrity)
    finally:
        await pc.close()


def test_aiortcs_sender_still_makes_its_encoder_where_panel_rtp_sender_takes_over():
    """PanelRtpSender._next_encoded_frame is aiortc 1.16's but for two calls: if a new
    aiortc changes that method, this says so (compare, then update ours)."""
    import inspect

    source = inspect.getsource(RTCRtpSender._next_encoded_frame)
    for line in ("data = await self.__track.recv()", "if not self._enabled:",
                 "self.__encoder = get_encoder(codec)", "audio_level = rtp.compute_audio_level_dbov(data)",
                 "force_keyframe = self.__force_keyframe", "self.__encoder.encode, data, force_keyframe",
                 "payloads, timestamp = self.__encoder.pack(data)",
                 "return RTCEncodedFrame(payloads, timestamp, audio_level)"):
        assert line in source, line
    assert source.count("\n") < 40, "aiortc's method grew: compare it with PanelRtpSender's"
