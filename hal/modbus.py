"""A door relay on a Modbus RTU relay board: one coil, through pymodbus over pyserial.

Every command is write_coil then read_coils, so success means the board confirmed the
coil's state. pymodbus's own retries and reconnect loop are off: DoorStrike decides
when to try again, and each try reopens the port if it was lost, so a USB adapter
that is pulled out and plugged back in is picked up on the next command.
"""

from __future__ import annotations

import asyncio
import os

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from .relay import RelayError

__all__ = ["ModbusRelay"]


class ModbusRelay:
    def __init__(self, port: str, *, baudrate: int = 9600, unit: int = 1, coil: int = 0,
                 timeout: float = 0.5):
        self.port = port
        self.baudrate = baudrate
        self.unit = unit
        self.coil = coil
        self.timeout = timeout
        self.name = f"Modbus unit {unit} coil {coil} on {port}"
        self._client: AsyncModbusSerialClient | None = None

    async def set(self, energized: bool) -> None:
        client = await self._connect()
        try:
            reply = await client.write_coil(self.coil, energized, device_id=self.unit)
            self._check(reply, 5, "write")
            if reply.address != self.coil or bool(reply.bits[0]) != energized:
                self._drop()              # a late reply to an earlier request: start afresh
                raise RelayError(f"{self.name}: write got an out-of-step reply ({reply})")
            reply = await client.read_coils(self.coil, count=1, device_id=self.unit)
            self._check(reply, 1, "read back")
        except asyncio.CancelledError:
            self._drop()                  # RTU has no transaction ids: a late reply must not
            raise                         # be taken for the answer to the next request
        except ModbusIOException:
            self._drop()                  # a port that vanished is reopened next time
            if not os.path.exists(self.port):
                raise RelayError(f"{self.name}: serial port disappeared") from None
            raise RelayError(f"{self.name}: no answer within {self.timeout:g} s "
                             f"(board off, wrong unit id, wiring or baud rate?)") from None
        except ConnectionException as e:
            self._drop()
            raise RelayError(f"{self.name}: connection lost ({e})") from None
        except ModbusException as e:
            raise RelayError(f"{self.name}: {e}") from None
        if bool(reply.bits[0]) != energized:
            raise RelayError(f"{self.name} reads {'on' if reply.bits[0] else 'off'} "
                             f"after writing {'on' if energized else 'off'}")

    async def close(self) -> None:
        self._drop()

    def _check(self, reply, function_code: int, what: str) -> None:
        if reply.isError():
            raise RelayError(f"{self.name}: {what} refused by the board ({reply})")
        if reply.function_code != function_code:
            self._drop()                  # out of step with the board: start afresh
            raise RelayError(f"{self.name}: {what} got an unexpected reply ({reply})")

    async def _connect(self) -> AsyncModbusSerialClient:
        if self._client is not None and self._client.connected:
            return self._client
        self._drop()
        if "://" not in self.port:        # pyserial URLs (socket://, rfc2217://) have no file
            if not os.path.exists(self.port):
                raise RelayError(f"{self.name}: serial port not found")
            if not os.access(self.port, os.R_OK | os.W_OK):
                raise RelayError(f"{self.name}: permission denied (is this user in the dialout group?)")
        client = AsyncModbusSerialClient(self.port, framer=FramerType.RTU, baudrate=self.baudrate,
                                         timeout=self.timeout, retries=0, reconnect_delay=0)
        if not await client.connect():
            client.close()
            raise RelayError(f"{self.name}: cannot open the serial port (in use by another program?)")
        self._client = client
        return client

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
