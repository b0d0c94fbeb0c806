"""A HIL rig: the machine beside a panel that plays the visitor, the resident, the
property office and the hardware, and checks what the panel does from outside.

`Rig` is what acceptance flows use, and all they use: the panel's local API
(`panel`), its event stream (`events`), the dev cloud's staff API (`office`), the
rig's own eyes on the door relay (`strike`), the rig's way of showing a QR key to the
camera (`show_key`), and the few things only some rigs can do (stop the cloud,
unplug the relay board, restart the panel). `lacks(...)` says why a rig cannot do
something, so a flow skips with that reason instead of failing.

Rigs (how each is made: `emulator_rig`, `remote_rig`; tests/hil/conftest.py):
- emulator: `panel run` as a subprocess whose Modbus relay board (panel/sim on a pty)
  and dev cloud this process owns; keys go in through `POST camera/frame`.
- remote: a panel at a URL (another host, a network namespace): the API, the event
  stream and, given its URL and staff token, the cloud's staff API.
- hardware: a remote rig plus rig.toml's GPIO input wired to the relay contact
  (`GpioStrike`) and a screen in front of the camera (panel/remote/keyscreen.py).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import secrets
import string
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

import aiohttp

from .client import PanelClient
from .stream import EventStream


class Edge(NamedTuple):
    time: float          # time.monotonic()
    energized: bool


class StrikeWatch:
    """The rig's eyes on the door relay: every edge it saw, and bounded waits on them.
    Subclasses call `_edge(energized)` from the event loop."""

    name = "relay"

    def __init__(self):
        self.edges: list[Edge] = []
        self._changed = asyncio.Event()

    @property
    def energized(self) -> bool:
        return bool(self.edges) and self.edges[-1].energized

    def mark(self) -> int:
        return len(self.edges)

    async def wait(self, energized: bool, *, after: int, timeout: float, what: str = "") -> Edge:
        """The first edge to `energized` at or after `after`; AssertionError saying what was
        expected and every edge seen, after `timeout` s."""
        end = time.monotonic() + timeout
        while True:
            for edge in self.edges[after:]:
                if edge.energized == energized:
                    return edge
            left = end - time.monotonic()
            if left <= 0:
                seen = ", ".join("on" if e.energized else "off" for e in self.edges[after:]) or "no change"
                want = what or f"the {self.name} {'energized (door released)' if energized else 'off (door relocked)'}"
                raise AssertionError(f"timed out after {timeout:g} s waiting for {want}; seen at the "
                                     f"{self.name}: {seen} (now {'on' if self.energized else 'off'})")
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await changed.wait()

    def edges_since(self, mark: int) -> list[Edge]:
        return self.edges[mark:]

    def _edge(self, energized: bool) -> None:
        self.edges.append(Edge(time.monotonic(), energized))
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()


class BoardStrike(StrikeWatch):
    """The emulator's relay board (panel.sim.modbus_board.ModbusBoard) the rig owns:
    the door is released when the board's coil is on, whatever the panel says."""

    def __init__(self, board, coil: int = 0):
        super().__init__()
        self.board, self.coil = board, coil
        self.name = f"Modbus board's coil {coil}"
        self._seen = 0
        self._task = asyncio.create_task(self._follow(), name="hil-board-watch")

    async def _follow(self) -> None:
        while True:
            for t in self.board.transitions[self._seen:]:
                if t.coil == self.coil:
                    self._edge(t.state)
            self._seen = len(self.board.transitions)
            await self.board._event().wait()

    def unplug(self) -> None:
        """The panel's serial port vanishes (the USB-RS485 adapter pulled out)."""
        self.board.unplug_port()

    def plug(self) -> None:
        self.board.plug_port()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class GpioStrike(StrikeWatch):
    """A rig's GPIO input wired to the panel relay's contact (gpiozero: lgpio on the rig's
    Pi, a MockFactory pin in tests). `active_high`: the input reads high while the relay
    is energized."""

    def __init__(self, pin: int, *, pin_factory=None, active_high: bool = True):
        super().__init__()
        from gpiozero import DigitalInputDevice
        self.name = f"rig's GPIO{pin} (relay contact)"
        loop = asyncio.get_running_loop()
        # active_high: pulled down, the contact brings 3.3 V; else pulled up, the contact grounds it.
        self.input = DigitalInputDevice(pin, pull_up=not active_high, pin_factory=pin_factory)
        # gpiozero calls back on its own thread: hand each edge to the loop.
        self.input.when_activated = lambda: loop.call_soon_threadsafe(self._edge, True)
        self.input.when_deactivated = lambda: loop.call_soon_threadsafe(self._edge, False)
        if self.input.is_active:
            self._edge(True)

    async def close(self) -> None:
        self.input.close()


