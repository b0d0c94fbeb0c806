"""An OSDP (IEC 60839-11-5) reader on RS-485, seen from the control panel, through libosdp.

`OsdpReader` is the panel's side of one peripheral device (PD: a reader or a door
controller): its LED, buzzer, card reads, keypad and tamper switch, and one of its
outputs as the door relay, which makes it a `RelayBackend` for `DoorStrike`:

- `set(energized)`: permanent on / off (output control codes 2 / 1, which also
  abort a running timer); confirmed when the PD acknowledges the osdp_OUT command.
- `arm_pulse(seconds, energized=True)`: a temporary state that the PD times itself
  and then reverts to the permanent one (codes 5 / 6), so the door relocks even if
  the panel process dies. libosdp 3.2's Python binding passes only 8 bits of the
  timer: at most 25.5 s a command, so a longer hold is re-armed (see `MAX_PULSE`).
- `granted()` / `refused()` / `led()` / `beep()`: reader LED and buzzer feedback
  (granted = green and a short beep, refused = red and two beeps). Best effort:
  they return False instead of raising.
- Card reads, key presses and the reader's own tamper and power reports arrive as
  `on_event(event)` (hal.events) on the event loop's thread: `CardPresented`,
  `KeysPressed`, `TamperChanged(source="reader")`, `ReaderPowerChanged`,
  `ReaderOnline(secure)`, `ReaderOffline`. Other status reports are only logged.
- Secure channel when `scbk` (16 bytes, or 32 hex digits) is given: enforced, so a
  reader that cannot do it (wrong key, install mode) stays offline rather than
  talking in the clear.
- A PD that drops off the bus: libosdp keeps it offline for 300 s before it tries
  again. We re-enable it (disable_pd + enable_pd, which restarts the handshake)
  `reconnect_seconds` after libosdp declares it offline, and again after each
  failed attempt (the delay doubling up to `reconnect_max_seconds`), so a reader
  that was power-cycled is back within about that time. libosdp itself takes a
  PD that stops answering offline only after about 8 s of probing; a reader that
  reboots answers a probe with NAK (sequence) and is offline at once.

libosdp runs in a thread of ours (`hal.osdp.refresh.RefreshThread`) that calls refresh()
whenever the line has bytes, a command was submitted, or `poll_interval` passed; its
callbacks only hand their data to the event loop (call_soon_threadsafe). libosdp's C code logs on its own
(stdout); `log_level` sets how much (process-wide, one setting for every instance).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading

import osdp
from osdp import CardFormat, Command, CommandLEDColor, CompletionStatus, Event, EventNotification, LibFlag

from ..events import (CardPresented, deliver, HardwareEvent, KeysPressed, OnEvent, ReaderOffline, ReaderOnline,
                      ReaderPowerChanged, TamperChanged)
from ..relay import RelayError
from .channel import SerialChannel
from .refresh import ControlPanel, RefreshThread

log = logging.getLogger(__name__)

__all__ = ["OsdpReader", "LED_COLORS", "MAX_PULSE", "parse_scbk"]

MAX_PULSE = 25.5                 # seconds: an 8-bit timer_count in 100 ms units (libosdp 3.2 binding)
LED_COLORS = {"off": CommandLEDColor.Black, "red": CommandLEDColor.Red, "green": CommandLEDColor.Green,
              "amber": CommandLEDColor.Amber, "blue": CommandLEDColor.Blue,
              "magenta": CommandLEDColor.Magenta, "cyan": CommandLEDColor.Cyan,
              "white": CommandLEDColor.White}
_CARD_FORMATS = {CardFormat.Unspecified: "raw", CardFormat.Wiegand: "wiegand", CardFormat.ASCII: "ascii"}
_STATUS_NAMES = {CompletionStatus.Ok: "ok", CompletionStatus.Failed: "failed (NAK or no answer)",
                 CompletionStatus.Flushed: "flushed", CompletionStatus.Aborted: "aborted"}
_NOTIFY_PD_STATUS = EventNotification.PeripheralDeviceStatus
_NOTIFY_SC_STATUS = EventNotification.SecureChannelStatus


def parse_scbk(scbk: str | bytes | None) -> bytes | None:
    """A secure channel base key from config: 32 hex digits (or 16 bytes); empty = none."""
    if not scbk:
        return None
    key = bytes.fromhex(scbk) if isinstance(scbk, str) else bytes(scbk)
    if len(key) != 16:
        raise ValueError("an OSDP secure channel base key is 16 bytes (32 hex digits)")
    return key


def _key(cmd: dict) -> tuple:
    return tuple(sorted(cmd.items()))


class OsdpReader:
    """The OSDP PD at `address` on `port`; its output `output` is the door relay. See the module doc."""

    def __init__(self, port: str, *, baudrate: int = 115200, address: int = 0, output: int = 0,
                 scbk: str | bytes | None = None, reader: int = 0, timeout: float = 0.5,
                 reconnect_seconds: float = 1.0, reconnect_max_seconds: float = 5.0,
                 poll_interval: float = 0.01,
                 on_event: OnEvent | None = None,
                 log_level: int = osdp.LogLevel.Error):
        self.port, self.baudrate, self.address, self.output = port, baudrate, address, output
        self.scbk = parse_scbk(scbk)
        self.reader = reader
        self.timeout = timeout
        self.reconnect_seconds = reconnect_seconds
        self.reconnect_max_seconds = max(reconnect_seconds, reconnect_max_seconds)
        self._reconnect_delay = reconnect_seconds
        self.poll_interval = poll_interval
        self.on_event = on_event
        self.log_level = log_level
        self.name = f"OSDP reader {address} output {output} on {port}"
        self.online = False
        self.secure = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._cp: ControlPanel | None = None
        self._channel: SerialChannel | None = None
        self._thread: RefreshThread | None = None
        self._pending: dict[tuple, list[asyncio.Future]] = {}
        self._state_changed: asyncio.Event | None = None
        self._stale = False               # an output command went unanswered: flush the queue first
        self._reenable = False            # read by the refresh thread
        self._disable_sent = False
        self._reconnect: asyncio.TimerHandle | None = None
        self._offline_reason: str | None = None
        self._closed = False

    # -- RelayBackend ---------------------------------------------------------------

    async def set(self, energized: bool) -> None:
        await self._command({"command": Command.Output, "output_no": self.output,
                             "control_code": 2 if energized else 1, "timer_count": 0},
                            "switch on" if energized else "switch off", output=True)

    async def arm_pulse(self, seconds: float, *, energized: bool = True) -> float:
        """Energize (or de-energize) for `seconds`, timed by the PD, which then goes back
        to the permanent state the last set() left. Returns the time armed (capped at
        MAX_PULSE, rounded up to 100 ms). A later set() aborts the timer."""
        ticks = max(1, min(255, math.ceil(seconds * 10 - 1e-9)))
        await self._command({"command": Command.Output, "output_no": self.output,
                             "control_code": 5 if energized else 6, "timer_count": ticks},
                            f"timed {'on' if energized else 'off'}", output=True)
        return ticks / 10

    async def close(self) -> None:
        self._closed = True
        if self._reconnect is not None:
            self._reconnect.cancel()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.stop)
            self._thread = None
        if self._channel is not None:
            self._channel.close()
        self._cp = None
        for futures in self._pending.values():
            for f in futures:
                if not f.done():
                    f.set_exception(RelayError(f"{self.name}: closed"))
        self._pending.clear()

    # -- reader feedback ------------------------------------------------------------

    async def led(self, color: str, *, seconds: float | None = None, flash: bool = False,
                  led_number: int = 0) -> bool:
        """The reader's LED: `color` for `seconds` then back to its permanent state, or
        permanently (seconds=None). flash: 300 ms on, 300 ms off."""
        on, off = (3, 3) if flash else (1, 0)
        cmd = {"command": Command.LED, "reader": self.reader, "led_number": led_number,
               "control_code": 1 if seconds is None else 2, "on_count": on, "off_count": off,
               "on_color": LED_COLORS[color], "off_color": LED_COLORS["off"] if flash else LED_COLORS[color],
               "temporary": seconds is not None}
        if seconds is not None:
            cmd["timer_count"] = max(1, min(255, math.ceil(seconds * 10)))
        return await self._feedback(cmd, f"LED {color}")

    async def beep(self, count: int = 1, *, on: float = 0.2, off: float = 0.2) -> bool:
        """`count` beeps of `on` seconds with `off` seconds between them."""
        cmd = {"command": Command.Buzzer, "reader": self.reader, "control_code": 2,
               "on_count": max(1, min(255, round(on * 10))), "off_count": max(0, min(255, round(off * 10))),
               "rep_count": max(1, min(255, count))}
        return await self._feedback(cmd, "buzzer")

    async def granted(self, seconds: float = 3.0) -> bool:
        """Green LED for `seconds` and one short beep."""
        led, beep = await asyncio.gather(self.led("green", seconds=seconds), self.beep(1, on=0.2))
        return led and beep

    async def refused(self, seconds: float = 3.0) -> bool:
        """Red LED for `seconds` and two beeps."""
        led, beep = await asyncio.gather(self.led("red", seconds=seconds), self.beep(2, on=0.2, off=0.2))
        return led and beep

    # -- bus ------------------------------------------------------------------------

    async def open(self) -> None:
        """Start talking to the PD (set() does this itself). Raises RelayError for a
        port that is missing or cannot be opened; an absent PD is not an error here."""
        if self._closed:
            raise RelayError(f"{self.name}: closed")
        if self._cp is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._state_changed = asyncio.Event()
        channel = SerialChannel(self.port, self.baudrate)
        channel.open()
        flags = [LibFlag.EnableNotification] + ([LibFlag.EnforceSecure] if self.scbk else [])
        info = osdp.PDInfo(self.address, channel, scbk=self.scbk, flags=flags, name=f"reader-{self.address}")
        cp = ControlPanel([info], log_level=self.log_level, event_handler=self._on_osdp_event,
                           command_completion_handler=self._on_completion)
        cp.lock = threading.Lock()        # the wrapper's methods take it; our thread holds it to refresh
        self._channel, self._cp = channel, cp
        self._thread = RefreshThread(f"osdp-cp-{self.address}", cp.ctx, cp.lock, channel,
                                     self.poll_interval, self._before_refresh)
        self._thread.start()

    async def wait_online(self, timeout: float | None = None) -> None:
        """Until the PD is online (with the secure channel, when a key is set)."""
        await self.open()
        async with asyncio.timeout(timeout):
            while not self.online:
                await self._changed()

    def _changed(self):
        event = self._state_changed
        return event.wait()

    def _notify(self) -> None:
        event, self._state_changed = self._state_changed, asyncio.Event()
        event.set()

    async def _command(self, cmd: dict, what: str, *, output: bool = False) -> None:
        await self.open()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        try:
            async with asyncio.timeout_at(deadline):
                while not self.online:
                    await self._changed()
        except TimeoutError:
            raise RelayError(self._offline_message()) from None
        if self._closed:                  # closed while we waited for the reader
            raise RelayError(f"{self.name}: closed")
        if output and self._stale:
            self._cp.flush_commands(self.address)     # stale retries: only the latest state matters
            self._stale = False
        future = loop.create_future()
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        key = _key(cmd)
        self._pending.setdefault(key, []).append(future)
        try:
            if not self._cp.submit_command(self.address, cmd):
                raise RelayError(self._offline_message() if not self.online
                                 else f"{self.name}: libosdp refused the {what} command")
            self._thread.wake()
            async with asyncio.timeout_at(deadline):
                status = await future
        except TimeoutError:
            if output:
                self._stale = True
            error = self._channel.error if self._channel else None
            raise RelayError(f"{self.name}: {error}" if error else
                             f"{self.name}: no answer to {what} within {self.timeout:g} s") from None
        except asyncio.CancelledError:
            if output:
                self._stale = True
            raise
        finally:
            futures = self._pending.get(key, [])
            if future in futures:
                futures.remove(future)
            if not futures:
                self._pending.pop(key, None)
        if status != CompletionStatus.Ok:
            if output:
                self._stale = True
            raise RelayError(f"{self.name}: {what} {_STATUS_NAMES.get(status, status)}")

    async def _feedback(self, cmd: dict, what: str) -> bool:
        try:
            await self._command(cmd, what)
            return True
        except RelayError as e:
            log.warning("reader feedback: %s", e)
            return False

    def _offline_message(self) -> str:
        if self._channel is not None and self._channel.error:
            return f"{self.name}: {self._channel.error}"
        why = self._offline_reason or "no answer"
        hint = "reader off, wrong address, wiring or baud rate?"
        if self.scbk:
            hint = "reader off, wrong address, wiring, baud rate, or a secure channel key that does not match?"
        return f"{self.name}: reader offline ({why}; {hint})"

    # -- called on the refresh thread ----------------------------------------------

    def _before_refresh(self) -> None:
        if not self._reenable:
            return
        ctx = self._cp.ctx
        if ctx.is_pd_enabled(0):
            if not self._disable_sent:    # taken up once the command in flight is settled
                ctx.disable_pd(0)
                self._disable_sent = True
        else:
            ctx.flush_commands(0)
            ctx.enable_pd(0)
            self._reenable = self._disable_sent = False

    def _on_osdp_event(self, pd: int, event: dict) -> None:
        self._to_loop(self._handle_event, dict(event))

    def _on_completion(self, address: int, command: dict, status: int) -> None:
        self._to_loop(self._complete, _key(command), status)

    def _to_loop(self, fn, *args) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):      # loop closed: nobody to tell
            loop.call_soon_threadsafe(fn, *args)

    # -- on the loop ----------------------------------------------------------------

    def _complete(self, key: tuple, status: int) -> None:
        for future in self._pending.get(key, []):
            if not future.done():
                future.set_result(status)
                return

    def _handle_event(self, event: dict) -> None:
        kind = event.get("event")
        if kind == Event.Notification:
            if event["type"] == _NOTIFY_PD_STATUS:
                self._set_online(bool(event["arg0"]))
            elif event["type"] == _NOTIFY_SC_STATUS:
                self.secure = bool(event["arg0"])
        elif kind == Event.CardRead:
            fmt = _CARD_FORMATS.get(event.get("format"), str(event.get("format")))
            data = event.get("data", b"")
            self._emit(CardPresented(format=fmt, bits=event.get("length", len(data) * 8), data=data.hex(),
                                     reader=event.get("reader_no", 0)))
        elif kind == Event.KeyPress:
            self._emit(KeysPressed(keys=event.get("data", b"").decode("ascii", "replace"),
                                   reader=event.get("reader_no", 0)))
        elif kind == Event.Status:
            # libosdp 3.2: {"type", "report": one byte per entry}; local = [tamper, power failure].
            report = bytes(event.get("report", b""))
            if event.get("type") == osdp.StatusReportType.Local:
                if len(report) >= 1:
                    self._emit(TamperChanged(active=bool(report[0]), source="reader"))
                if len(report) >= 2:
                    self._emit(ReaderPowerChanged(ok=not report[1]))
            else:
                log.info("%s: status report type %s: %s", self.name, event.get("type"), list(report))

    def _set_online(self, online: bool) -> None:
        if online == self.online and online:
            return
        was = self.online
        self.online = online
        if online:
            self._offline_reason = None
            self._reconnect_delay = self.reconnect_seconds
            if self._reconnect is not None:
                self._reconnect.cancel()
                self._reconnect = None
            self._emit(ReaderOnline(secure=self.secure or bool(self.scbk)))
        else:
            self.secure = False
            if was:
                self._offline_reason = "stopped answering"
                self._emit(ReaderOffline())
            if not self._closed and self._reconnect is None:
                # Doubling up to reconnect_max_seconds: a reader that cannot come online
                # (wrong key) is retried without flooding the log.
                self._reconnect = self._loop.call_later(self._reconnect_delay, self._request_reenable)
                self._reconnect_delay = min(self._reconnect_delay * 2, self.reconnect_max_seconds)
        self._notify()

    def _request_reenable(self) -> None:
        self._reconnect = None
        if self._closed or self.online or self._thread is None:
            return
        self._reenable = True
        self._thread.wake()

    def _emit(self, event: HardwareEvent) -> None:
        if isinstance(event, ReaderOffline) or (isinstance(event, TamperChanged) and event.active):
            log.warning("%s: %s", self.name, event)
        deliver(self.on_event, event, log)
