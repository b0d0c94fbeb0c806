"""The panel's link to its cloud: one signaling socket carrying calls and sync.

Builds the signaling client, the call service (WebRTC calls to the residents' devices)
and the sync (directory, revocations and settings in; the access log out), and routes
each message from the cloud to the one that speaks its type.
"""

from __future__ import annotations

from collections.abc import Callable

from hal.audio import open_microphone, open_speaker

from .call.service import CallService
from .call.signaling import SignalingClient, check, tls_for
from .config import Config, fingerprint_bytes
from .gatekeeper import Gatekeeper
from .store import Store
from .sync import CloudSync


class CloudLink:
    def __init__(self, config: Config, *, store: Store, gate: Gatekeeper, camera,
                 dispatch: Callable[[object], list]):
        cfg = config
        self.speaker = open_speaker(cfg.audio.speaker)
        c = cfg.cloud
        tls = tls_for(c.url, str(cfg.path(c.ca_file)) if c.ca_file else "", fingerprint_bytes(c.fingerprint))
        self.signaling = SignalingClient(c.url, c.token, self._on_message, self._on_link, tls=tls,
                                         heartbeat=c.heartbeat_seconds)
        self.sync = CloudSync(self.signaling, store, on_directory=gate.on_directory,
                              on_revocations=gate.on_revocations, on_settings=gate.on_settings)
        self.calls = CallService(
            signaling=self.signaling, door_name=cfg.panel.name,
            camera=camera, fps=cfg.camera.fps, open_microphone=lambda: open_microphone(cfg.audio.microphone),
            speaker=self.speaker, ice_servers=cfg.call.ice_servers, video_codecs=cfg.call.video_codecs,
            dispatch=dispatch, may_unlock=gate.may_unlock,
            ice_addresses=cfg.call.ice_addresses, max_video_kbps=cfg.call.max_video_kbps, door=cfg.panel.door_name)

    def loops(self) -> dict:
        """The long-lived loops to run, by name."""
        return {"cloud link": self.signaling.run, "log upload": self.sync.run}

    async def close(self) -> None:
        await self.calls.close()

    def _on_message(self, m: dict) -> None:
        """Route a message to the part that speaks its type, once its fields are checked."""
        kind = m.get("type")
        fields = CloudSync.FIELDS.get(kind) or CallService.FIELDS.get(kind)
        complain = self.signaling.complain
        if fields is None:
            complain("unknown type", "cloud sent a message of unknown type %r; ignored", str(kind)[:40])
            return
        problem = check(m, fields)
        if problem:
            complain(f"bad {kind}", "cloud sent a %r message that cannot be used (%s); ignored", kind, problem)
        elif kind in CloudSync.FIELDS:
            self.sync.on_message(m)
        else:
            self.calls.on_message(m)

    @property
    def status(self) -> dict:
        """The link for GET status: up or down, and why it is down when known."""
        if self.signaling.connected:
            return {"link": "up"}
        return {"link": "down", **({"problem": self.signaling.problem} if self.signaling.problem else {})}

    def _on_link(self, up: bool) -> None:
        self.sync.on_link(up)
        self.calls.on_link(up)
