"""A resident's device in Python (aiortc): for scripts, load tests and call tests.

Speaks the device side of docs/signaling.md: signs in to the dev cloud, rings,
accepts or declines, answers the panel's media offer with a microphone tone,
counts the video and audio it receives, and presses the buttons a resident has.

Its media is a stock aiortc peer: aiortc's encoders and, unless told otherwise,
aiortc's ICE gathering. On one machine aioice offers no loopback candidate, so tests
and scripts pass `ice_addresses=["127.0.0.1"]`, which restricts this softphone's own
connections (panel/call/peer.py) and nothing else: nothing is inherited from a panel
running in the same process.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable

import aiohttp
from aiortc import RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from hal.audio import ToneTrack
from panel.call.peer import PeerConnection

log = logging.getLogger(__name__)


class Softphone:
    def __init__(self, url: str, device: str = "softphone", *, ice_addresses: Iterable[str] = ()):
        self.url, self.device = url, device
        self.ice_addresses = tuple(ice_addresses)
        self.messages: asyncio.Queue[dict] = asyncio.Queue()
        self.seen: list[dict] = []
        self.pc: PeerConnection | None = None
        self.video_frames = 0
        self.audio_frames = 0
        self.first_frame = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task | None = None
        self._consumers: list[asyncio.Task] = []
        self._closing: asyncio.Future | None = None

    async def connect(self) -> dict:
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(self.url)
        self._reader = asyncio.ensure_future(self._read())
        return await self.expect("hello")

    async def close(self) -> None:
        """Like closing the app: the socket goes, media stops."""
        await self._close_media()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.wait([self._reader], timeout=2)
        if self._session is not None:
            await self._session.close()

    async def _read(self) -> None:
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            m = json.loads(msg.data)
            self.seen.append(m)
            if m.get("type") == "offer":
                await self._answer(m)
            elif m.get("type") == "ended":
                self._closing = asyncio.ensure_future(self._close_media())    # keep reading meanwhile
            await self.messages.put(m)
        await self.messages.put({"type": "closed"})

    async def expect(self, kind: str, timeout: float = 10.0) -> dict:
        """The next message of this type (others before it are skipped)."""
        async def wait():
            while True:
                m = await self.messages.get()
                if m["type"] == kind:
                    return m
                if m["type"] == "closed":
                    raise ConnectionError(f"socket closed while waiting for {kind!r}")
        return await asyncio.wait_for(wait(), timeout)

    async def send(self, message: dict) -> None:
        await self._ws.send_json(message)

    async def accept(self, call_id: str) -> None:
        await self.send({"type": "accept", "call_id": call_id})

    async def decline(self, call_id: str) -> None:
        await self.send({"type": "decline", "call_id": call_id})

    async def hangup(self, call_id: str) -> None:
        await self.send({"type": "hangup", "call_id": call_id})
        await self._close_media()

    async def open_door(self, call_id: str = "") -> dict:
        await self.send({"type": "open_door", "call_id": call_id})
        return await self.expect("door")

    async def remote_unlock(self) -> dict:
        await self.send({"type": "remote_unlock"})
        return await self.expect("door")

    async def video(self, on: bool, call_id: str) -> None:
        await self.send({"type": "control", "call_id": call_id, "video": on})

    def drop_network(self) -> None:
        """The phone loses its network mid-call: media packets stop both ways, with no
        goodbye of any kind (no hang-up, no DTLS close), as when Wi-Fi goes away."""
        for t in self.pc.getTransceivers():
            connection = t.receiver.transport.transport._connection      # aioice, under aiortc
            for protocol in connection._protocols:
                protocol.datagram_received = lambda data, addr: None
                protocol.send_stun = lambda message, addr: None           # every way out of it
                protocol.send_data = _send_nothing

    # -- media ------------------------------------------------------------------------------
    async def _answer(self, m: dict) -> None:
        await self._close_media()
        self.pc = pc = PeerConnection(ice_addresses=self.ice_addresses)     # aiortc's encoders
        tone = ToneTrack(frequency=660)

        @pc.on("track")
        def on_track(track):
            self._consumers.append(asyncio.ensure_future(self._consume(track)))

        await pc.setRemoteDescription(RTCSessionDescription(sdp=m["sdp"], type="offer"))
        pc.addTrack(tone)       # takes the offered audio transceiver: send and receive
        await pc.setLocalDescription(await pc.createAnswer())
        await self.send({"type": "answer", "call_id": m["call_id"], "sdp": pc.localDescription.sdp})

    async def _consume(self, track) -> None:
        try:
            while True:
                await track.recv()
                if track.kind == "video":
                    self.video_frames += 1
                    self.first_frame.set()
                else:
                    self.audio_frames += 1
        except MediaStreamError:
            pass

    async def _close_media(self) -> None:
        for task in self._consumers:
            task.cancel()
        self._consumers.clear()
        if self.pc is not None:
            pc, self.pc = self.pc, None
            await pc.close()


async def _send_nothing(data: bytes, addr) -> None:
    """aioice's StunProtocol.send_data, on a network that is gone."""
