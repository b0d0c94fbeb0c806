"""Mosquitto (Debian's `mosquitto`) on a free port of 127.0.0.1, for the [mqtt] tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    """A broker with persistence in `folder`: stop() and start() again keep its sessions."""

    def __init__(self, folder: Path, port: int | None = None):
        self.folder, self.port = Path(folder), port or free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.conf = self.folder / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                             f"persistence_location {self.folder}/\nlog_dest file {self.folder}/log\n")
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> "Mosquitto":
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        end = time.monotonic() + timeout
        while True:                    # ready once it accepts connections (bounded)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > end:
                    raise AssertionError(f"mosquitto did not listen on {self.port}: "
                                         f"{self.proc.stderr.read().decode() if self.proc.poll() is not None else ''}")
                time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: mosquitto writes its persistence file (the sessions) before it exits."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
