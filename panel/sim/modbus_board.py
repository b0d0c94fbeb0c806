"""A simulated Modbus RTU relay board, served by pymodbus's own serial server on a pty.

Serial ports need a path at both ends, and a single pty pair has one (the slave's
/dev/pts/N; the master is only an fd). So `PtyCable` joins two pty pairs, in
process, the way `socat PTY,link=A,raw PTY,link=B,raw` would: the board's server
opens one slave, the panel's client the other, each through a stable symlink.
A pty delivers bytes instantly whatever its baud rate, so the cable paces them at
the configured rate (10 bits a byte, 8N1) to behave like a real line.

`ModbusBoard` records every coil transition with its time (time.monotonic, the
asyncio clock), answers only its own unit id (a wrong id gets silence, as on
RS-485), and can be stopped and restarted (a hung or killed board) or have the
panel's port unplugged and plugged back (a USB adapter pulled out).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
import tty
from collections.abc import Callable
from typing import NamedTuple

from pymodbus import FramerType
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice

__all__ = ["PtyCable", "CablePeer", "ModbusBoard", "Transition"]


class Transition(NamedTuple):
    time: float      # time.monotonic()
    coil: int
    state: bool


class _End:
    def __init__(self, path: str):
        self.path = path
        self.master: int | None = None
        self.slave: int | None = None    # held open so the master never sees a hang-up


class PtyCable:
    """A null-modem cable between two serial-port paths, on the running event loop."""

    def __init__(self, path_a: str, path_b: str, *, baudrate: int = 9600, pace: bool = True):
        self.ends = {path_a: _End(path_a), path_b: _End(path_b)}
        self.byte_time = 10 / baudrate if pace else 0.0
        self._free_at = {path_a: 0.0, path_b: 0.0}   # when the line towards each end is idle

    def plug(self, path: str) -> None:
        end = self.ends[path]
        if end.master is not None:
            return
        end.master, end.slave = os.openpty()
        tty.setraw(end.slave)             # no echo or line editing before a port opens it
        os.set_blocking(end.master, False)
        tmp = f"{path}.tmp"
        os.symlink(os.ttyname(end.slave), tmp)
        os.replace(tmp, path)
        asyncio.get_running_loop().add_reader(end.master, self._forward, end)

    def unplug(self, path: str) -> None:
        """The port disappears: its path is removed, an open port reads an I/O error."""
        end = self.ends[path]
        if end.master is None:
            return
        asyncio.get_running_loop().remove_reader(end.master)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(end.master)
        os.close(end.slave)
        end.master = end.slave = None

    def close(self) -> None:
        for path in self.ends:
            self.unplug(path)

    def _forward(self, src: _End) -> None:
        try:
            data = os.read(src.master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.unplug(src.path)
            return
        (dst,) = (e for e in self.ends.values() if e is not src)
        loop = asyncio.get_running_loop()
        if not self.byte_time:
            self._deliver(dst, data)
            return
        # The last byte arrives after the whole frame has crossed the wire.
        self._free_at[dst.path] = max(loop.time(), self._free_at[dst.path]) + len(data) * self.byte_time
        loop.call_at(self._free_at[dst.path], self._deliver, dst, data)

    @staticmethod
    def _deliver(dst: _End, data: bytes) -> None:
        if dst.master is None:
            return                        # unplugged: the bytes fall on the floor
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(dst.master, data)    # a full input queue drops bytes, as a UART would


class CablePeer:
    """What a simulated device on a PtyCable shares: the panel's end (`port`) can be
    unplugged and plugged back, the device restarted, and tests wait on what it did.
    Subclasses have `cable`, `port`, `_port_unplugged`, `_changed` (None at first),
    async `start()` / `stop(power_loss=)`, and call `_wake()` whenever something happened."""

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until predicate() holds, re-checked whenever the device did something."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._event().wait()

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _wake(self) -> None:
        event, self._changed = self._event(), None
        event.set()

    async def restart(self, *, power_loss: bool = False) -> None:
        await self.stop(power_loss=power_loss)
        await self.start()

    def unplug_port(self) -> None:
        """The panel's serial port vanishes (USB-RS485 adapter pulled out)."""
        self._port_unplugged = True
        self.cable.unplug(self.port)

    def plug_port(self) -> None:
        self._port_unplugged = False
        self.cable.plug(self.port)


