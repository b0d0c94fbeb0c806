"""A simulated OSDP reader (peripheral device), run by libosdp's own PD on a pty pair.

The reader sits on one end of a `PtyCable` (the same null-modem cable as the Modbus
board, paced at the baud rate); the panel's `hal.osdp.OsdpReader` opens `port`, the
other end. It answers the control panel as a real reader does, because it is
libosdp's PD code, and it does what a reader's firmware would with the commands:

- outputs: control codes 1-6 of osdp_OUT, with the timers of the temporary ones
  (5: on for the timer then back to the permanent state, 6: off likewise), every
  transition recorded with its time (time.monotonic, the asyncio clock) and its cause
  (the panel's command, or the reader's own timer);
- LED and buzzer commands, recorded as they arrived;
- `present_card(...)`: a card read reported to the panel; `set_tamper(...)`.

`stop()` stops it answering (a hung reader or a cut bus: outputs and their timers
carry on, unless power_loss, when every output drops); `start()` brings it back as a
freshly booted device (new session, new secure channel), which is what makes
libosdp's control panel take it offline for 300 s unless the panel re-enables it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
import time
from typing import NamedTuple

import osdp
from osdp import CardFormat, Capability, Command, Event, LogLevel

from hal.osdp import RefreshThread, SerialChannel, parse_scbk
from panel.sim.modbus_board import CablePeer, PtyCable

__all__ = ["OsdpDevice", "OutputTransition", "Received"]


class OutputTransition(NamedTuple):
    time: float      # time.monotonic()
    output: int
    state: bool
    cause: str = "command"   # "command": an osdp_OUT from the panel; "timer": the reader's own timer ran out; "power"


class Received(NamedTuple):
    time: float
    command: dict    # as libosdp's PD handed it over: {"command": Command.LED, ...}


class _PeripheralDevice(osdp.PeripheralDevice):
    """libosdp's PD wrapper without its command queue (we record commands ourselves)."""

    def _internal_command_handler(self, command):
        return self.user_command_handler(command)


