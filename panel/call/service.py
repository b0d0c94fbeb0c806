"""Calls from the panel's point of view: the glue between the core's effects, the
cloud signaling and the media session. Protocol: docs/signaling.md.

Everything here runs on the event-loop thread. What the cloud says (`on_message`,
`on_link`, routed here by the app) becomes a core event (`dispatch`); what the core
decides (StartCall, StopCall) comes in through `start_call` / `stop_call`.

`ice_addresses` and `max_video_kbps` (`[call]` in the config) go to each call's peer
connection (panel/call/peer.py) and nowhere else in the process.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable

from .. import memory
from ..store.snapshot import bounded_jpeg
from ..core import effects as fx
from ..core import events as ev
from .encoders import DEFAULT_MAX_VIDEO_KBPS
from .session import CallSession
from .signaling import SignalingClient

log = logging.getLogger(__name__)

# The visitor's picture sent with the ring, for the resident's incoming-call screen:
# small, as every ringing device gets it (a phone's notification shows it too).
RING_SNAPSHOT = {"max_side": 320, "quality": 70, "max_bytes": 20_000}


class CallService:
    # The fields read from each type of message from the cloud, and their types (see
    # signaling.check; the cloud link checks them before on_message).
    FIELDS = {
        "ringing": {"call_id": str, "via": str},
        "call_failed": {"call_id": str, "reason": str},
        "declined": {"call_id": str, "device": str},
        "accepted": {"call_id": str, "device": str},
        "answer": {"call_id": str, "sdp": str},
        "hangup": {"call_id": str, "device": str, "reason": str},
        "control": {"call_id": str, "device": str, "video": bool, "muted": bool},
        "open_door": {"call_id": str, "device": str, "resident_id": str, "who": str},
        "remote_unlock": {"device": str, "resident_id": str, "who": str},
    }

    def __init__(self, *, signaling: SignalingClient, door_name: str, camera, fps: float,
                 open_microphone: Callable[[], object], speaker, ice_servers: list[str], video_codecs: list[str],
                 dispatch: Callable[[ev.Event], list[fx.Effect]],
                 may_unlock: Callable[[str, str], bool],
                 ice_addresses: list[str] | tuple[str, ...] = (), max_video_kbps: int = DEFAULT_MAX_VIDEO_KBPS,
                 door: str = ""):
        self.door_name = door_name      # the building, as the panel's home screen names it
        self.door = door                # the door this panel guards, as residents know it ("Main entrance")
        self.camera, self.fps = camera, fps
        self.open_microphone, self.speaker = open_microphone, speaker
        self.ice_servers, self.video_codecs = ice_servers, video_codecs
        self.ice_addresses, self.max_video_kbps = tuple(ice_addresses), max_video_kbps
        self.dispatch = dispatch
        self.may_unlock = may_unlock            # (resident_id, device) -> allowed to open without a call
        self.signaling = signaling
        self.session: CallSession | None = None
        self.calls_started = 0
        self._tasks: set[asyncio.Task] = set()
        self._rings: dict[str, asyncio.Task] = {}       # call id -> its ring, being sent

    # -- from the core ------------------------------------------------------------------
    def start_call(self, call_id: str, resident_id: str, target: str = "app", phone: str = "") -> None:
        """Ring the resident's app (target "app"), or have the cloud call their phone number."""
        self.calls_started += 1
        extra = {"target": "phone", "phone": phone} if target == "phone" else {"target": "app"}
        task = self._spawn(self._ring(call_id, resident_id, extra))
        self._rings[call_id] = task
        task.add_done_callback(lambda _: self._rings.pop(call_id, None))

    async def _ring(self, call_id: str, resident_id: str, extra: dict) -> None:
        message = {"type": "call", "call_id": call_id, "resident_id": resident_id, "from": self.door_name,
                   "door": self.door, **extra}
        frame = getattr(self.camera, "latest", None)
        if frame is not None:
            jpeg = await asyncio.to_thread(bounded_jpeg, frame, **RING_SNAPSHOT)
            if jpeg:
                message["snapshot"] = base64.b64encode(jpeg).decode()
        if not await self.signaling.send(message):
            self.dispatch(ev.CallFailed(call_id, "unavailable"))

    def stop_call(self, call_id: str, reason: str) -> None:
        in_call = self.session is not None and self.session.call_id == call_id
        # After the ring, never before it: a cancel that overtook its call would leave the phones ringing.
        self._send({"type": "hangup" if in_call else "cancel", "call_id": call_id, "reason": reason},
                   after=self._rings.get(call_id))
        self._end_session(call_id)

    async def close(self) -> None:
        """Shutdown: hang up a call in progress and close its media."""
        if self.session is not None:
            await self.signaling.send({"type": "hangup", "call_id": self.session.call_id, "reason": "shutdown"})
            await self.session.close()
            self.session = None
        for task in list(self._tasks):
            task.cancel()

    # -- from the cloud -------------------------------------------------------------------
    def on_link(self, up: bool) -> None:
        if not up and self.session is not None:
            # Media may well survive a signaling blip, but nobody could hang up or open
            # the door any more: end the call cleanly instead.
            call_id = self.session.call_id
            self._end_session(call_id)
            self.dispatch(ev.CallEnded(call_id, "network"))
        self.dispatch(ev.CloudLink(up))

    def on_message(self, m: dict) -> None:
        kind, call_id = m.get("type"), str(m.get("call_id", ""))
        if kind == "ringing":
            self.dispatch(ev.CallRinging(call_id, "phone" if m.get("via") == "phone" else "app"))
        elif kind == "call_failed":
            self.dispatch(ev.CallFailed(call_id, str(m.get("reason", "unavailable"))))
        elif kind == "declined":
            self.dispatch(ev.CallDeclined(call_id))
        elif kind == "accepted":
            self._accepted(call_id, str(m.get("device", "")))
        elif kind == "answer":
            if self.session is not None and self.session.call_id == call_id and isinstance(m.get("sdp"), str):
                self._spawn(self._set_answer(self.session, m["sdp"]))
        elif kind == "hangup":
            if self._in_media(call_id) and not self._holds_call(call_id, m):
                # Only the device in the call may end it; another's hangup is a forgery or stale.
                self.signaling.complain("hangup", "cloud sent a hangup for call %s from a device not in it; ignored",
                                        call_id)
                return
            self._end_session(call_id)
            self.dispatch(ev.CallEnded(call_id, str(m.get("reason", "hung_up"))))
        elif kind == "control":
            if self._holds_call(call_id, m) and isinstance(m.get("video"), bool):
                self.session.set_video(m["video"])
        elif kind == "open_door":
            self._open_door(call_id, m)
        elif kind == "remote_unlock":
            self._remote_unlock(m)
        else:
            log.debug("cloud message %r not handled", kind)

    def _in_media(self, call_id: str) -> bool:
        return self.session is not None and self.session.call_id == call_id

    def _holds_call(self, call_id: str, m: dict) -> bool:
        return self._in_media(call_id) and self.session.device == m.get("device")

    def _accepted(self, call_id: str, device: str) -> None:
        if self._in_media(call_id):
            # Already answered: a second accept must not end the call the first device holds.
            self.signaling.complain("accepted", "cloud sent a second accept for call %s (device %r); ignored",
                                    call_id, device[:40])
            return
        effects = self.dispatch(ev.CallAccepted(call_id, device))
        if any(isinstance(e, fx.Ignored) for e in effects):
            # Too late (the visitor cancelled, or the ring timed out): tell the device.
            self._send({"type": "hangup", "call_id": call_id, "reason": "cancelled"})
            return
        self._end_session(None)
        self.session = CallSession(call_id, device, camera=self.camera, fps=self.fps,
                                   microphone=self.open_microphone(), speaker=self.speaker, ice=self.ice_servers,
                                   video_codecs=self.video_codecs, ice_addresses=self.ice_addresses,
                                   max_video_kbps=self.max_video_kbps,
                                   on_failed=lambda reason: self._media_failed(call_id, reason))
        self._spawn(self._send_offer(self.session))

    async def _send_offer(self, session: CallSession) -> None:
        sdp = await session.offer()
        if self.session is session:
            await self.signaling.send({"type": "offer", "call_id": session.call_id, "sdp": sdp})

    async def _set_answer(self, session: CallSession, sdp: str) -> None:
        try:
            await session.answer(sdp)
        except Exception as e:          # a malformed answer must end the call, not the panel
            log.warning("call %s: unusable answer from the device: %s", session.call_id, e)
            self._media_failed(session.call_id, "error")

    def _media_failed(self, call_id: str, reason: str) -> None:
        if self.session is not None and self.session.call_id == call_id:
            self._send({"type": "hangup", "call_id": call_id, "reason": reason})
            self._end_session(call_id)
            self.dispatch(ev.CallEnded(call_id, reason))

    # The `door` reply to a release the rules granted waits for the relay's answer (door_outcome);
    # a refusal is answered at once.
    def _open_door(self, call_id: str, m: dict) -> None:
        device = str(m.get("device", ""))
        effects = self.dispatch(ev.DoorOpenRequested("call", str(m.get("who", "")), call_id, device))
        if not any(isinstance(e, fx.PulseDoor) for e in effects):
            self._send({"type": "door", "call_id": call_id, "device": device, "ok": False, "reason": "not_in_call",
                        "door": self.door})

    def _remote_unlock(self, m: dict) -> None:
        device, resident_id = str(m.get("device", "")), str(m.get("resident_id", ""))
        if self.may_unlock(resident_id, device):
            self.dispatch(ev.DoorOpenRequested("app", str(m.get("who", "")), None, device))
        else:
            log.warning("remote unlock refused for resident %r device %r", resident_id, device)
            self._send({"type": "door", "device": device, "ok": False, "reason": "revoked", "door": self.door})

    def door_outcome(self, outcome: fx.DoorOutcome) -> None:
        """The relay answered (or did not in time) a release a resident's device asked for."""
        if outcome.method not in ("call", "app") or not outcome.device:
            return
        reply = {"type": "door", "device": outcome.device, "ok": outcome.opened,
                 "reason": "" if outcome.opened else "relay_fault", "door": self.door}
        if outcome.method == "call":
            reply["call_id"] = outcome.call_id
        self._send(reply)

    # -- helpers --------------------------------------------------------------------------
    def _end_session(self, call_id: str | None) -> None:
        session = self.session
        if session is not None and (call_id is None or session.call_id == call_id):
            self.session = None
            self._spawn(self._close_session(session))

    async def _close_session(self, session: CallSession) -> None:
        await session.close()
        memory.give_back()          # what the call left, back to the system: see panel/memory.py

    def _send(self, message: dict, failed: Callable[[], None] | None = None,
              after: asyncio.Task | None = None) -> None:
        async def send():
            if after is not None:
                await asyncio.wait([after])
            if not await self.signaling.send(message) and failed is not None:
                failed()
        self._spawn(send())

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

