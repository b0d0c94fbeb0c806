"""A serial port as a libosdp channel (pyserial), that survives the port going away."""

from __future__ import annotations

import contextlib
import os
import time

import osdp
import serial

from ..relay import RelayError

__all__ = ["SerialChannel"]


class SerialChannel(osdp.Channel):
    """A serial port as a libosdp channel. Never raises into libosdp (its C code would
    carry the exception into the next call): a port that fails is closed, `error`
    says why, and it is reopened on a later read once the path is back."""

    REOPEN_SECONDS = 0.2

    def __init__(self, port: str, baudrate: int):
        super().__init__()
        self.port, self.baudrate = port, baudrate
        self.error: str | None = None
        self.bytes_in = 0
        self.bytes_out = 0
        self._serial: serial.Serial | None = None
        self._next_try = 0.0

    def open(self) -> None:
        """Open now, raising RelayError with a clear reason (used once at start-up)."""
        if "://" not in self.port:
            if not os.path.exists(self.port):
                raise RelayError(f"OSDP: serial port {self.port} not found")
            if not os.access(self.port, os.R_OK | os.W_OK):
                raise RelayError(f"OSDP: serial port {self.port}: permission denied "
                                 f"(is this user in the dialout group?)")
        if not self._try_open():
            raise RelayError(f"OSDP: cannot open serial port {self.port}: {self.error}")

    def fileno(self) -> int | None:
        return self._serial.fileno() if self._serial is not None else None

    def close(self) -> None:
        if self._serial is not None:
            with contextlib.suppress(Exception):
                self._serial.close()
            self._serial = None

    def read(self, max_bytes: int) -> bytes:
        if self._serial is None and not self._try_open():
            return b""
        try:
            data = os.read(self._serial.fileno(), max_bytes)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as e:
            self._fail(e)
            return b""
        # (Empty is "nothing yet": pyserial sets VMIN=0, VTIME=0; a vanished port reads EIO.)
        self.bytes_in += len(data)
        return data

    def write(self, buf: bytes) -> int:
        if self._serial is None and not self._try_open():
            return -1
        try:
            n = os.write(self._serial.fileno(), buf)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError as e:
            self._fail(e)
            return -1
        self.bytes_out += n
        return n

    def flush(self) -> None:
        if self._serial is not None:
            with contextlib.suppress(Exception):
                self._serial.reset_input_buffer()

    def _try_open(self) -> bool:
        now = time.monotonic()
        if now < self._next_try:
            return False
        self._next_try = now + self.REOPEN_SECONDS
        try:
            self._serial = serial.Serial(self.port, self.baudrate, timeout=0, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as e:
            self._serial = None
            self.error = "serial port disappeared" if not os.path.exists(self.port) else str(e)
            return False
        self.error = None
        return True

    def _fail(self, e: OSError) -> None:
        self.close()
        self.error = ("serial port disappeared" if "://" not in self.port and not os.path.exists(self.port)
                      else f"serial port error: {e.strerror or e}")
        self._next_try = time.monotonic() + self.REOPEN_SECONDS
