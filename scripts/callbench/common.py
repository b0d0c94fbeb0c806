"""What the call benchmarks share: tokens and targets, the browser's flags, the panel
as its own process linked to a dev cloud here, a softphone on loopback, placing a call.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from pathlib import Path

from panel.remote import PanelClient, PanelProcess
from panel.remote.measure import Proc
from panel.remote.measure import percentile as pct  # noqa: F401  (the benchmarks' one percentile)
from panel.sim.cloud import DevCloud
from panel.sim.softphone import Softphone
from tests.support import until as wait_until

ROOT = Path(__file__).resolve().parent.parent.parent
OLIVIA, OLIVIA_NAME = "r01", "Olivia Smith"
API_TOKEN = "bench-api-token-0123456789"
PANEL_TOKEN = "bench-panel-token-0123456789"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
         "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
TARGET_RING_MS, TARGET_FRAME_MS, TARGET_DOOR_MS, TARGET_CPU = 100.0, 300.0, 50.0, 0.25


def ok(value: float, target: float) -> str:
    return "yes" if value < target else "**no**"


async def until(condition, timeout: float = 10.0, what: str = "condition", step: float = 0.005):
    return await wait_until(condition, timeout, what, step)


async def to_resident_row(api: PanelClient) -> tuple[float, float]:
    """Directory, O, L, I; returns where Olivia Smith's row is (the Call tap)."""
    await api.press("Directory")
    for key in "OLI":
        await api.press(key)
    return await api.center(OLIVIA_NAME)


async def call_olivia(api: PanelClient) -> None:
    result = await api.touch(*await to_resident_row(api))
    assert result["screen"] == "calling", result


class LinkedPanel:
    """`python -m panel run --config X --headless` (panel.remote.PanelProcess), linked to a
    dev cloud in this process; `api` its PanelClient, `proc` its /proc reader."""

    def __init__(self, tmp: Path, cloud: DevCloud, name: str):
        self.dir = tmp / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config = self.dir / "panel.toml"
        self.config.write_text(f"""\
[panel]
state_dir = "{self.dir / 'state'}"
log_level = "warning"

[screen]
message_seconds = 0.5

[door]
pulse_seconds = 0.2

[camera]
source = "synthetic"
width = 640
height = 480
fps = 15

[api]
host = "127.0.0.1"
port = 0
token = "{API_TOKEN}"

[cloud]
url = "{cloud.panel_url}"
token = "{PANEL_TOKEN}"

[call]
ice_addresses = ["127.0.0.1"]
max_call_seconds = 900
""")
        self.process = PanelProcess.run(self.config)
        self.api: PanelClient | None = None
        self.proc: Proc | None = None

    async def start(self, cloud: DevCloud) -> None:
        await self.process.astart(timeout=30)
        self.api, self.proc = self.process.client(), Proc(self.process.pid)
        await until(lambda: cloud.panel is not None, timeout=15, what="the panel's cloud link", step=0.05)
        await self.api.until_status(lambda s: s["cloud"]["link"] == "up", timeout=15,
                                    what="cloud link up on the panel")

    async def stop(self) -> None:
        if self.api is not None:
            await self.api.close()
        if self.process.proc is not None:
            await self.process.astop(timeout=15)


def negotiated_codec(answer_sdp: str) -> str:
    """The first payload type of the video m-line of the answer, by name (what aiortc sends)."""
    lines = answer_sdp.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("m=video"):
            pt = line.split()[3]
            for other in lines[i:]:
                m = re.match(rf"a=rtpmap:{pt} ([^/]+)/", other)
                if m:
                    return m[1]
    return "?"


def loopback_softphone(cloud: DevCloud) -> Softphone:
    """The softphone (aiortc, aiortc's encoders) runs in this process, the panel in another.
    Its ICE is restricted to 127.0.0.1 like the panel's (its own setting, per connection),
    or it offers only LAN candidates the panel ignores (and no call connects)."""
    return Softphone(cloud.device_url(OLIVIA, "bench-phone"), "bench-phone", ice_addresses=["127.0.0.1"])


async def place_and_answer(api: PanelClient, phone: Softphone, frames: int = 3) -> str:
    """Visitor calls Olivia, the softphone accepts, waits for `frames` new video frames."""
    before = phone.video_frames
    await call_olivia(api)
    call_id = (await phone.expect("incoming"))["call_id"]
    await phone.accept(call_id)
    await phone.expect("offer")
    await until(lambda: phone.video_frames >= before + frames, timeout=15, what="video at the softphone",
                step=0.01)
    return call_id


def chromium_version() -> str:
    with contextlib.suppress(Exception):
        v = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=10).stdout
        return v.split()[1]
    return "?"
