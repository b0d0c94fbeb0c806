"""An aiortc RTCPeerConnection with settings of its own: ICE restricted to given
addresses (`ice.restrict`) and, for the panel, the panel's encoders (`encoders.use`).

The settings belong to the one connection. aiortc creates the objects they apply to
itself: every RTCIceGatherer in `RTCPeerConnection.__createDtlsTransport` and every
RTCRtpSender in `RTCPeerConnection.__createTransceiver`, whichever public call led
there (addTransceiver, addTrack, createDataChannel, or a remote offer in
setRemoteDescription, which adds the offer's candidates at once). Those two private
methods are the one place each object is born, so this subclass overrides them (by
their mangled names), lets aiortc build the object, and configures it before it is
returned: before any candidate is gathered or added and before any frame is encoded.
Nothing outside the connection changes; a stock RTCPeerConnection in the same process
gathers and encodes as aiortc does.

The panel's calls use `PeerConnection(config, ice_addresses=..., max_video_kbps=...)`
(panel/call/session.py); the Python softphone only restricts ICE, with aiortc's
encoders, when a test or script asks it to (panel/sim/softphone.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from aiortc import RTCConfiguration, RTCPeerConnection

from . import encoders, ice

_CREATE_DTLS_TRANSPORT = "_RTCPeerConnection__createDtlsTransport"
_CREATE_TRANSCEIVER = "_RTCPeerConnection__createTransceiver"
for _name in (_CREATE_DTLS_TRANSPORT, _CREATE_TRANSCEIVER):
    if not callable(getattr(RTCPeerConnection, _name, None)):      # a new aiortc moved them: say so
        raise ImportError(f"panel.call.peer: aiortc's RTCPeerConnection has no {_name} any more")


class PeerConnection(RTCPeerConnection):
    """`ice_addresses`: local candidates only on these, remote candidates and checks only
    from these (empty: aiortc's gathering). `max_video_kbps`: the panel's encoders with
    this video ceiling (None: aiortc's encoders)."""

    def __init__(self, configuration: RTCConfiguration | None = None, *,
                 ice_addresses: Iterable[str] = (), max_video_kbps: int | None = None) -> None:
        self.ice_addresses = tuple(ice_addresses)
        self.max_video_kbps = max_video_kbps
        super().__init__(configuration)

    def _RTCPeerConnection__createDtlsTransport(self):
        dtls_transport = super()._RTCPeerConnection__createDtlsTransport()
        if self.ice_addresses:
            ice.restrict(dtls_transport.transport.iceGatherer, self.ice_addresses)
        return dtls_transport

    def _RTCPeerConnection__createTransceiver(self, *args, **kwargs):
        transceiver = super()._RTCPeerConnection__createTransceiver(*args, **kwargs)
        if self.max_video_kbps is not None:
            encoders.use(transceiver.sender, self.max_video_kbps)
        return transceiver
