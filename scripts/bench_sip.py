#!/usr/bin/env python3
"""SIP call benchmark: the panel (in this process) calls a baresip registered at
Kamailio, both started here on 127.0.0.1 (tests/sip_peers.py; apt-get install baresip
kamailio). One untimed warm-up call, then N:

- ring: the tap on the resident's row sent -> baresip reports the incoming call
  (CALL_INCOMING read from its control socket);
- first frame: baresip's "accept" sent -> the first frame of the panel's video that
  baresip decoded is on disk (snapshot_recv armed before the answer; the file polled
  every 5 ms, so up to 5 ms late);
- key press: baresip's "sndcode 9" sent (RFC 4733) -> the panel's trace point
  "strike.released" (the relay energized).

All times are this machine's monotonic clock.

Then panel CPU (--cpu-windows, 0 to skip): the panel as its own process (`python -m panel
run --config X --headless`, synthetic camera 640x480 at 15 fps, simulated microphone),
utime+stime from /proc/PID/stat over windows idle and in an established call (the median
counts; this machine is shared): a SIP call to baresip (Opus audio both ways, H.264 or
VP8 video to the phone; baresip in its own process, not counted) against a WebRTC call
to the Python softphone through the dev cloud (callbench's, in this process: Opus both
ways, VP8 or H.264 video from the panel; ICE, DTLS-SRTP, REMB/NACK on top), same camera,
same resolution, same run.

    .venv/bin/python scripts/bench_sip.py [--calls N] [--cpu-windows N] [--cpu-seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from _bench_util import fmt_ms, med, pct, table  # noqa: E402

from callbench.common import (API_TOKEN, PANEL_TOKEN, LinkedPanel, call_olivia, loopback_softphone,  # noqa: E402
                              negotiated_codec, place_and_answer)

from panel import trace  # noqa: E402
from panel.config import Config, SipAccount  # noqa: E402
from panel.remote import PanelProcess  # noqa: E402
from panel.remote.measure import Proc  # noqa: E402
from panel.sim.cloud import DevCloud  # noqa: E402
from tests.sip_peers import Baresip, Kamailio  # noqa: E402
from tests.support import make_config, start_panel, until  # noqa: E402


async def one_call(p, olivia: Baresip, shots: Path, n: int, released: list[float]) -> dict[str, float]:
    calls = len(olivia.of("CALL_INCOMING"))
    await p.press("Directory")
    for key in "OLI":
        await p.press(key)
    tapped = time.monotonic()
    await p.press("Olivia Smith")
    incoming = await olivia.expect("CALL_INCOMING", count=calls + 1)
    shot = shots / f"call-{n}.png"
    await olivia.snapshot_received(shot)
    answered = time.monotonic()
    await olivia.answer()
    while not shot.exists():
        await asyncio.sleep(0.005)
    decoded = time.monotonic()
    before = len(released)
    pressed = time.monotonic()
    await olivia.command("sndcode", "9")
    await until(lambda: len(released) > before, timeout=10, what="relay energized")
    await olivia.expect("CALL_CLOSED", count=calls + 1)        # the panel hangs up once the door opened
    await until(lambda: p.app.state.screen.value != "door_open", timeout=15, what="back home")
    await until(lambda: not p.app.strike.unlocked, timeout=15, what="relocked")
    return {"ring": incoming["at"] - tapped, "first frame": decoded - answered, "key press": released[before] - pressed}


SIMULATED = """
[door]
backend = "gpio"

[gpio]
pin_factory = "mock"

[audio]
microphone = "tone"
speaker = "sink"
"""
CAMERA = SIMULATED + """
[camera]
source = "synthetic"
width = 640
height = 480
fps = 15
"""


def sip_panel_config(folder: Path, kamailio: Kamailio) -> Path:
    """The SIP panel process: an account at Kamailio, no cloud, Olivia with a SIP URI."""
    folder.mkdir(parents=True, exist_ok=True)
    prop = folder / "property.toml"
    prop.write_text(f'[[residents]]\nid = "r01"\nfirst_name = "Olivia"\nlast_name = "Smith"\nunit = "1A"\n'
                    f'sip = "sip:olivia@{kamailio.host}"\n')
    config = folder / "panel.toml"
    config.write_text(f"""[panel]\nstate_dir = "{folder / 'state'}"\nlog_level = "warning"\n{CAMERA}
[api]\nhost = "127.0.0.1"\nport = 0\ntoken = "{API_TOKEN}"\n
[directory]\nproperty_file = "{prop}"\n
[sip]\nlisten = "127.0.0.1:0"\n
[[sip.accounts]]\nuri = "sip:panel@{kamailio.host}"\npassword = "panel-pw"\nregistrar = "{kamailio.host}"\n""")
    return config


async def windows_cpu(proc: Proc, windows: int, seconds: float) -> float:
    """The median of `windows` windows: the panel process's cores (all threads)."""
    out = []
    for _ in range(windows):
        c0, w0 = proc.cpu_seconds(), time.monotonic()
        await asyncio.sleep(seconds)
        out.append((proc.cpu_seconds() - c0) / (time.monotonic() - w0))
    return med(out)


