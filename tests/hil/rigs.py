"""The rigs the suite runs on, made from the command line (conftest.py):

- `emulator_rig`: `panel run` as a subprocess with a Modbus relay board on a pty and
  the dev cloud, both owned by this process (the rig's hardware and office);
- `remote_rig`: a panel at `--panel URL`, with `--cloud URL --staff-token T` for the
  office, and rig.toml for the rig's own hardware (GPIO input on the relay contact, a
  screen in front of the camera).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tomllib
from pathlib import Path

from panel.config import Config
from panel.remote import PanelClient, PanelProcess
from panel.remote.rig import BoardStrike, GpioOutput, GpioStrike, Office, Rig, Timing
from panel.remote.stream import EventStream

PANEL_TOKEN = "hil-rig-token-0123456789abcdef"
PULSE_SECONDS = 1.0
RING_SECONDS = 6.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def emulator_config(folder: Path, *, board_port: str, cloud, port: int, host: str = "127.0.0.1",
                    rig_host: str = "127.0.0.1") -> Path:
    """The panel's config: its door on the rig's Modbus board, linked to the rig's cloud.
    ICE on the panel's address, with the rig's (where the resident's browser is) as peer."""
    ice = ", ".join(f'"{a}"' for a in dict.fromkeys((host, rig_host)))
    keys = ", ".join(f'"{k}" = "{v}"' for k, v in cloud.issuer.trusted_keys().items())
    text = f"""
[panel]
state_dir = "{folder / 'state'}"
door_id = "main"
log_level = "warning"

[screen]
message_seconds = 1.5
idle_seconds = 20

[door]
backend = "modbus"
pulse_seconds = {PULSE_SECONDS}

[modbus]
port = "{board_port}"
baudrate = 38400
timeout_seconds = 0.3

[gpio]
pin_factory = "mock"
contact_pin = -1
exit_pin = -1

[camera]
source = "synthetic"

[audio]
microphone = "tone"
speaker = "sink"

[api]
host = "{host}"
port = {port}
token = "{PANEL_TOKEN}"

[cloud]
url = "{cloud.panel_url}"
token = "{cloud.panel_token}"
allow_insecure = {"false" if host == "127.0.0.1" else "true"}     # ws:// to the rig across the veth

[call]
ring_timeout_seconds = {RING_SECONDS}
ice_addresses = [{ice}]

[access]
trusted_keys = {{ {keys} }}
dedupe_seconds = 0
"""
    path = folder / "panel.toml"
    path.write_text(text)
    return path


class Netns:
    """Another host for the panel: a network namespace joined to this one by a veth pair
    (rig 10.200.N.1/24, panel 10.200.N.2/24; N from the pid and a count, so sessions side
    by side do not collide). Needs root (CAP_NET_ADMIN); `up()` makes it, `down()` removes it."""

    made = 0

    def __init__(self):
        Netns.made += 1
        tag = f"{os.getpid()}{Netns.made}"
        n = (os.getpid() * 8 + Netns.made) % 250 + 1
        self.name, self.rig_end, self.panel_end = f"hil{tag}", f"hilr{tag}", f"hilp{tag}"
        self.rig_ip, self.panel_ip = f"10.200.{n}.1", f"10.200.{n}.2"

    @staticmethod
    def available() -> str | None:
        """Why a namespace cannot be made here, or None."""
        if not shutil.which("ip"):
            return "no `ip` command (iproute2)"
        if os.geteuid() != 0:
            return "making a network namespace needs root"
        return None

    def _ip(self, *args: str, netns: bool = False) -> None:
        cmd = ["ip", *(["netns", "exec", self.name, "ip"] if netns else []), *args]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(cmd)}: {done.stderr.strip()}")

    def up(self) -> Netns:
        self._ip("netns", "add", self.name)
        try:
            self._ip("link", "add", self.rig_end, "type", "veth", "peer", "name", self.panel_end)
            self._ip("link", "set", self.panel_end, "netns", self.name)
            self._ip("addr", "add", f"{self.rig_ip}/24", "dev", self.rig_end)
            self._ip("link", "set", self.rig_end, "up")
            self._ip("addr", "add", f"{self.panel_ip}/24", "dev", self.panel_end, netns=True)
            self._ip("link", "set", self.panel_end, "up", netns=True)
            self._ip("link", "set", "lo", "up", netns=True)
        except BaseException:
            self.down()
            raise
        return self

    def down(self) -> None:
        for args in (("link", "del", self.rig_end), ("netns", "del", self.name)):
            subprocess.run(["ip", *args], capture_output=True)

    def wrap(self, process: PanelProcess) -> PanelProcess:
        process.args = ["ip", "netns", "exec", self.name, *process.args]
        return process