class _OneUnit:
    """pymodbus's SimCore answers unknown unit ids with an exception (a KeyError
    inside, even with ignore_missing_devices); a board on RS-485 stays silent."""

    def __init__(self, core, unit: int):
        self.core, self.unit = core, unit

    def device_ids(self) -> list[int]:
        return [self.unit]

    async def async_getValues(self, device_id, *args):
        if device_id != self.unit:
            raise NoSuchIdException(f"unit {device_id}")
        return await self.core.async_getValues(device_id, *args)

    async def async_setValues(self, device_id, *args):
        if device_id != self.unit:
            raise NoSuchIdException(f"unit {device_id}")
        return await self.core.async_setValues(device_id, *args)


class ModbusBoard(CablePeer):
    """A relay board with `coils` relays on Modbus unit `unit`; the panel opens `port`.

    Use `async with ModbusBoard() as board:` or start()/close().
    """

    def __init__(self, *, unit: int = 1, coils: int = 16, baudrate: int = 9600, pace: bool = True,
                 directory: str | None = None):
        self.unit = unit
        self.baudrate = baudrate
        self._own_dir = directory is None
        self.directory = directory or tempfile.mkdtemp(prefix="modbus-board-")
        self.port = os.path.join(self.directory, "panel-port")      # what the client opens
        self.board_port = os.path.join(self.directory, "board-port")
        self.cable = PtyCable(self.board_port, self.port, baudrate=baudrate, pace=pace)
        self.coils = [False] * coils
        self.transitions: list[Transition] = []
        self._server: ModbusSerialServer | None = None
        self._changed: asyncio.Event | None = None
        self._port_unplugged = False

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        """Power the board up (again): it answers with the coil states it holds."""
        if self._server is not None:
            return
        self.cable.plug(self.board_port)
        if not self._port_unplugged:
            self.cable.plug(self.port)
        n = len(self.coils)
        device = SimDevice(self.unit, simdata=(
            [SimData(0, values=list(self.coils), datatype=DataType.BITS)],
            [SimData(0, values=[False] * n, datatype=DataType.BITS)],
            [SimData(0, count=1, values=0, datatype=DataType.REGISTERS)],
            [SimData(0, count=1, values=0, datatype=DataType.REGISTERS)],
        ), action=self._action)
        server = ModbusSerialServer(device, framer=FramerType.RTU, port=self.board_port,
                                    baudrate=self.baudrate, ignore_missing_devices=True)
        server.context = _OneUnit(server.context, self.unit)
        await server.serve_forever(background=True)
        self._server = server

    async def stop(self, *, power_loss: bool = False) -> None:
        """Stop answering. Relays stay as they were (a hung board, a cut bus) unless
        power_loss, when every relay drops."""
        if self._server is not None:
            server, self._server = self._server, None
            await server.shutdown()
        if power_loss:
            for coil, on in enumerate(self.coils):
                if on:
                    self._record(coil, False)

    async def close(self) -> None:
        await self.stop()
        self.cable.close()
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)

    async def __aenter__(self) -> ModbusBoard:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # -- what the board did ---------------------------------------------------------

    def transitions_of(self, coil: int = 0) -> list[Transition]:
        return [t for t in self.transitions if t.coil == coil]

    async def wait_coil(self, coil: int, state: bool, timeout: float = 5.0) -> None:
        await self.wait_for(lambda: self.coils[coil] == state, timeout)

    def _record(self, coil: int, state: bool) -> None:
        self.coils[coil] = state
        self.transitions.append(Transition(time.monotonic(), coil, state))
        self._wake()

    async def _action(self, function_code, start_address, address, count, registers, values):
        # Called by pymodbus before it applies a request; values is None for reads.
        if values is not None and function_code in (5, 15):
            for coil, value in enumerate(values, start=address):
                if coil < len(self.coils) and self.coils[coil] != bool(value):
                    self._record(coil, bool(value))
        return None
