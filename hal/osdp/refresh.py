"""Driving libosdp from a thread of ours: `RefreshThread` calls refresh() when the line
has bytes, a command was submitted, or the poll interval passed; `ControlPanel` is
libosdp's control panel without its own thread and event queue."""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
from collections.abc import Callable

import osdp

from .channel import SerialChannel

log = logging.getLogger(__name__)

__all__ = ["RefreshThread", "ControlPanel"]


class RefreshThread(threading.Thread):
    """Calls ctx.refresh() (holding `lock`) whenever the channel has bytes, wake() was
    called, or `interval` passed. libosdp takes a few refreshes to move a packet
    through its state machine, so for `burst` seconds after any traffic the thread
    refreshes every `fast_interval`. `hook`, if given, runs under the lock before each refresh."""

    def __init__(self, name: str, ctx, lock: threading.Lock, channel: SerialChannel,
                 interval: float = 0.01, hook: Callable[[], None] | None = None, *,
                 fast_interval: float = 0.0005, burst: float = 0.03):
        super().__init__(name=name, daemon=True)
        self.ctx, self.lock, self.channel, self.interval, self.hook = ctx, lock, channel, interval, hook
        self.fast_interval, self.burst = fast_interval, burst
        self._stop_event = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    def wake(self) -> None:
        if self._stop_event.is_set():
            return                        # the pipe may be closed, its number reused
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"!")

    def stop(self) -> None:
        if self._stop_event.is_set():
            return
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"!")
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(5)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def run(self) -> None:
        busy_until = 0.0
        readable = False                  # the last select saw bytes waiting
        while not self._stop_event.is_set():
            before = (self.channel.bytes_in, self.channel.bytes_out)
            with self.lock:
                try:
                    if self.hook is not None:
                        self.hook()
                    self.ctx.refresh()
                except Exception:
                    log.exception("libosdp refresh")
            now = time.monotonic()
            consumed = self.channel.bytes_in != before[0]
            if consumed or self.channel.bytes_out != before[1]:
                busy_until = now + self.burst
            timeout = self.fast_interval if now < busy_until else self.interval
            if readable and not consumed:
                # Bytes were waiting and libosdp did not take them (offline, buffer full):
                # wait instead of spinning on a readable descriptor.
                time.sleep(timeout)
                readable = False
                continue
            fd = self.channel.fileno()
            try:
                ready, _, _ = select.select([self._wake_r] + ([fd] if fd is not None else []), [], [], timeout)
            except (OSError, ValueError):  # the port closed under us: plain sleep
                ready = []
                time.sleep(timeout)
            readable = fd is not None and fd in ready
            if self._wake_r in ready:
                with contextlib.suppress(OSError):
                    os.read(self._wake_r, 4096)
                busy_until = time.monotonic() + self.burst


class ControlPanel(osdp.ControlPanel):
    """libosdp's ControlPanel without its own refresh thread and its event queue
    (which nobody would drain in a panel that runs for months)."""

    def _internal_event_handler(self, pd, event) -> int:
        try:
            if self.user_event_handler:
                self.user_event_handler(pd, event)
        except Exception:
            log.exception("OSDP event handler")
        return 0

    def _internal_command_completion_handler(self, pd, command, status) -> None:
        try:
            if self.user_command_completion_handler:
                self.user_command_completion_handler(self.pd_addr[pd], command, status)
        except Exception:
            log.exception("OSDP completion handler")
