"""The composition root: builds every part from config, runs them in one TaskGroup,
shuts them down in order. The parts, each in a module named for what it holds:
- shell.Shell: the state, `core.step`, and who carries out each effect;
- door.DoorController: the strike (relocked first), the door's inputs and reader;
- gatekeeper.Gatekeeper: keys, cards, revocations, settings, the directory;
- access_log.AccessLogWriter: every release, refusal and alarm on disk, with a snapshot;
- ui.touch.TouchScreen: what is drawn, and what a finger does;
- cloud_link.CloudLink, sip_link.SipLink, call_router.CallRouter: calls (and sync), each leg to its link;
- facade.PanelFacade behind api.server.ApiServer: the local HTTP API.
Shutdown (SIGINT/SIGTERM or `stop()`) relocks the door first; the store closes after the log.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
from collections.abc import Callable
from dataclasses import dataclass

import cv2

from hal.clock import Clock

from . import hardware
from .access_log import AccessLogWriter
from .api.server import ApiServer
from .call_router import CallRouter
from .cloud_link import CloudLink
from .config import Config
from .core import effects as fx
from .core.machine import Screen
from .directory import load_property
from .door import DoorController
from .facade import PanelFacade
from .gatekeeper import Gatekeeper
from .integrations import Integrations
from .scanner import Scanner
from .shell import Shell, Spawner, rules_from, supervised
from .sip_link import SipLink
from .store import Retention, Store
from .ui.display import Display
from .ui.strings import Strings
from .ui.touch import TouchScreen

log = logging.getLogger("panel")

IN_CALL_SCAN_INTERVAL = 0.5         # seconds between QR decodes while a call is on


@dataclass(frozen=True)
class Ready:
    """What the CLI prints once the panel is up."""
    api_url: str
    token: str
    window: bool
    fingerprint: str | None = None      # the API's TLS certificate (SHA-256), None for plain HTTP


class App:
    def __init__(self, config: Config, *, window: bool = False,
                 on_ready: Callable[[Ready], None] | None = None, clock: Clock | None = None):
        self.config, self.window, self.on_ready = config, window, on_ready
        self.clock = clock or Clock()
        self.token = config.api.token or secrets.token_urlsafe(24)
        self.shell = Shell(rules_from(config), self.clock)
        self.dispatch = self.shell.dispatch
        self.tasks = Spawner()
        self.door = DoorController(config, dispatch=self.dispatch, check_card=lambda r: self.gate.check_card(r),
                                   spawn=self.tasks.spawn, wall=self.clock.wall)
        self.scanner = Scanner(on_code=self._on_code, dedupe_seconds=config.access.dedupe_seconds,
                               clock=self.clock.monotonic)
        self.started_at = self.clock.monotonic()
        self.store = self.gate = self.access_log = self.camera = self.screen = self.api = self.cloud = self.sip = None
        self._stopping = asyncio.Event()

    # The parts tests and benchmarks reach for.
    state = property(lambda self: self.shell.state)
    strike = property(lambda self: self.door.strike)
    gpio = property(lambda self: self.door.gpio)
    display = property(lambda self: self.screen.display if self.screen else None)
    calls = property(lambda self: self.cloud.calls if self.cloud else None)
    signaling = property(lambda self: self.cloud.signaling if self.cloud else None)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.stop)
            except (NotImplementedError, RuntimeError):
                pass            # not the main thread (tests): stop() is called directly
        try:
            await self._start()
            async with asyncio.TaskGroup() as tg:
                self.tasks.attach(tg)
                loops = {"clock": self.shell.run_deadlines, "screen": self.screen.run,
                         "camera": lambda: self.scanner.run(self.camera.frames(), pace=self.camera.pace),
                         "access log": self.access_log.run, **self.integrations.loops(),
                         **{k: v for link in (self.cloud, self.sip) if link for k, v in link.loops().items()}}
                for name, fn in loops.items():
                    tg.create_task(supervised(name, fn, self.clock))
                if self.on_ready:
                    self.on_ready(Ready(api_url=self.api.url, token=self.token, window=self.window,
                                        fingerprint=self.api.fingerprint))
                await self._stopping.wait()
                raise _Shutdown
        except* _Shutdown:
            pass
        finally:
            self.tasks.close()
            await self._close()

    def stop(self) -> None:
        if not self._stopping.is_set():
            log.info("shutting down")
        self._stopping.set()

    async def _start(self) -> None:
        cfg = self.config
        # OpenCV's per-frame work here (colour conversion, thumbnails, JPEG) is small: its
        # worker pool's wake-ups cost more than they save (an idle panel: 3.7% -> 2.5% of a core).
        cv2.setNumThreads(1)
        await self.door.start()                     # the door first: relocked before anything else runs
        # Never a reason not to start: a store the disk will not open waits in memory (status says why).
        self.store = await asyncio.to_thread(Store, cfg.state_dir / "panel.db", strict=False,
                                             retention=Retention.of(cfg.store))
        self.gate = Gatekeeper(cfg, self.store, self.clock, spawn=self.tasks.spawn,
                               on_directory=lambda d: self.screen.redraw())
        await self.gate.load(await asyncio.to_thread(load_property, cfg.property_file))
        self.integrations = Integrations(self)      # the events feed (events/stream), webhooks, MQTT
        self.camera = hardware.open_camera(cfg)
        self.access_log = AccessLogWriter(self.store, cfg.panel.door_id, self.clock,
                                          latest_frame=lambda: self.camera.latest, on_written=self._on_logged,
                                          limits=cfg.store, on_health=lambda: self.screen.redraw(),
                                          stamp=lambda: self.gate.time.read().floor,
                                          on_release=self.door.written)
        self.screen = TouchScreen(Display(cfg.screen.width, cfg.screen.height, window=self.window,
                                          fullscreen=cfg.screen.fullscreen),
                                  building=cfg.panel.name, strings=Strings(cfg.panel.language), clock=self.clock,
                                  window=self.window, state=lambda: self.shell.state,
                                  directory=lambda: self.gate.directory, preview=lambda: self.scanner.view,
                                  dispatch=self.dispatch, on_quit=self.stop,
                                  storage_full=lambda: self.store.state != "ok")
        if cfg.cloud.url:
            self.cloud = CloudLink(cfg, store=self.store, gate=self.gate, camera=self.camera,
                                   dispatch=self.dispatch)
        if cfg.sip.accounts:
            self.sip = SipLink(cfg, camera=self.camera, speaker=self.cloud.speaker if self.cloud else None,
                               dispatch=self.dispatch)
            await self.sip.start()
        self._wire()
        await self.door.recover(self.store.release_rows)     # releases a kill -9 interrupted
        self.screen.redraw()
        self.api = ApiServer(PanelFacade(self), cfg.api, self.token, cfg.state_dir)
        await self.api.start()

    def _wire(self) -> None:
        """Who carries out which effect, and who hears of a state change."""
        d, log_, cfg = self.door, self.access_log, self.config
        carriers = [(fx.PulseDoor, d.pulse), (fx.AbandonRelease, d.abandon),
                    (fx.LogAccess, log_.add_access), (fx.LogAccess, d.feedback), (fx.LogAccess, d.record),
                    (fx.RaiseAlarm, log_.add_alarm), (fx.RaiseAlarm, d.record)]
        router = CallRouter(self.calls, self.sip and self.sip.calls, dispatch=self.dispatch, trunk=cfg.sip.trunk)
        for effect, fn in carriers + router.carriers():
            self.shell.carry(effect, fn)
        self.shell.watch(self._on_state_changed)

    def _on_state_changed(self, before, after) -> None:
        if after.screen != before.screen:
            # In a call the CPU goes to the resident's video: look for codes twice a second
            # (a key held up is still read within half a second).
            self.scanner.min_interval = IN_CALL_SCAN_INTERVAL if after.screen is Screen.IN_CALL else 0.0
        self.screen.redraw()

    async def _close(self) -> None:
        """In order: the door relocked first, the store closed after the log wrote its queue."""
        steps = [("door", self.door.close), ("calls", self.cloud and self.cloud.close),
                 ("sip calls", self.sip and self.sip.close), ("api", self.api and self.api.stop),
                 ("camera", self.camera and self.camera.close),
                 ("access log", self.access_log and self.access_log.close),
                 ("store", self.store and self.store.close), ("screen", self.screen and self.screen.display.close)]
        for name, fn in steps:
            try:
                if fn and asyncio.iscoroutine(result := fn()):
                    await asyncio.wait_for(result, 10.0 if name == "access log" else 2.0)
            except Exception:
                log.exception("shutdown: closing the %s failed", name)

    async def _on_code(self, text: str) -> None:
        """A QR code was read: decided on the panel itself, with no network."""
        self.dispatch(self.gate.check_code(text))

    def _on_logged(self, event_id: int) -> None:
        self.cloud and self.cloud.sync.wake()       # a new entry in the outbox
        self.integrations.feed.on_logged(event_id)


class _Shutdown(Exception):
    pass