class GpioOutput:
    """One of the rig's GPIO outputs driving a panel input: its relay on the exit button, or
    (a door rig) the panel's door contact. `on()` closes it."""

    def __init__(self, pin: int, *, pin_factory=None, active_high: bool = True):
        from gpiozero import DigitalOutputDevice
        self.device = DigitalOutputDevice(pin, active_high=active_high, initial_value=False, pin_factory=pin_factory)

    async def on(self) -> None:
        self.device.on()

    async def off(self) -> None:
        self.device.off()

    async def close(self) -> None:
        self.device.close()


def blank_png(width: int = 64, height: int = 48, grey: int = 128) -> bytes:
    """A plain grey PNG (no QR code in it)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes([grey]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


# -- the property office ---------------------------------------------------------------------

class OfficeError(AssertionError):
    """The staff API refused a request (its status and message)."""


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    first_name: str
    last_name: str
    unit: str
    app_link: str


class Office:
    """The dev cloud's staff API (panel/sim/admin.py), with the staff token the demo prints."""

    def __init__(self, url: str, staff_token: str, *, fingerprint: str | None = None):
        self.url = url.rstrip("/")
        self.staff_token = staff_token
        ssl = aiohttp.Fingerprint(bytes.fromhex(fingerprint.replace(":", ""))) if fingerprint else None
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20),
                                             connector=aiohttp.TCPConnector(ssl=ssl) if ssl else None)

    async def close(self) -> None:
        await self.session.close()

    async def _call(self, method: str, path: str, *, staff: bool = True, want: str = "json", **kwargs):
        headers = {"Authorization": f"Bearer {self.staff_token}"} if staff else {}
        async with self.session.request(method, self.url + path, headers=headers, **kwargs) as r:
            if not 200 <= r.status < 300:
                raise OfficeError(f"{method} {path}: HTTP {r.status}: {(await r.text())[:300]}")
            return await r.json() if want == "json" else await r.text()

    async def move_in(self, *, first_name: str = "Hil", last_name: str | None = None, unit: str = "HIL") -> Tenant:
        """A new resident (a unique last name of letters, so the panel's keyboard can type it)."""
        last_name = last_name or "Rig" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(6))
        t = await self._call("POST", "/api/admin/residents",
                             json={"first_name": first_name, "last_name": last_name, "unit": unit})
        return Tenant(t["id"], t["name"], t["first_name"], t["last_name"], t["unit"], t["app_link"])

    async def move_out(self, resident_id: str) -> None:
        await self._call("DELETE", f"/api/admin/residents/{resident_id}")

    async def settings(self, **changes) -> dict:
        if changes:
            return await self._call("PUT", "/api/admin/settings", json=changes)
        return await self._call("GET", "/api/admin/settings")

    async def invite(self, *, hours_from: float = -0.02, hours_until: float = 1.0, doors=("main",),
                     name: str = "Rig Visitor", by: Tenant | None = None) -> bytes:
        """A visitor invitation valid from now + hours_from to now + hours_until, activated as
        the visitor would (the link in the e-mail): the QR key's PNG. `by`: a resident invites
        (their key then dies with their tenancy); else the staff."""
        email = f"visitor-{secrets.token_hex(4)}@rig.example"
        now = time.time()
        body = {"name": name, "email": email, "from": now + hours_from * 3600, "until": now + hours_until * 3600,
                "doors": list(doors)}
        if by is None:
            await self._call("POST", "/api/admin/invitations", json=body)
        else:
            q = parse_qs(urlsplit(by.app_link).query)
            await self._call("POST", "/api/resident/invitations", staff=False, json=body,
                             params={"resident": q["resident"][0], "token": q["token"][0]})
        mails = [m for m in await self._call("GET", "/api/admin/mail") if m["to"] == email]
        if not mails:
            raise OfficeError(f"no invitation e-mail to {email} in the cloud's mail sink")
        link = re.search(r"https?://\S+/invite/\S+", mails[-1]["text"])
        if not link:
            raise OfficeError(f"no activation link in the invitation e-mail: {mails[-1]['text']!r}")
        async with self.session.get(link[0]) as r:
            page = await r.text()
            if r.status != 200:
                raise OfficeError(f"GET {link[0]}: HTTP {r.status}: {page[:300]}")
        png = re.search(r'src="data:image/png;base64,([^"]+)"', page)
        if not png:
            raise OfficeError(f"no QR image on the visitor's activation page: {page[:300]!r}")
        return base64.b64decode(png[1])

    async def log(self) -> list[dict]:
        return await self._call("GET", "/api/admin/log")


