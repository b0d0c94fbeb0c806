"""What the local API sees of the running panel (`panel.api.server.Panel`).

Reads the parts' state for `status`, asks the store for the log, the touchscreen for
its pixels and widgets, and hands touches, frames and door requests to the parts that
own them. Bad input raises `Rejected`; the API turns that into HTTP. Its thread work
(encodes, decodes, store reads) runs on the API's own bounded threads (api.workers),
never where the door path's work runs.
"""

from __future__ import annotations

from hal.camera import ImageTooLarge, decode_image

from . import __version__
from .api.server import Rejected, TooLarge
from .api.workers import Workers
from .core import effects as fx
from .core import events as ev
from .core.machine import Screen
from .ui.touch import OffScreen, encode_png


class PanelFacade:
    def __init__(self, app):
        self.app = app                  # panel.app.App: the parts, once built
        self.work = Workers()

    feed = property(lambda self: self.app.integrations.feed)     # events_feed.EventsFeed: GET events/stream

    def live_frame(self):
        """The camera's latest frame (BGR), or None: GET camera/snapshot.jpg and stream.mjpeg."""
        return self.app.camera.latest if self.app.camera else None

    def camera_stream_limits(self) -> tuple[float, int]:
        c = self.app.config.camera
        return c.stream_fps, c.stream_viewers

    def status(self) -> dict:
        app = self.app
        s, cfg = app.shell.state, app.config
        call = None
        if s.screen in (Screen.CALLING, Screen.IN_CALL):
            call = {"id": s.call_id, "resident_id": s.resident_id, "resident": s.resident_name,
                    "state": "in_call" if s.screen is Screen.IN_CALL else ("ringing" if s.ringing else "calling"),
                    "device": s.device or None, "via": s.ring_via or None,
                    # The contact's step ringing now (1 = the first) and what it rings (core/routing.py).
                    "step": s.step + 1, "targets": [{"kind": leg.target.kind, "address": leg.target.address}
                                                    for leg in s.legs]}
        contact = "unknown" if s.door_open is None else ("open" if s.door_open else "closed")
        return {
            "panel": {"name": cfg.panel.name, "door_id": cfg.panel.door_id, "version": __version__,
                      "uptime_seconds": round(app.clock.monotonic() - app.started_at, 1)},
            "screen": s.screen.value,
            "call": call,
            "door": {**app.door.relay_status(), "contact": contact},
            "cloud": self._cloud(),
            "sip": app.sip.status() if app.sip else None,
            "camera": {"source": cfg.camera.source, "frames": app.camera.frames_delivered if app.camera else 0,
                       "fault": app.camera.fault if app.camera else None},
            "time": app.gate.time.read().to_json(),     # may keys trust the wall clock (trusted_time.py)
            # "ok", "full" or "unavailable" (never opened, or failing); queued: entries held in memory
            # until the disk takes them; lost: dropped from a full memory queue.
            "store": {**app.store.health(), "queued": app.access_log.queued, "lost": app.access_log.lost},
            **app.integrations.status(),            # "webhooks", "mqtt"
        }

    def _cloud(self) -> dict:
        link = self.app.cloud
        if link is None:
            return {"link": "not configured"}
        if self.app.shell.state.cloud_online:
            return {"link": "up"}
        return {**link.status, "link": "down"}      # the core's view of up/down leads, the socket's why

    async def events(self, after: int, limit: int) -> list[dict]:
        return [e.to_json() for e in await self.work.run("events", self.app.store.events, after, limit)]

    async def snapshot(self, event_id: int) -> bytes | None:
        return await self.work.run("snapshot", self.app.store.snapshot, event_id)

    async def screen_png(self) -> bytes:
        """The screen as PNG, encoded once per frame drawn however many ask for it."""
        screen = self.app.screen
        return await self.work.cached(("screen", screen.display.frames),
                                      lambda: self.work.run("screen", encode_png, screen.rgb()))

    def close(self) -> None:
        self.work.close()

    def ui(self) -> dict:
        return self.app.screen.ui()

    def touch(self, x: float, y: float, to: tuple[float, float] | None = None) -> dict:
        try:
            return self.app.screen.touch(x, y, to)
        except OffScreen as e:
            raise Rejected(str(e)) from None

    async def inject_frame(self, data: bytes) -> dict:
        limit = self.app.config.api.max_frame_pixels
        try:
            frame = await self.work.run("frame", decode_image, data, limit)
        except ImageTooLarge as e:
            raise TooLarge(f"{e}; the limit is {limit} pixels (api.max_frame_pixels)") from None
        if frame is None:
            raise Rejected("the body is not an image the panel can read (send PNG or JPEG bytes)")
        self.app.camera.inject(frame)
        return {"accepted": True, "width": int(frame.shape[1]), "height": int(frame.shape[0])}

    def open_door(self, who: str) -> dict:
        """The release is asked for; the answer does not wait for the relay. `outcome`:
        "pending" (the access log entry with this `release_id` will say "granted", or
        `granted: false, reason: "door_not_released"`), or "released" when the door was
        released already and the window is only extended."""
        effects = self.app.shell.dispatch(ev.DoorOpenRequested("api", who))
        [pulse] = [e for e in effects if isinstance(e, fx.PulseDoor)]
        opened = [e.opened for e in effects if isinstance(e, fx.DoorOutcome)]
        return {"opening": True, "release_id": pulse.release.id,
                "outcome": "pending" if not opened else "released" if opened[0] else "not_released",
                "seconds": self.app.config.door.pulse_seconds, "screen": self.app.shell.state.screen.value}
