"""The panel's SIP side, when `[sip]` names accounts: the user agent (registrations, the
socket) and the SIP call service. Which leg of a call goes over SIP is the resident's
contact's (core/routing.py; panel/call_router.py). SIP targets can be rung
(`ev.SipLink`) while an account is registered, or there is one for direct calls
with no registrar.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hal.audio import open_microphone, open_speaker

from .config import Config
from .core import events as ev
from .sip.register import Account
from .sip.service import SipCallService
from .sip.ua import UserAgent


class SipLink:
    def __init__(self, config: Config, *, camera=None, speaker=None, dispatch: Callable[[object], list]):
        """speaker: the cloud link's when there is one (the device is opened once)."""
        cfg = config
        self.speaker = speaker or open_speaker(cfg.audio.speaker)
        self.dispatch = dispatch
        accounts = [Account(a.uri, a.username, a.password, a.registrar) for a in cfg.sip.accounts]
        self.ua = UserAgent(accounts, listen=cfg.sip.listen, expires=cfg.sip.register_expires,
                            on_registration=lambda r: self._availability())
        self.calls = SipCallService(self.ua, display_name=cfg.panel.name, dispatch=dispatch,
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
        self.dispatch(ev.SipLink(self.available))