# -- the rig -------------------------------------------------------------------------------------

@dataclass
class Timing:
    pulse_seconds: float = 5.0            # the panel's door.pulse_seconds
    ring_timeout_seconds: float = 30.0    # the panel's call.ring_timeout_seconds
    slack_seconds: float = 5.0            # added to every wait for the panel (network, a loaded Pi)
    held_open_seconds: float = 30.0       # the panel's door.held_open_seconds


@dataclass
class Rig:
    panel: PanelClient
    events: EventStream
    timing: Timing = field(default_factory=Timing)
    fingerprint: str | None = None        # the panel's TLS certificate SHA-256 (an https API)
    office: Office | None = None
    strike: StrikeWatch | None = None
    door_sensing: bool = False            # the rig can open and close the door (its contact)
    open_door_by_hand: Callable[[], Awaitable[None]] | None = None
    close_door_by_hand: Callable[[], Awaitable[None]] | None = None
    exit_button: object | None = None     # GpioOutput: the rig's relay on the panel's exit button
    show_key: Callable[[bytes], Awaitable[None]] | None = None     # a QR key's PNG in front of the camera
    hide_key: Callable[[], Awaitable[None]] | None = None          # and away again
    issuer: object | None = None          # panel.sim.issuer.DevIssuer: keys the office cannot issue
    stop_cloud: Callable[[], Awaitable[None]] | None = None
    start_cloud: Callable[[], Awaitable[None]] | None = None
    restart_panel: Callable[[bool], Awaitable[None]] | None = None      # restart_panel(kill)
    kind: str = "remote"
    describe_panel: Callable[[], str] | None = None     # the panel's own output, for a failure message
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def __post_init__(self):
        if self.show_key is None:
            self.show_key = self._post_frame
        if self.hide_key is None:
            self.hide_key = self._post_blank

    async def _post_frame(self, png: bytes) -> None:
        await self.panel.inject_frame(png)

    async def _post_blank(self) -> None:
        # The camera keeps showing a posted frame for a while: a plain one takes the key away,
        # as a visitor lowering their phone does (else the panel reads it again and again).
        await self.panel.inject_frame(blank_png())

    def lacks(self, *needs: str) -> str | None:
        """Why this rig cannot run a flow that needs these, or None. Needs: "office",
        "strike", "door_sensing", "issuer", "cloud_control", "relay_unplug", "restart", "exit_button"."""
        reasons = {
            "office": (self.office, "no dev cloud staff API (give --cloud URL --staff-token T)"),
            "strike": (self.strike, "the rig does not watch the door relay (rig.toml [rig] relay_input_pin)"),
            "door_sensing": (self.door_sensing or None, "the rig cannot open the door by hand: no door contact it "
                                                       "drives (rig.toml [rig] contact_output_pin)"),
            "issuer": (self.issuer, "the rig has no issuer key of its own (keys for another door)"),
            "cloud_control": (self.stop_cloud, "the rig cannot take the cloud down (it does not run it)"),
            "relay_unplug": (getattr(self.strike, "unplug", None), "the rig cannot unplug the relay board"),
            "restart": (self.restart_panel, "the rig cannot restart the panel"),
            "exit_button": (self.exit_button, "the rig has no relay on the exit button (rig.toml [rig] exit_output_pin)"),
        }
        for need in needs:
            have, why = reasons[need]
            if not have:
                return why
        return None

    def wait_for_panel(self, seconds: float) -> float:
        """A bound for something the panel does within `seconds`: plus the rig's slack."""
        return seconds + self.timing.slack_seconds

    async def door_released_by(self, action: Callable[[], Awaitable[object]], *, what: str,
                               then: Callable[[], Awaitable[object]] | None = None) -> dict:
        """Do `action` and see the door released at the relay (then do `then`), and relocked
        within the pulse."""
        strike_mark, mark = self.strike.mark(), self.events.mark()
        await action()
        on = await self.strike.wait(True, after=strike_mark, timeout=self.wait_for_panel(2),
                                    what=f"the door released ({what}) at the {self.strike.name}")
        if then is not None:
            await then()
        off = await self.strike.wait(False, after=strike_mark, timeout=self.wait_for_panel(self.timing.pulse_seconds),
                                     what=f"the door relocked after {what} at the {self.strike.name}")
        held = off.time - on.time           # for the report; the wait above bounds it
        await self.events.wait({"kind": "door", "state": "relocked"}, after=mark, timeout=self.wait_for_panel(2),
                               what="the panel telling the door relocked")
        return {"held_seconds": held}

    async def close(self) -> None:
        for close in reversed(self.closers):
            with contextlib.suppress(Exception):
                await close()

