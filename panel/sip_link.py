"""The panel's SIP side, when `[sip]` names accounts: the user agent (registrations, the
socket), the SIP call service, and which call path a resident's call takes (CallRouter).

A resident with a `sip` URI in the property file is called over SIP; the others through
the cloud, when there is one. With no cloud, "calls available" is the SIP accounts'
state: registered (or an account for direct calls with no registrar).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hal.audio import open_microphone, open_speaker

from .config import Config
from .core import effects as fx
from .core import events as ev
from .directory import load_property
from .sip.register import Account
from .sip.service import SipCallService
from .sip.ua import UserAgent


class SipLink:
    def __init__(self, config: Config, *, camera=None, speaker=None, dispatch: Callable[[object], list]):
        """speaker: the cloud link's when there is one (the device is opened once)."""
        cfg = config
        self.speaker = speaker or open_speaker(cfg.audio.speaker)
        self.dispatch = dispatch
        self.reports_availability = not cfg.cloud.url
        accounts = [Account(a.uri, a.username, a.password, a.registrar) for a in cfg.sip.accounts]
        self.ua = UserAgent(accounts, listen=cfg.sip.listen, expires=cfg.sip.register_expires,
                            on_registration=lambda r: self._availability())
        # The store keeps no SIP URIs yet: they come from the property file.
        self.targets = {r.id: r.sip for r in load_property(cfg.property_file).residents if r.sip}
        self.calls = SipCallService(self.ua, target_for=lambda rid: self.targets.get(rid, ""),
                                    display_name=cfg.panel.name, dispatch=dispatch,
                                    open_microphone=lambda: open_microphone(cfg.audio.microphone), speaker=self.speaker,
                                    media_timeout=cfg.sip.media_timeout_seconds, door_code=cfg.sip.door_code,
                                    door_code_attempts=cfg.sip.door_code_attempts, camera=camera,
                                    fps=cfg.camera.fps, max_video_kbps=cfg.call.max_video_kbps,
                                    srtp=cfg.sip.srtp)

    @property
    def available(self) -> bool:
        return any(r.registered for r in self.ua.registrations) or any(not a.registrar for a in self.ua.accounts)

    def status(self) -> dict:
        return {"accounts": [{"uri": r.account.uri, "state": r.state} for r in self.ua.registrations]}

    async def start(self) -> None:
        await self.ua.start()
        self._availability()

    def carriers(self, cloud_link=None) -> list[tuple[type, Callable]]:
        """The call effects through the CallRouter; the cloud link's others as they are."""
        router = CallRouter(self.calls, cloud_link.calls if cloud_link else None)
        routed = (fx.StartCall, fx.StopCall, fx.DoorOutcome)
        others = [(e, fn) for e, fn in (cloud_link.carriers() if cloud_link else []) if e not in routed]
        return [(fx.StartCall, lambda e: router.start_call(e.call_id, e.resident_id)),
                (fx.StopCall, lambda e: router.stop_call(e.call_id, e.reason)),
                (fx.DoorOutcome, router.door_outcome), *others]

    def loops(self) -> dict:
        return {f"sip registration {r.account.uri}": r.run for r in self.ua.registrations}

    async def close(self) -> None:
        await self.calls.close()
        try:
            async with asyncio.timeout(1.5):        # a registrar that does not answer must not hold shutdown
                await asyncio.gather(*(r.unregister() for r in self.ua.registrations))
        except TimeoutError:
            pass
        self.ua.close()

    def _availability(self) -> None:
        if self.reports_availability:
            self.dispatch(ev.CloudLink(self.available))


class CallRouter:
    """StartCall / StopCall to the SIP service for residents with a SIP URI, else to the cloud's."""

    KEEP = 16           # the latest SIP call ids remembered (a door outcome comes after the call)

    def __init__(self, sip: SipCallService, cloud):
        self.sip, self.cloud = sip, cloud
        self._sip_calls: dict[str, None] = {}      # in order, at most KEEP

    def start_call(self, call_id: str, resident_id: str) -> None:
        if self.cloud is None or self.sip.handles(resident_id):
            self._sip_calls[call_id] = None
            while len(self._sip_calls) > self.KEEP:
                del self._sip_calls[next(iter(self._sip_calls))]
            self.sip.start_call(call_id, resident_id)
        else:
            self.cloud.start_call(call_id, resident_id)

    def stop_call(self, call_id: str, reason: str) -> None:
        if call_id in self._sip_calls:
            self.sip.stop_call(call_id, reason)
        elif self.cloud is not None:
            self.cloud.stop_call(call_id, reason)

    def door_outcome(self, outcome) -> None:
        """A release asked in a SIP call has no device to reply to (the panel hangs up);
        the others are the cloud's."""
        if outcome.call_id not in self._sip_calls and self.cloud is not None:
            self.cloud.door_outcome(outcome)
