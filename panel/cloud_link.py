"""The panel's link to its cloud: one signaling socket carrying calls and sync.

Builds the signaling client, the call service (WebRTC calls to the residents' devices)
and the sync (directory, revocations and settings in; the access log out), and routes
each message from the cloud to the one that speaks its type.
"""

from __future__ import annotations

from collections.abc import Callable

from hal.audio import open_microphone, open_speaker

from .call.service import CallService
from .call.signaling import SignalingClient
from .config import Config
from .gatekeeper import Gatekeeper
from .store import Store
from .sync import CloudSync


class CloudLink:
    def __init__(self, config: Config, *, store: Store, gate: Gatekeeper, camera,
                 dispatch: Callable[[object], list]):
        cfg = config
        self.speaker = open_speaker(cfg.audio.speaker)
        self.signaling = SignalingClient(cfg.cloud.url, cfg.cloud.token, self._on_message, self._on_link)
        self.sync = CloudSync(self.signaling, store, on_directory=gate.on_directory,
                              on_revocations=gate.on_revocations, on_settings=gate.on_settings)
        self.calls = CallService(
            signaling=self.signaling, door_name=cfg.panel.name,
            camera=camera, fps=cfg.camera.fps, open_microphone=lambda: open_microphone(cfg.audio.microphone),
            speaker=self.speaker, ice_servers=cfg.call.ice_servers, video_codecs=cfg.call.video_codecs,
            dispatch=dispatch, may_unlock=gate.may_unlock,
            ice_addresses=cfg.call.ice_addresses, max_video_kbps=cfg.call.max_video_kbps)

    def loops(self) -> dict:
        """The long-lived loops to run, by name."""
        return {"cloud link": self.signaling.run, "log upload": self.sync.run}

    async def close(self) -> None:
        await self.calls.close()

    def _on_message(self, m: dict) -> None:
        if m["type"] in CloudSync.TYPES:
            self.sync.on_message(m)
        else:
            self.calls.on_message(m)

    def _on_link(self, up: bool) -> None:
        self.sync.on_link(up)
        self.calls.on_link(up)