class OsdpDevice(CablePeer):
    """A reader at OSDP `address`; the panel opens `port`. `async with OsdpDevice() as reader:`."""

    def __init__(self, *, address: int = 0, baudrate: int = 115200, scbk: str | bytes | None = None,
                 outputs: int = 4, pace: bool = True, directory: str | None = None,
                 log_level: int = LogLevel.Error):
        self.address = address
        self.baudrate = baudrate
        self.scbk = parse_scbk(scbk)
        self.log_level = log_level
        self._own_dir = directory is None
        self.directory = directory or tempfile.mkdtemp(prefix="osdp-reader-")
        self.port = os.path.join(self.directory, "panel-port")
        self.device_port = os.path.join(self.directory, "reader-port")
        self.cable = PtyCable(self.device_port, self.port, baudrate=baudrate, pace=pace)
        self.outputs = [False] * outputs          # what each output does now
        self.permanent = [False] * outputs        # the state each output returns to after a timer
        self.transitions: list[OutputTransition] = []
        self.received: list[Received] = []       # every command, in order
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._pd: _PeripheralDevice | None = None
        self._thread: RefreshThread | None = None
        self._channel: SerialChannel | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self._port_unplugged = False

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def leds(self) -> list[dict]:
        return [r.command for r in self.received if r.command["command"] == Command.LED]

    @property
    def buzzes(self) -> list[dict]:
        return [r.command for r in self.received if r.command["command"] == Command.Buzzer]

    @property
    def secure(self) -> bool:
        return self._pd is not None and self._pd.is_sc_active()

    async def start(self) -> None:
        """Boot (again): a fresh libosdp PD, answering the panel from now on."""
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self.cable.plug(self.device_port)
        if not self._port_unplugged:
            self.cable.plug(self.port)
        caps = osdp.PDCapabilities([
            (Capability.OutputControl, 1, len(self.outputs)),
            (Capability.LEDControl, 1, 1),
            (Capability.AudibleControl, 1, 1),
            (Capability.CardDataFormat, 1, 1),
            (Capability.ContactStatusMonitoring, 1, 1),
            (Capability.CommunicationSecurity, 1 if self.scbk else 0, 1),
            (Capability.ReceiveBufferSize, 0, 1),
        ])
        self._channel = SerialChannel(self.device_port, self.baudrate)
        self._channel.open()
        flags = [osdp.LibFlag.EnforceSecure] if self.scbk else []
        info = osdp.PDInfo(self.address, self._channel, scbk=self.scbk, flags=flags, name="sim-reader")
        pd = _PeripheralDevice(info, caps, log_level=self.log_level, command_handler=self._on_command)
        pd.lock = threading.Lock()
        self._pd = pd
        self._thread = RefreshThread("osdp-sim-pd", pd.ctx, pd.lock, self._channel, 0.01)
        self._thread.start()

    async def stop(self, *, power_loss: bool = False) -> None:
        """Stop answering. Outputs (and their timers) carry on unless power_loss."""
        if self._thread is not None:
            thread, self._thread = self._thread, None
            await asyncio.to_thread(thread.stop)
            self._channel.close()
            self._pd = None
        if power_loss:
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
            for n, on in enumerate(self.outputs):
                self.permanent[n] = False
                if on:
                    self._record(time.monotonic(), n, False, "power")

    async def close(self) -> None:
        await self.stop()
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self.cable.close()
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)

    async def __aenter__(self) -> OsdpDevice:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # -- the reader's inputs ----------------------------------------------------------

    def present_card(self, data: bytes | int, bits: int = 26, *, format: str = "wiegand") -> None:
        """A card held to the reader: raw Wiegand bits (an int, or bytes MSB first), or ASCII."""
        if self._pd is None:
            raise RuntimeError("the reader is stopped")
        if format == "ascii":
            event = {"event": Event.CardRead, "reader_no": 0, "direction": 0, "format": CardFormat.ASCII,
                     "data": data.encode() if isinstance(data, str) else bytes(data)}
        else:
            if isinstance(data, int):
                data = (data << (-bits % 8)).to_bytes((bits + 7) // 8, "big")
            event = {"event": Event.CardRead, "reader_no": 0, "direction": 0,
                     "format": CardFormat.Wiegand if format == "wiegand" else CardFormat.Unspecified,
                     "length": bits, "data": bytes(data)}
        self._pd.submit_event(event)
        self._thread.wake()

    def set_tamper(self, active: bool, *, power_ok: bool = True) -> None:
        """The reader reports its case opened (or closed) in a local status report."""
        if self._pd is None:
            raise RuntimeError("the reader is stopped")
        self._pd.submit_event({"event": Event.Status, "type": osdp.StatusReportType.Local,
                               "report": bytes([int(active), int(not power_ok)])})
        self._thread.wake()

    # -- what the reader did ----------------------------------------------------------

    def transitions_of(self, output: int = 0) -> list[OutputTransition]:
        return [t for t in self.transitions if t.output == output]

    def timer_running(self, output: int = 0) -> bool:
        """A temporary state (codes 5/6) is timing on this output."""
        return output in self._timers

    def received_of(self, command: int) -> list[Received]:
        return [r for r in self.received if r.command["command"] == command]

    async def wait_output(self, output: int, state: bool, timeout: float = 5.0) -> None:
        await self.wait_for(lambda: self.outputs[output] == state, timeout)

    # -- firmware -------------------------------------------------------------------------

    def _on_command(self, command: dict):
        # On the PD's refresh thread: take the time now, act on the loop (in order).
        at = time.monotonic()
        if command.get("command") == Command.Output and command.get("output_no", 0) >= len(self.outputs):
            return -1, None               # NAK: no such output
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._apply, at, dict(command))
            except RuntimeError:
                pass
        return 0, None

    def _apply(self, at: float, command: dict) -> None:
        self.received.append(Received(at, command))
        if command["command"] == Command.Output:
            self._output(at, command["output_no"], command["control_code"], command["timer_count"])
        self._wake()

    def _output(self, at: float, n: int, code: int, ticks: int) -> None:
        timer = self._timers.get(n)
        if code in (1, 2):                 # permanent off / on, abort a timed operation
            self._cancel_timer(n)
            self.permanent[n] = code == 2
            self._set(at, n, code == 2)
        elif code in (3, 4):               # permanent off / on, let a timed operation finish
            self.permanent[n] = code == 4
            if timer is None:
                self._set(at, n, code == 4)
        elif code in (5, 6):               # temporary on / off for the timer, then permanent again
            self._cancel_timer(n)
            self._set(at, n, code == 5)
            if ticks:
                self._timers[n] = self._loop.call_later(max(0.0, at + ticks / 10 - time.monotonic()),
                                                        self._timer_expired, n)

    def _timer_expired(self, n: int) -> None:
        self._timers.pop(n, None)
        self._set(time.monotonic(), n, self.permanent[n], "timer")
        self._wake()

    def _cancel_timer(self, n: int) -> None:
        if (timer := self._timers.pop(n, None)) is not None:
            timer.cancel()

    def _set(self, at: float, n: int, state: bool, cause: str = "command") -> None:
        if self.outputs[n] != state:
            self._record(at, n, state, cause)

    def _record(self, at: float, n: int, state: bool, cause: str = "command") -> None:
        self.outputs[n] = state
        self.transitions.append(OutputTransition(at, n, state, cause))
        self._wake()