async def emulator_rig(folder: Path, *, board_class=None, cloud_class=None, netns: bool = False) -> Rig:
    """The emulator: every peer the panel has is the rig's. board_class, cloud_class: other
    simulated peers (test_suite_itself.py breaks them on purpose). netns: the panel on
    another host (Netns), reached over a veth pair, HTTPS and all, never over loopback."""
    from panel.sim.cloud import DevCloud
    from panel.sim.modbus_board import ModbusBoard

    folder.mkdir(parents=True, exist_ok=True)
    net = Netns().up() if netns else None
    rig_ip, panel_ip = (net.rig_ip, net.panel_ip) if net else ("127.0.0.1", "127.0.0.1")
    board = (board_class or ModbusBoard)(baudrate=38400, directory=str(folder))
    await board.start()
    cloud = (cloud_class or DevCloud)(Config().property_file, panel_token="hil-rig-panel-token", host=rig_ip)
    await cloud.start()
    config = emulator_config(folder, board_port=board.port, cloud=cloud, port=free_port(), host=panel_ip,
                             rig_host=rig_ip)

    def process() -> PanelProcess:
        p = PanelProcess.run(config)
        return net.wrap(p) if net else p

    state = {"process": await process().astart()}
    started = state["process"]
    client = PanelClient(started.api_url, started.token, fingerprint=started.fingerprint)
    events = await EventStream(client).start()
    rig = Rig(panel=client, events=events, timing=Timing(PULSE_SECONDS, RING_SECONDS, 5.0),
              fingerprint=started.fingerprint,
              office=Office(cloud.url, cloud.staff_token), strike=BoardStrike(board), issuer=cloud.issuer,
              kind="emulator in a network namespace" if net else "emulator")
    rig.describe_panel = lambda: state["process"].describe()

    async def restart_panel(kill: bool) -> None:
        old = state["process"]
        await (old.akill() if kill else old.astop())
        state["process"] = new = await process().astart()
        # Same port and token (and certificate, kept in the state folder): the client and
        # the stream reconnect to the new process.
        await rig.panel.close()
        rig.panel = rig.events.client = PanelClient(new.api_url, new.token, fingerprint=new.fingerprint)

    async def stop_cloud() -> None:
        await cloud.stop()

    async def start_cloud() -> None:
        await cloud.start()

    async def close() -> None:
        await rig.events.close()
        await rig.panel.close()
        await rig.office.close()
        await state["process"].astop()
        await rig.strike.close()
        await cloud.stop()
        await board.close()
        if net:
            net.down()

    rig.restart_panel, rig.stop_cloud, rig.start_cloud = restart_panel, stop_cloud, start_cloud
    rig.closers.append(close)
    return rig


def load_rig_toml(path: str | None) -> dict:
    if not path:
        return {}
    with open(path, "rb") as f:
        return tomllib.load(f)


async def remote_rig(url: str, token: str, *, fingerprint: str | None = None, cloud: str | None = None,
                     staff_token: str | None = None, rig_toml: str | None = None, pin_factory=None) -> Rig:
    """A panel somewhere else; what the rig has besides its API comes from the options and rig.toml.

    rig.toml:
        [panel]   pulse_seconds, ring_timeout_seconds (as the panel is configured), fingerprint
        [rig]     relay_input_pin (the rig's GPIO wired to the relay contact), relay_active_high,
                  contact_output_pin (the rig's relay in the panel's door contact loop: opens
                  the door "by hand"), exit_output_pin (the rig's relay on the exit button),
                  pin_factory ("lgpio" on the rig's Pi), key_screen (true: QR keys on the rig's
                  screen in front of the camera, else POST camera/frame), fullscreen, slack_seconds
        [panel]   held_open_seconds too, for the held-open alarm
    """
    spec = load_rig_toml(rig_toml)
    p, r = spec.get("panel", {}), spec.get("rig", {})
    client = PanelClient(url, token, fingerprint=fingerprint or p.get("fingerprint"))
    timing = Timing(float(p.get("pulse_seconds", 5.0)), float(p.get("ring_timeout_seconds", 30.0)),
                    float(r.get("slack_seconds", 5.0)), float(p.get("held_open_seconds", 30.0)))
    events = await EventStream(client).start()
    rig = Rig(panel=client, events=events, timing=timing, kind="remote",
              fingerprint=fingerprint or p.get("fingerprint"))
    rig.closers += [events.close, client.close]
    if cloud and staff_token:
        rig.office = Office(cloud, staff_token)
        rig.closers.append(rig.office.close)
    if pin_factory is None and r.get("pin_factory"):
        from hal.gpio import make_pin_factory
        pin_factory = make_pin_factory(r["pin_factory"])
    if "contact_output_pin" in r:
        # The rig's relay in series with the door contact: energized = the loop broken = door open.
        contact = GpioOutput(int(r["contact_output_pin"]), pin_factory=pin_factory)
        rig.door_sensing, rig.open_door_by_hand, rig.close_door_by_hand = True, contact.on, contact.off
        rig.closers.append(contact.close)
    if "exit_output_pin" in r:
        rig.exit_button = GpioOutput(int(r["exit_output_pin"]), pin_factory=pin_factory)
        rig.closers.append(rig.exit_button.close)
    if "relay_input_pin" in r:
        rig.strike = GpioStrike(int(r["relay_input_pin"]), pin_factory=pin_factory,
                                active_high=bool(r.get("relay_active_high", True)))
        rig.closers.append(rig.strike.close)
        rig.kind = "hardware"
    if r.get("key_screen"):
        from panel.remote.keyscreen import KeyScreen
        screen = KeyScreen(fullscreen=bool(r.get("fullscreen", True)))
        rig.show_key, rig.hide_key = screen.show, screen.hide
        rig.closers.append(screen.close)
    return rig
