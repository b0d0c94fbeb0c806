"""The composition root: builds every part from config and runs them in one TaskGroup.

The shell around panel.core: it turns what the parts see into events, feeds them to
`core.step` on the event-loop thread, and carries out the effects that come back
(pulse the door, write the log, start a call). Shutdown (SIGINT/SIGTERM or `stop()`)
relocks the door, stops the API, closes the store and the screen.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import signal
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass

import cv2

from hal.audio import open_microphone, open_speaker
from hal.camera import decode_image, encode_jpeg

from . import __version__
from . import hardware
from .access import ReplayGuard, load_trusted_keys, verify
from .access.cards import check_card
from .api.server import ApiError, ApiServer
from .call.service import CallService
from .call.signaling import SignalingClient
from .config import Config
from .core import door
from .core import effects as fx
from .core import events as ev
from .core.machine import PanelState, Rules, Screen, initial_state, step
from .directory import Directory, load_property
from .scanner import Scanner
from .store import Store
from .sync import CloudSync
from .ui.display import Display, encode_png
from .ui.layout import View
from .ui.strings import Strings

log = logging.getLogger("panel")

IN_CALL_SCAN_INTERVAL = 0.5         # seconds between QR decodes while a call is on


@dataclass(frozen=True)
class Ready:
    """What the CLI prints once the panel is up."""
    api_url: str
    token: str
    window: bool


class _Shutdown(Exception):
    pass


class App:
    def __init__(self, config: Config, *, window: bool = False,
                 on_ready: Callable[[Ready], None] | None = None, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self.window = window
        self.on_ready = on_ready
        self.clock = clock
        self.rules = Rules(idle_seconds=config.screen.idle_seconds, message_seconds=config.screen.message_seconds,
                           ring_timeout_seconds=config.call.ring_timeout_seconds,
                           max_call_seconds=config.call.max_call_seconds, pulse_seconds=config.door.pulse_seconds)
        self.token = config.api.token or secrets.token_urlsafe(24)
        self.state: PanelState = initial_state(clock())
        self.strings = Strings(config.panel.language)
        self.started_at = time.time()
        self.door_contact: bool | None = None       # True = open; None = no contact fitted
        self.door_watch = door.DoorWatch()
        self.camera_fault: str | None = None
        self._stopping = asyncio.Event()
        self._state_changed = asyncio.Event()
        self._log_queue: asyncio.Queue[tuple[fx.LogAccess, float, object]] = asyncio.Queue()
        self._log_in_flight: asyncio.Future | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._early: list[Coroutine] = []          # spawned during start-up, run once the TaskGroup is
        self.store: Store | None = None
        self.gpio = None
        self.strike = None
        self.inputs = None
        self.camera = None
        self.display: Display | None = None
        self.api: ApiServer | None = None
        self.calls: CallService | None = None
        self.sync: CloudSync | None = None
        self.signaling: SignalingClient | None = None
        self.allow_visitors = config.access.allow_visitors          # the cloud's settings win once known
        self.visitor_limit_hours = config.access.visitor_limit_hours
        self.speaker = None
        self.directory = Directory([])
        self.trusted_keys = load_trusted_keys(config.access.trusted_keys)
        self.revoked: set[str] = set()              # mirrors the store's revocations, for a fast check
        self.replay = ReplayGuard()
        self.scanner = Scanner(on_code=self._on_code, dedupe_seconds=config.access.dedupe_seconds)

    # -- life cycle ---------------------------------------------------------------------
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
                self._tg = tg
                for coro in self._early:            # a card read or exit button press during start-up
                    tg.create_task(coro)
                self._early.clear()
                tg.create_task(self._supervise("clock", self._deadline_loop))
                tg.create_task(self._supervise("screen", self._screen_loop))
                tg.create_task(self._supervise("camera", self._camera_loop))
                tg.create_task(self._supervise("access log", self._log_writer))
                if self.signaling is not None:
                    tg.create_task(self._supervise("cloud link", self.signaling.run))
                    tg.create_task(self._supervise("log upload", self.sync.run))
                self._announce()
                await self._stopping.wait()
                raise _Shutdown
        except* _Shutdown:
            pass
        finally:
            self._tg = None
            for coro in self._early:                # start-up failed: nothing will run them
                coro.close()
            self._early.clear()
            await self._cleanup()

    def stop(self) -> None:
        if not self._stopping.is_set():
            log.info("shutting down")
        self._stopping.set()

    async def _start(self) -> None:
        cfg = self.config
        # OpenCV's per-frame work here (colour conversion, thumbnails, JPEG) is small: its
        # worker pool's wake-ups cost more than they save (an idle panel: 3.7% -> 2.5% of a core).
        cv2.setNumThreads(1)
        # The door first: a relay left energized by a crash is released before anything else runs.
        self.gpio = hardware.open_gpio(cfg)
        self.strike = hardware.open_strike(cfg, self.gpio, on_event=self._on_strike_event)
        await self.strike.start()
        self.inputs = hardware.open_inputs(cfg, self.gpio, callback=self._on_input)
        self.door_contact = self.inputs.door_open if self.inputs is not None else None
        self.store = await asyncio.to_thread(Store, cfg.state_dir / "panel.db")
        prop = await asyncio.to_thread(load_property, cfg.property_file)
        await asyncio.to_thread(self.store.replace_residents, list(prop.residents))
        self.directory = Directory(await asyncio.to_thread(self.store.residents), cfg.directory.display)
        self.revoked = await asyncio.to_thread(self.store.revocations)
        saved = await asyncio.to_thread(self.store.get_meta, "settings")
        if saved:
            self._apply_settings(json.loads(saved))
        self.camera = hardware.open_camera(cfg, on_fault=self._on_camera_fault)
        self.display = Display(cfg.screen.width, cfg.screen.height, window=self.window,
                               fullscreen=cfg.screen.fullscreen)
        self._redraw()
        self.api = ApiServer(self, cfg.api.host, cfg.api.port, self.token)
        await self.api.start()
        if cfg.cloud.url:
            self.speaker = open_speaker(cfg.audio.speaker)
            self.signaling = SignalingClient(cfg.cloud.url, cfg.cloud.token, self._on_cloud_message,
                                             self._on_cloud_link)
            self.sync = CloudSync(self.signaling, self.store, on_directory=self._on_directory,
                                  on_revocations=self._on_revocations, on_settings=self._on_settings)
            self.calls = CallService(
                signaling=self.signaling, door_name=f"{cfg.panel.name}",
                camera=self.camera, fps=cfg.camera.fps, open_microphone=lambda: open_microphone(cfg.audio.microphone),
                speaker=self.speaker, ice_servers=cfg.call.ice_servers, video_codecs=cfg.call.video_codecs,
                dispatch=self.dispatch, may_unlock=self._may_unlock,
                ice_addresses=cfg.call.ice_addresses, max_video_kbps=cfg.call.max_video_kbps)

    async def _cleanup(self) -> None:
        steps = [("door", self._close_strike), ("calls", self._close_calls), ("api", self._stop_api), ("inputs", self._close_inputs),
                 ("camera", self._close_camera), ("store", self._close_store), ("screen", self._close_display)]
        for name, fn in steps:
            try:
                await fn()
            except Exception:
                log.exception("shutdown: closing the %s failed", name)

    async def _close_strike(self):
        if self.strike is not None:
            await asyncio.wait_for(self.strike.close(), 1.5)

    async def _close_calls(self):
        if self.calls is not None:
            await asyncio.wait_for(self.calls.close(), 1.0)

    async def _stop_api(self):
        if self.api is not None:
            await self.api.stop()

    async def _close_inputs(self):
        if self.inputs is not None:
            self.inputs.close()

    async def _close_camera(self):
        if self.camera is not None:
            self.camera.close()

    async def _close_store(self):
        # The entry being written and those still queued reach the file before it closes.
        if self._log_in_flight is not None:
            await asyncio.wait([self._log_in_flight])
        while not self._log_queue.empty():
            await self._write_log_entry(*self._log_queue.get_nowait())
        if self.store is not None:
            self.store.close()

    async def _close_display(self):
        if self.display is not None:
            self.display.close()

    def _announce(self) -> None:
        if self.on_ready:
            self.on_ready(Ready(api_url=f"http://{self.config.api.host}:{self.api.port}/api/v1",
                                token=self.token, window=self.window))

    async def _supervise(self, name: str, loop_fn: Callable[[], Coroutine]) -> None:
        """Run a long-lived loop; a bug in it is logged and the loop restarts, the panel keeps running."""
        while True:
            try:
                await loop_fn()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s loop failed; restarting it in 1 s", name)
                await asyncio.sleep(1.0)

    # -- events in, effects out -----------------------------------------------------------
    def dispatch(self, event: ev.Event) -> list[fx.Effect]:
        """Apply one event now, on the event-loop thread, and start its effects (returned)."""
        before = self.state
        self.state, effects = step(self.state, event, self.clock(), self.rules)
        for effect in effects:
            self._carry_out(effect)
        if self.state != before:
            if self.state.screen != before.screen:
                log.info("screen %s -> %s", before.screen.value, self.state.screen.value)
                # In a call the CPU goes to the resident's video: look for codes twice a second
                # (a key held up is still read within half a second).
                self.scanner.min_interval = IN_CALL_SCAN_INTERVAL if self.state.screen is Screen.IN_CALL else 0.0
            self._state_changed.set()
            self._redraw()
        return effects

    def _carry_out(self, effect: fx.Effect) -> None:
        match effect:
            case fx.PulseDoor(seconds):
                self._spawn(self._pulse(seconds))
            case fx.LogAccess():
                frame = self.camera.latest if self.camera is not None else None
                self._log_queue.put_nowait((effect, time.time(), frame))
                self._reader_feedback(effect)
            case fx.StartCall(call_id, resident_id):
                if self.calls is not None:
                    self.calls.start_call(call_id, resident_id)
            case fx.StopCall(call_id, reason):
                if self.calls is not None:
                    self.calls.stop_call(call_id, reason)
            case fx.Ignored(event, screen, why):
                log.debug("ignored %s on %s: %s", event, screen, why)

    def _reader_feedback(self, entry: fx.LogAccess) -> None:
        """Green and a beep on the door's reader when it opens; red and two beeps when a
        key or card shown there is refused. Only readers that have LEDs (OSDP) do this."""
        backend = self.strike.backend if self.strike is not None else None
        if entry.granted and hasattr(backend, "granted"):
            self._spawn(backend.granted(self.rules.pulse_seconds))
        elif not entry.granted and entry.method in ("qr", "card") and hasattr(backend, "refused"):
            self._spawn(backend.refused())

    def _spawn(self, coro: Coroutine) -> None:
        if self._tg is not None:
            self._tg.create_task(coro)
        elif not self._stopping.is_set():
            self._early.append(coro)                # still starting: runs as soon as the panel is up
        else:
            coro.close()

    async def _pulse(self, seconds: float) -> None:
        try:
            await self.strike.unlock_for(seconds)
        except hardware.RelayError as e:
            log.error("door could not be opened: %s", e)
            self.dispatch(ev.RelayFault(str(e)))

    async def _log_writer(self) -> None:
        while True:
            item = await self._log_queue.get()
            # Shielded: a shutdown while the entry is being written must not lose it;
            # _close_store waits for it before closing the file.
            self._log_in_flight = asyncio.ensure_future(self._write_log_entry(*item))
            await asyncio.shield(self._log_in_flight)

    async def _write_log_entry(self, entry: fx.LogAccess, ts: float, frame) -> None:
        snapshot = await asyncio.to_thread(encode_jpeg, frame) if frame is not None else None
        event_id = await asyncio.to_thread(
            self.store.log_access, door=self.config.panel.door_id, granted=entry.granted, method=entry.method,
            who=entry.who, reason=entry.reason, credential_id=entry.credential_id, snapshot=snapshot, ts=ts)
        log.info("access log #%d: %s %s %s %s", event_id, "granted" if entry.granted else "refused",
                 entry.method, entry.who, entry.reason)
        if self.sync is not None:
            self.sync.wake()

    # -- hardware callbacks (event-loop thread) ------------------------------------------
    def _on_strike_event(self, kind: str, info: dict) -> None:
        now = self.clock()
        if kind == "door_unlocked":
            self.door_watch = door.released(self.door_watch, now)
        elif kind == "door_locked":
            self.door_watch = door.relocked(self.door_watch, now)
        elif kind == "relay_fault":
            self.dispatch(ev.RelayFault(info.get("error", "relay fault")))
            self._alarm("relay", "relay_fault", info.get("error", ""))
        elif kind == "relay_recovered":
            self.dispatch(ev.RelayRecovered())
        elif kind == "relay_alarm":
            log.error("door relay alarm: %s", info)
            self._alarm("relay", "relay_alarm", info.get("error", ""))
        # An OSDP reader's own events come the same way.
        elif kind == "card_read":
            # Checked once the panel is up: the revocations may not be loaded yet.
            self._spawn(self._on_card(info))
        elif kind == "reader_tamper":
            if info.get("active"):
                self._alarm("tamper", "reader_tamper", "the reader's cover is open")
            else:
                log.info("reader tamper restored")
        elif kind == "reader_power" and not info.get("ok", True):
            self._alarm("reader", "reader_power", "the reader reports a power failure")
        elif kind in ("reader_online", "reader_offline"):
            log.info("door reader %s", kind.removeprefix("reader_"))

    async def _on_card(self, read: dict) -> None:
        """A card on the reader: checked on the panel, like a QR key, and logged as "card"."""
        def owner_of(number: str):
            r = self.directory.card_owner(number)
            return None if r is None else (r.id, r.full_name)
        try:
            c = check_card(str(read.get("format", "")), int(read.get("bits", 0)), str(read.get("data", "")),
                           owner_of=owner_of, is_revoked=self.revoked.__contains__)
        except Exception:                   # a task of the TaskGroup: never let it take the panel down
            log.exception("checking a card read failed: %r", read)
            self.dispatch(ev.CredentialChecked(False, "error", method="card"))
            return
        self.dispatch(ev.CredentialChecked(c.ok, c.reason, c.holder_id, c.holder_name, "resident" if c.ok else "",
                                           f"card:{c.number}" if c.number else "", method="card"))

    def _alarm(self, method: str, reason: str, detail: str = "") -> None:
        """An alarm goes into the access log (with a snapshot) like a refusal, and so to the cloud."""
        log.warning("alarm: %s %s", reason, detail)
        frame = self.camera.latest if self.camera is not None else None
        self._log_queue.put_nowait((fx.LogAccess(False, method, detail, reason), time.time(), frame))

    # -- the cloud ------------------------------------------------------------------------
    def _on_cloud_message(self, m: dict) -> None:
        if m["type"] in CloudSync.TYPES:
            self.sync.on_message(m)
        else:
            self.calls.on_message(m)

    def _on_cloud_link(self, up: bool) -> None:
        self.sync.on_link(up)
        self.calls.on_link(up)

    def _on_directory(self, residents) -> None:
        self.directory = Directory(residents, self.config.directory.display)
        self._redraw()
        self._spawn(asyncio.to_thread(self.store.replace_residents, residents))
        log.info("directory from the cloud: %d residents", len(residents))

    def _on_revocations(self, ids: list[str]) -> None:
        for credential_id in set(ids) - self.revoked:
            self._spawn(self.revoke(credential_id, "cloud"))

    def _on_settings(self, settings: dict) -> None:
        self._apply_settings(settings)
        self._spawn(asyncio.to_thread(self.store.set_meta, "settings", json.dumps(settings)))

    def _apply_settings(self, settings: dict) -> None:
        self.allow_visitors = settings.get("allow_visitors", self.allow_visitors)
        self.visitor_limit_hours = settings.get("visitor_limit_hours", self.visitor_limit_hours)

    def _may_unlock(self, resident_id: str, device: str) -> bool:
        """Remote unlock: a resident of this property whose device and person are not revoked."""
        return (self.directory.get(resident_id) is not None and f"holder:{resident_id}" not in self.revoked
                and f"device:{device}" not in self.revoked)

    def _on_input(self, kind: str, info: dict) -> None:
        now = self.clock()
        if kind == "door_contact":
            self.door_contact = bool(info.get("open"))
            self.door_watch, alarms = door.contact(self.door_watch, self.door_contact, now)
            for alarm in alarms:
                self._alarm("contact", alarm)
            if self.door_contact:
                asyncio.get_running_loop().call_later(self.config.door.held_open_seconds, self._check_held)
        elif kind == "exit_pressed":
            self.dispatch(ev.DoorOpenRequested("exit"))
        elif kind == "tamper":
            if info.get("active"):
                self._alarm("tamper", "tamper")
            else:
                log.info("tamper switch restored")

    def _check_held(self) -> None:
        self.door_watch, alarms = door.check_held(self.door_watch, self.clock(), self.config.door.held_open_seconds)
        for alarm in alarms:
            self._alarm("contact", alarm)

    def _on_camera_fault(self, problem: str | None) -> None:
        if problem != self.camera_fault:
            (log.warning if problem else log.info)("camera: %s", problem or "delivering frames again")
        self.camera_fault = problem

    # -- loops ------------------------------------------------------------------------------
    async def _deadline_loop(self) -> None:
        """Sends Tick when the state's deadline passes (idle return, ring timeout, messages)."""
        while True:
            self._state_changed.clear()
            deadline = self.state.deadline
            timeout = None if deadline is None else max(0.0, deadline - self.clock())
            try:
                # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancel
                # that lands as the event is set, and this loop would then outlive shutdown.
                async with asyncio.timeout(timeout):
                    await self._state_changed.wait()
            except TimeoutError:
                self.dispatch(ev.Tick())

    async def _screen_loop(self) -> None:
        """Redraws for time-driven changes: the clock, the call timer, the ringing animation, the preview."""
        import pygame
        pressed_at = None
        while True:
            fast = self.window or self.state.screen is Screen.CALLING
            await asyncio.sleep(1 / 30 if fast else 0.5)
            if self.window:
                for e in pygame.event.get():
                    if e.type == pygame.QUIT:
                        self.stop()
                    elif e.type == pygame.MOUSEBUTTONDOWN and e.button == 1:
                        pressed_at = e.pos
                    elif e.type == pygame.MOUSEBUTTONUP and e.button == 1 and pressed_at is not None:
                        # A finger lifted: a tap where it went down, or a swipe (scrolls a list).
                        # SDL reports a release outside the window (mouse capture): keep it on screen.
                        width, height = self.display.size
                        to = (min(max(e.pos[0], 0), width - 1), min(max(e.pos[1], 0), height - 1))
                        self.touch(*pressed_at, to=to)
                        pressed_at = None
            self._redraw()

    async def _camera_loop(self) -> None:
        await self.scanner.run(self.camera.frames())

    async def _on_code(self, text: str) -> None:
        """A QR code was read: decide on the panel itself, with no network."""
        try:
            decision = verify(text, now=time.time(), door=self.config.panel.door_id, trusted_keys=self.trusted_keys,
                              is_revoked=self.revoked.__contains__,
                              is_holder_revoked=lambda holder: f"holder:{holder}" in self.revoked,
                              visitor_limit_hours=self.visitor_limit_hours,
                              allow_visitors=self.allow_visitors, replay=self.replay)
        except Exception:
            log.exception("checking a scanned code failed")
            self.dispatch(ev.CredentialChecked(False, "error"))
            return
        self.dispatch(ev.CredentialChecked(decision.ok, decision.reason, decision.holder_id, decision.holder_name,
                                           decision.kind, decision.credential_id))

    async def revoke(self, credential_id: str, reason: str = "") -> None:
        """Withdraw a credential (or "holder:<id>" for all of a holder's) now and across restarts."""
        self.revoked.add(credential_id)         # effective at once, before the disk write
        await asyncio.to_thread(self.store.revoke, credential_id, reason)

    def _redraw(self) -> None:
        if self.display is not None:
            if self.state.screen is Screen.HOME and self.camera is not None:
                self.display.set_preview(self.camera.latest)
            self.display.update(self.state, self._view())

    def _view(self) -> View:
        return View(self.config.screen.width, self.config.screen.height, self.config.panel.name,
                    self.strings, self.directory, self.clock())

    # -- what the local API asks for ---------------------------------------------------------
    def status(self) -> dict:
        s = self.state
        call = None
        if s.screen in (Screen.CALLING, Screen.IN_CALL):
            call = {"id": s.call_id, "resident_id": s.resident_id, "resident": s.resident_name,
                    "state": "in_call" if s.screen is Screen.IN_CALL else ("ringing" if s.ringing else "calling"),
                    "device": s.device or None, "via": s.ring_via or None}
        contact = "unknown" if self.door_contact is None else ("open" if self.door_contact else "closed")
        return {
            "panel": {"name": self.config.panel.name, "door_id": self.config.panel.door_id,
                      "version": __version__, "uptime_seconds": round(time.time() - self.started_at, 1)},
            "screen": s.screen.value,
            "call": call,
            "door": {"relay": "unlocked" if self.strike and self.strike.unlocked else "locked",
                     "contact": contact, "fault": (self.strike.fault if self.strike else None) or None,
                     "backend": self.config.door.backend},
            "cloud": {"link": "up" if s.cloud_online else ("down" if self.config.cloud.url else "not configured")},
            "camera": {"source": self.config.camera.source, "frames": self.camera.frames_delivered if self.camera
                       else 0, "fault": self.camera_fault},
        }

    async def events(self, after: int, limit: int) -> list[dict]:
        return [e.to_json() for e in await asyncio.to_thread(self.store.events, after, limit)]

    async def snapshot(self, event_id: int) -> bytes | None:
        return await asyncio.to_thread(self.store.snapshot, event_id)

    async def screen_png(self) -> bytes:
        self._redraw()
        rgb = self.display.renderer.rgb()           # copied on the loop thread, encoded off it
        return await asyncio.to_thread(encode_png, rgb)

    def ui(self) -> dict:
        self._redraw()
        return self.display.ui_json(self.state.screen.value)

    def touch(self, x: float, y: float, to: tuple[float, float] | None = None) -> dict:
        """A finger down at (x, y) and, for a swipe, lifted at `to` (a tap when None)."""
        width, height = self.display.size
        for px, py in ((x, y),) if to is None else ((x, y), to):
            if not (0 <= px < width and 0 <= py < height):
                raise ApiError(400, f"({px:g}, {py:g}) is outside the {width}x{height} screen")
        self._redraw()
        widget, events = self.display.tap(x, y) if to is None else self.display.drag(x, y, *to)
        for event in events:
            self.dispatch(event)
        return {"hit": widget.to_json() if widget else None, "screen": self.state.screen.value}

    async def inject_frame(self, data: bytes) -> dict:
        frame = await asyncio.to_thread(decode_image, data)
        if frame is None:
            raise ApiError(400, "the body is not an image OpenCV can read (send PNG or JPEG bytes)")
        self.camera.inject(frame)
        return {"accepted": True, "width": int(frame.shape[1]), "height": int(frame.shape[0])}

    def open_door(self, who: str) -> dict:
        self.dispatch(ev.DoorOpenRequested("api", who))
        return {"opening": True, "seconds": self.rules.pulse_seconds, "screen": self.state.screen.value}
