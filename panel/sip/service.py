"""Calls over SIP with the same face as the WebRTC CallService (panel/call/service.py):
the core's StartCall / StopCall come in, core events go out. A SIP final response maps to
the panel's call-ended reasons: 486 busy and 603/600 decline -> declined; 404, 410, 480, 604
-> unavailable; 408 or no answer at all -> no_answer; anything else -> error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .. import memory
from ..core import effects as fx
from ..core import events as ev
from . import sdp
from .doorcode import DoorCode, info_key
from .invite import CallRefused, OutgoingCall
from .rtp import AudioStream
from .transaction import TransactionTimeout
from .ua import UserAgent
from .video import VideoStream

log = logging.getLogger(__name__)

DECLINED = {486, 600, 603}
UNAVAILABLE = {404, 410, 480, 484, 604}
NO_ANSWER = {408}


def reason_for(code: int) -> str:
    if code in UNAVAILABLE:
        return "unavailable"
    if code in NO_ANSWER:
        return "no_answer"
    return "error"


class SipCallService:
    def __init__(self, ua: UserAgent, *, display_name: str,
                 dispatch: Callable[[ev.Event], list[fx.Effect]], open_microphone: Callable[[], object], speaker,
                 media_timeout: float = 15.0, door_code: str = "", door_code_attempts: int = 3,
                 camera=None, fps: float = 10.0, max_video_kbps: int = 1000, srtp: str = "off"):
        self.ua = ua
        self.display_name = display_name
        self.dispatch = dispatch
        self.open_microphone, self.speaker = open_microphone, speaker
        self.media_timeout = media_timeout      # no audio this long: the peer vanished (no BYE)
        self.door_code, self.door_code_attempts = door_code, door_code_attempts
        self.keypads: dict[str, tuple[DoorCode, str]] = {}      # call id -> its door code state, the device
        self.methods: dict[str, str] = {}       # call id -> "sip" or "phone" (a number through the trunk)
        self.calls: dict[str, OutgoingCall] = {}        # the panel's call id -> the SIP call
        self.media: AudioStream | None = None
        self.video: VideoStream | None = None
        self.camera, self.fps, self.max_video_kbps = camera, fps, max_video_kbps   # None: audio-only calls
        self.srtp = srtp                        # "off", "optional" (SDES if the phone takes it), "required"
        self.calls_started = 0
        self._tasks: set[asyncio.Task] = set()

    # -- from the core ------------------------------------------------------------------
    def start_call(self, call_id: str, target: str, method: str = "sip") -> None:
        """Call the SIP URI target; method: "sip", or "phone" for a number through the trunk
        (how the call's ringing and wrong door codes are reported)."""
        self.calls_started += 1
        self.methods[call_id] = method
        while len(self.methods) > 16:
            del self.methods[next(iter(self.methods))]
        self._spawn(self._place(call_id, target))

    def stop_call(self, call_id: str, reason: str) -> None:
        call = self.calls.pop(call_id, None)
        if call is None:
            return
        self.keypads.pop(call_id, None)
        if call.dialog is None:
            call.cancel()               # _place hears the 487 (ACKed by the transaction) and forgets the call
        else:
            self._spawn(self._bye(call_id, call))
        self._end_media()

    async def close(self) -> None:
        """Shutdown: BYE or CANCEL every call; a peer that does not answer within a second
        is not waited for (the BYE went out; shutdown must not hang on it)."""
        byes = []
        for call_id in list(self.calls):
            call = self.calls.pop(call_id)
            if call.dialog is not None:
                byes.append(asyncio.ensure_future(call.bye()))
            else:
                call.cancel()
        if byes:
            await asyncio.wait(byes, timeout=1.0)
        self._end_media()
        for task in list(self._tasks):
            task.cancel()

    # -- the call -------------------------------------------------------------------------
    async def _place(self, call_id: str, target: str) -> None:
        account = self.ua.account
        hop = self.ua.next_hop(account, target)
        address = self.ua.address_toward(*hop)
        media = await AudioStream.open(address)
        video = await VideoStream.open(address) if self.camera is not None else None
        media.video = video             # closed with the audio, whichever way the call ends
        call = OutgoingCall(self.ua.transport, target=target, local_uri=account.uri, display_name=self.display_name,
                            contact=self.ua.contact(account), next_hop=hop, media_address=address,
                            offer=sdp.offer(address, media.rtp.local(), video.rtp.local() if video else None,
                                            self.srtp),
                            srtp_mode=self.srtp, username=account.username or "", password=account.password,
                            on_ringing=lambda: self.dispatch(ev.CallRinging(call_id, self.methods.get(call_id, "sip"))))
        self.calls[call_id] = call
        self.ua.dialog_handlers[call.call_id] = lambda request, addr: self._in_dialog(call_id, call, request, addr)
        try:
            answer = await call.run()
        except CallRefused as e:
            media.close()
            self._forget(call_id, call)
            if call.cancelled:
                return
            log.info("sip call %s to %s: %s", call_id, target, e)
            self.dispatch(ev.CallDeclined(call_id) if e.code in DECLINED else ev.CallFailed(call_id, reason_for(e.code)))
            return
        except TransactionTimeout as e:
            media.close()
            self._forget(call_id, call)
            log.info("sip call %s to %s: %s", call_id, target, e)
            if not call.cancelled:
                self.dispatch(ev.CallFailed(call_id, "no_answer"))
            return
        except Exception as e:          # a malformed answer ends the call, not the panel
            log.warning("sip call %s to %s failed: %s", call_id, target, e)
            media.close()
            await call.bye()
            self._forget(call_id, call)
            if not call.cancelled:
                self.dispatch(ev.CallFailed(call_id, "error"))
            return
        if call_id not in self.calls:
            media.close()               # the visitor hung up while the ACK went out
            await call.bye()
            return
        device = str(call.dialog.remote_target)
        effects = self.dispatch(ev.CallAccepted(call_id, device))
        if any(isinstance(e, fx.Ignored) for e in effects):
            media.close()               # too late (the ring timed out): end it
            self._forget(call_id, call)
            await call.bye()
            return
        self._end_media()
        self.media = media
        self.keypads[call_id] = (DoorCode(self.door_code, self.door_code_attempts), device)
        media.start(answer.audio, self.open_microphone(), self.speaker, on_key=lambda key: self._key(call_id, key))
        if video is not None and answer.video is not None:
            video.start(answer.video, self.camera, self.fps, self.max_video_kbps)
        log.info("sip call %s: audio %s%s%s", call_id, answer.audio.codec,
                 f", video {answer.video.codec}" if video is not None and answer.video else "",
                 ", SRTP" if answer.audio.key else "")
        await self._watch(call_id, call, media)

    async def _watch(self, call_id: str, call: OutgoingCall, media: AudioStream) -> None:
        """A peer that vanished (power cut, network gone) sends no BYE: its silence ends the call."""
        loop = asyncio.get_running_loop()
        while self.calls.get(call_id) is call and self.media is media:
            quiet = loop.time() - media.last_heard
            if quiet > self.media_timeout:
                log.warning("sip call %s: no audio from the peer for %.0f s: ending the call", call_id, quiet)
                self._forget(call_id, call)
                self._end_media()
                self.dispatch(ev.CallEnded(call_id, "network"))
                await call.bye()
                return
            await asyncio.sleep(min(1.0, self.media_timeout / 4))

    def _in_dialog(self, call_id: str, call: OutgoingCall, request, addr) -> None:
        if call.dialog is None or not call.dialog.matches(request):
            self.ua.reply(request, addr, 481, "Call/Transaction Does Not Exist")
            return
        if request.method == "BYE":
            self.ua.reply(request, addr, 200, "OK")
            call.dialog = None
            if self.calls.pop(call_id, None) is not None:
                self._forget(call_id, call)
                self._end_media()
                self.dispatch(ev.CallEnded(call_id, "hung_up"))
        elif request.method == "OPTIONS":
            self.ua.reply(request, addr, 200, "OK")
        elif request.method == "INFO":
            key = info_key(request.headers.get("Content-Type", ""), request.body.decode("utf-8", "replace"))
            self.ua.reply(request, addr, 200 if key else 415, "OK" if key else "Unsupported Media Type")
            if key:
                self._key(call_id, key)
        else:
            self.ua.reply(request, addr, 501, "Not Implemented")     # re-INVITE, INFO: not yet

    async def _bye(self, call_id: str, call: OutgoingCall) -> None:
        await call.bye()
        self._forget(call_id, call)

    def _key(self, call_id: str, key: str) -> None:
        """A key pressed on the phone that holds this call: the door code, or an attempt."""
        if call_id not in self.keypads or call_id not in self.calls:
            return
        keypad, device = self.keypads[call_id]
        result = keypad.press(key)
        if result == "open":
            # The core decides (only the device in the active call may open) and ends the call.
            self.dispatch(ev.DoorOpenRequested("call", "", call_id, device))
        elif result == "wrong":
            log.warning("sip call %s: wrong door code from %s (%d of %d)", call_id, device, keypad.wrong,
                        keypad.attempts)
            self.dispatch(ev.CredentialChecked(False, "wrong_door_code", method=self.methods.get(call_id, "sip"),
                                               holder_name=device))
            if keypad.exhausted:
                call = self.calls.pop(call_id)
                self._forget(call_id, call)
                self._end_media()
                self.dispatch(ev.CallEnded(call_id, "door_code"))
                self._spawn(call.bye())

    def _forget(self, call_id: str, call: OutgoingCall) -> None:
        if self.calls.get(call_id) is call:
            del self.calls[call_id]
        self.ua.dialog_handlers.pop(call.call_id, None)
        self.keypads.pop(call_id, None)
        call.close()

    def _end_media(self) -> None:
        if self.media is not None:
            self.media.close()
            self.media = None
            memory.give_back()

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sip call service: %r", task.exception(), exc_info=task.exception())