async def sip_cpu(tmp: Path, kamailio: Kamailio, video: str, windows: int, seconds: float) -> tuple[float, float]:
    """(idle cores, in-call cores) of a SIP panel process calling baresip (Opus, `video`)."""
    phone = await Baresip(tmp / f"cpu-phone-{video}", "olivia", registrar=kamailio.host, password="olivia-pw",
                          audio_codecs="opus", video_codecs=video).start()
    panel = PanelProcess.run(sip_panel_config(tmp / f"cpu-panel-{video}", kamailio))
    try:
        await until(lambda: phone.command("reginfo"), what="baresip up")
        await panel.astart(timeout=30)
        api = panel.client()
        await api.until_status(lambda s: s["sip"]["accounts"][0]["state"] == "registered", timeout=15,
                               what="the panel registered")
        await asyncio.sleep(2.0)                    # start-up settled
        idle = await windows_cpu(Proc(panel.pid), windows, seconds)
        await call_olivia(api)
        await phone.expect("CALL_INCOMING")
        await phone.answer()
        await api.until_screen("in_call")
        await asyncio.sleep(2.0)                    # past the first key frame
        call = await windows_cpu(Proc(panel.pid), windows, seconds)
        debug = await phone.video_debug()
        assert f"decode: {video}" in debug, debug   # the codec asked for, and decoding
        await api.press("End call")
        await phone.expect("CALL_CLOSED")
        await api.close()
        return idle, call
    finally:
        if panel.proc is not None:
            await panel.astop(timeout=15)
        await phone.stop()


async def webrtc_cpu(tmp: Path, video: str, windows: int, seconds: float) -> tuple[float, float]:
    """(idle cores, in-call cores) of a cloud-linked panel process in a WebRTC call to the
    Python softphone (callbench's), the panel's video in `video`."""
    cloud = DevCloud(Config().property_file, panel_token=PANEL_TOKEN)
    await cloud.start()
    panel = LinkedPanel(tmp, cloud, f"cpu-webrtc-{video}")
    # callbench's config names no door backend or audio (required since): the simulated ones; [call] is last.
    text = panel.config.read_text().replace("[door]\n", '[door]\nbackend = "gpio"\n')
    panel.config.write_text('[gpio]\npin_factory = "mock"\n\n[audio]\nmicrophone = "tone"\nspeaker = "sink"\n\n'
                            + text + f'video_codecs = ["{video}"]\n')
    phone = loopback_softphone(cloud)
    try:
        await panel.start(cloud)
        await phone.connect()
        await asyncio.sleep(2.0)
        idle = await windows_cpu(panel.proc, windows, seconds)
        await place_and_answer(panel.api, phone)
        codec = negotiated_codec(phone.pc.localDescription.sdp)
        assert codec == video, codec
        await asyncio.sleep(2.0)
        call = await windows_cpu(panel.proc, windows, seconds)
        await panel.api.press("End call")
        await phone.expect("ended")
        return idle, call
    finally:
        await phone.close()
        await panel.stop()
        await cloud.stop()


async def bench_cpu(tmp: Path, kamailio: Kamailio, windows: int, seconds: float) -> str:
    rows = []
    for kind, video in (("SIP", "H264"), ("WebRTC", "H264"), ("SIP", "VP8"), ("WebRTC", "VP8")):
        if kind == "SIP":
            idle, call = await sip_cpu(tmp, kamailio, video, windows, seconds)
            peer = "baresip (own process)"
        else:
            idle, call = await webrtc_cpu(tmp, video, windows, seconds)
            peer = "aiortc softphone (bench process)"
        rows.append([f"{kind}, Opus + {video} 640x480 15 fps", peer, f"{idle:.3f}", f"{call:.3f}", f"{call - idle:.3f}"])
    return (f"Panel process CPU (cores; median of {windows} windows of {seconds:g} s), same run\n\n"
            + table(["call", "answered by", "idle", "in call", "the call's share"], rows, right={2, 3, 4}))


async def main(calls: int, cpu_windows: int, cpu_seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        kamailio = await Kamailio(tmp / "kamailio", {"panel": "panel-pw", "olivia": "olivia-pw"}).start()
        olivia = await Baresip(tmp / "olivia", "olivia", registrar=kamailio.host, password="olivia-pw",
                               audio_codecs="opus").start()
        released: list[float] = []
        unsubscribe = trace.subscribe(lambda name, fields: name == "strike.released" and released.append(time.monotonic()))
        p = None
        try:
            prop = tmp / "property.toml"
            prop.write_text(f'[[residents]]\nid = "r01"\nfirst_name = "Olivia"\nlast_name = "Smith"\nunit = "1A"\n'
                            f'sip = "sip:olivia@{kamailio.host}"\n')
            config = make_config(tmp, directory={"property_file": str(prop)}, screen={"message_seconds": 0.5},
                                 door={"pulse_seconds": 0.2})
            config = config.replace("sip", accounts=[SipAccount(uri=f"sip:panel@{kamailio.host}", password="panel-pw",
                                                                registrar=kamailio.host)],
                                    listen="127.0.0.1:0", door_code="9")
            p = await start_panel(config)
            await until(lambda: p.app.state.sip_online, timeout=10, what="panel registered")
            results = [await one_call(p, olivia, tmp, n, released) for n in range(calls + 1)][1:]
        finally:
            unsubscribe()
            if p is not None:
                await p.client.close()
                await p.stop()
            await olivia.stop()
        try:
            cpu = await bench_cpu(tmp, kamailio, cpu_windows, cpu_seconds) if cpu_windows else ""
        finally:
            await kamailio.stop()
    rows = [[name, fmt_ms(med([r[name] * 1000 for r in results])), fmt_ms(pct([r[name] * 1000 for r in results], 90)),
             fmt_ms(max(r[name] * 1000 for r in results))] for name in ("ring", "first frame", "key press")]
    print(f"SIP calls through Kamailio to baresip, {calls} calls (ms)\n")
    print(table(["step", "median", "p90", "max"], rows, right={1, 2, 3}))
    if cpu:
        print("\n" + cpu)
    print(f"\nload average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--cpu-windows", type=int, default=3, help="CPU windows per state (0: no CPU comparison)")
    parser.add_argument("--cpu-seconds", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.cpu_windows, args.cpu_seconds))
