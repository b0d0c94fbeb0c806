"""`python -m panel ...` as a subprocess: start it, read what it prints, stop it.

    with PanelProcess.demo(home=tmp_path) as demo:           # started, ready, stopped on exit
        print(demo.api_url, demo.token, demo.cloud_url, demo.staff_token)
        olivia = demo.resident("Olivia Smith").link

    panel = await PanelProcess.run(config_path).astart()     # the same from asyncio
    async with panel.client() as api: ...
    await panel.astop()

Every wait is bounded and fails with ProcessError saying what was expected and
what the process printed (stdout, and the tail of stderr), and its exit status.
The lines parsed are the ones panel/cli.py (and panel/sim/cloud_cli.py) print:

    Local API: http://127.0.0.1:PORT/api/v1  token: TOKEN
      TLS certificate SHA-256: AB:CD:...                              (when the API speaks HTTPS)
    Resident app (dev cloud http://127.0.0.1:PORT): ...              (demo)
      Olivia Smith (1A): http://127.0.0.1:PORT/app?resident=r01&token=...   (demo)
      scripts: export PANEL_CLOUD_URL=URL PANEL_STAFF_TOKEN=TOKEN; ...  (demo, cloud serve)
    Dev cloud: http://127.0.0.1:PORT                                  (cloud serve)
    Press Ctrl-C to stop.                                             (the panel is up)
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent      # the checkout: `python -m panel` imports this one

PANEL_READY = r"^Press Ctrl-C to stop\."
CLOUD_READY = r"PANEL_STAFF_TOKEN="


class ProcessError(AssertionError):
    """The process did not do what was expected (an AssertionError, so tests report it as a failure)."""


@dataclass(frozen=True)
class ResidentLink:
    """A demo resident as the demo prints them: the link signs the resident app in as them."""
    name: str
    unit: str
    id: str
    link: str


def default_env(headless: bool = True) -> dict[str, str]:
    """This environment, with SDL's dummy drivers and no display when headless."""
    env = {**os.environ}
    if headless:
        env.update(SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
    return env


class PanelProcess:
    def __init__(self, args: list[str], *, env: dict[str, str] | None = None, cwd: Path | str = ROOT,
                 ready: str = PANEL_READY, stderr_lines: int = 400, preexec_fn=None):
        self.args = [sys.executable, "-m", "panel", *args]
        self.env = {**(env if env is not None else default_env()), "PYTHONUNBUFFERED": "1"}
        self.cwd = cwd
        self.preexec_fn = preexec_fn        # run in the child before exec (e.g. resource limits)
        self.ready_pattern = re.compile(ready, re.M)
        self.proc: subprocess.Popen | None = None
        self.lines: list[str] = []                              # stdout, every line
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=stderr_lines)
        self._changed = threading.Condition()
        self._readers: list[threading.Thread] = []
        self._eof = 0

    # -- the ways the panel is started --------------------------------------------------------
    @classmethod
    def demo(cls, *, port: int = 0, headless: bool = True, home: Path | str | None = None,
             env: dict[str, str] | None = None, args: list[str] = ()) -> PanelProcess:
        """`panel` alone (the demo: firmware, dev cloud, demo property). `home`: a HOME of its
        own (the demo keeps its state under ~/.local/state)."""
        env = dict(env if env is not None else default_env(headless))
        if home is not None:
            env["HOME"] = str(home)
        return cls([*(["--headless"] if headless else []), "--port", str(port), *args], env=env)

    @classmethod
    def run(cls, config: Path | str, *, headless: bool = True, env: dict[str, str] | None = None,
            preexec_fn=None) -> PanelProcess:
        """`panel run --config FILE [--headless]`."""
        return cls(["run", "--config", str(config), *(["--headless"] if headless else [])],
                   env=env if env is not None else default_env(headless), preexec_fn=preexec_fn)

    @classmethod
    def cloud(cls, *, port: int = 0, env: dict[str, str] | None = None, args: list[str] = ()) -> PanelProcess:
        """`panel cloud serve` (the dev cloud alone): ready once it printed its staff token."""
        return cls(["cloud", "serve", "--port", str(port), *args], env=env, ready=CLOUD_READY)

    # -- life ---------------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> PanelProcess:
        """Start the process and wait (at most `timeout` s) until it printed its ready line."""
        self.proc = subprocess.Popen(self.args, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
                                     preexec_fn=self.preexec_fn)
        for stream, sink in ((self.proc.stdout, self.lines), (self.proc.stderr, self.stderr_tail)):
            t = threading.Thread(target=self._read, args=(stream, sink), daemon=True,
                                 name=f"panel-{self.proc.pid}-output")
            t.start()
            self._readers.append(t)
        try:
            self.wait_for(self.ready_pattern.pattern, timeout=timeout, what="its start-up lines")
        except BaseException:
            self.kill()
            raise
        return self

    async def astart(self, timeout: float = 30.0) -> PanelProcess:
        """start(), without blocking the event loop (a dev cloud in this loop keeps serving)."""
        return await asyncio.to_thread(self.start, timeout)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL if it has not exited after `timeout` s; the exit status."""
        if self.proc is None:
            raise ProcessError("stop(): the process was never started")
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._join_readers()
        return self.proc.returncode

    async def astop(self, timeout: float = 10.0) -> int:
        return await asyncio.to_thread(self.stop, timeout)

    def kill(self, timeout: float = 10.0) -> int:
        """kill -9 (the power cord): the process gets no chance to clean up."""
        if self.proc is None:
            raise ProcessError("kill(): the process was never started")
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                raise ProcessError(f"pid {self.proc.pid} still there {timeout:g} s after SIGKILL") from None
        self._join_readers()
        return self.proc.returncode

    async def akill(self, timeout: float = 10.0) -> int:
        return await asyncio.to_thread(self.kill, timeout)

    def wait_exit(self, timeout: float = 10.0) -> int:
        """Wait for the process to exit by itself; its exit status."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise ProcessError(f"expected the process to exit within {timeout:g} s; it runs on.\n"
                               f"{self.describe()}") from None

    def __enter__(self) -> PanelProcess:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.stop()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    # -- output -------------------------------------------------------------------------------
    def _read(self, stream, sink) -> None:
        for line in stream:
            with self._changed:
                sink.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._eof += 1
            self._changed.notify_all()

    def _join_readers(self) -> None:
        for t in self._readers:
            t.join(timeout=5)

    @property
    def stdout(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    @property
    def stderr(self) -> str:
        """The last lines of stderr (the log)."""
        with self._changed:
            return "\n".join(self.stderr_tail)

    def describe(self, stderr_lines: int = 30) -> str:
        """What a failure message needs: the command, its exit status, what it printed."""
        with self._changed:
            out, err = list(self.lines), list(self.stderr_tail)[-stderr_lines:]
        status = "not started" if self.proc is None else (
            "running" if self.proc.poll() is None else f"exited with status {self.proc.returncode}")
        return (f"command: {' '.join(self.args)} ({status})\n"
                f"stdout ({len(out)} lines):\n" + "".join(f"  | {line}\n" for line in out) +
                f"stderr (last {len(err)} lines):\n" + "".join(f"  | {line}\n" for line in err))

    def wait_for(self, pattern: str, timeout: float = 10.0, what: str | None = None) -> re.Match:
        """The first match of the regular expression `pattern` (multiline) in stdout, waiting
        at most `timeout` s for it; ProcessError if the process ends or the time runs out."""
        rx = re.compile(pattern, re.M)
        end = time.monotonic() + timeout
        with self._changed:
            while True:
                m = rx.search("\n".join(self.lines))
                if m:
                    return m
                left = end - time.monotonic()
                gone = self._eof >= len(self._readers) and self.proc.poll() is not None
                if gone or left <= 0:
                    why = "the process exited" if gone else f"nothing matched within {timeout:g} s"
                    raise ProcessError(f"expected {what or repr(pattern)} on stdout (/{pattern}/); {why}.\n"
                                       f"{self.describe()}")
                self._changed.wait(min(left, 0.5))

    def _find(self, pattern: str, what: str) -> re.Match:
        m = re.search(pattern, self.stdout, re.M)
        if not m:
            raise ProcessError(f"expected {what} in the start-up lines (/{pattern}/).\n{self.describe()}")
        return m

    # -- what it printed ----------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        """The local API root, e.g. http://127.0.0.1:8780/api/v1."""
        return self._find(r"Local API: (\S+)\s+token: (\S+)", "the local API line")[1]

    @property
    def token(self) -> str:
        return self._find(r"Local API: (\S+)\s+token: (\S+)", "the local API line")[2]

    @property
    def fingerprint(self) -> str | None:
        """The API's TLS certificate fingerprint (SHA-256), None when it speaks plain HTTP."""
        m = re.search(r"TLS certificate SHA-256: ([0-9A-F:]+)", self.stdout)
        return m[1] if m else None

    @property
    def cloud_url(self) -> str:
        """The dev cloud's URL (demo and `cloud serve`)."""
        return self._find(r"(?:dev cloud |Dev cloud: |PANEL_CLOUD_URL=)(http[^\s)]+)", "the dev cloud URL")[1]

    @property
    def staff_token(self) -> str:
        """The property office's token (PANEL_STAFF_TOKEN) of the dev cloud."""
        return self._find(r"PANEL_STAFF_TOKEN=([^\s;]+)", "the staff token")[1]

    @property
    def residents(self) -> list[ResidentLink]:
        """The demo residents' lines: name, unit, resident id and the resident app link."""
        return [ResidentLink(m[1], m[2], m[4], m[3]) for m in
                re.finditer(r"^  (.+) \(([^()]+)\): (http\S+/app\?resident=([^&\s]+)\S*)$", self.stdout, re.M)]

    def resident(self, name: str) -> ResidentLink:
        for r in self.residents:
            if r.name == name:
                return r
        raise ProcessError(f"no demo resident {name!r} among {[r.name for r in self.residents]}")

    def client(self, timeout: float = 30.0):
        """A PanelClient for this panel's API (close it, or use `async with`)."""
        from .client import PanelClient
        return PanelClient(self.api_url, self.token, timeout=timeout, fingerprint=self.fingerprint)

    def __repr__(self) -> str:
        return f"<PanelProcess {' '.join(self.args[2:])} pid={self.proc.pid if self.proc else None}>"
