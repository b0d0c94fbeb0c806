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

All times are this machine's monotonic clock. Not yet: panel CPU of a SIP call against
a WebRTC call of the same resolution (issue 14).

    .venv/bin/python scripts/bench_sip.py [--calls N]
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

from panel import trace  # noqa: E402
from panel.config import SipAccount  # noqa: E402
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


async def main(calls: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        kamailio = await Kamailio(tmp / "kamailio", {"panel": "panel-pw", "olivia": "olivia-pw"}).start()
        olivia = await Baresip(tmp / "olivia", "olivia", registrar=kamailio.host, password="olivia-pw").start()
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
            await kamailio.stop()
    rows = [[name, fmt_ms(med([r[name] * 1000 for r in results])), fmt_ms(pct([r[name] * 1000 for r in results], 90)),
             fmt_ms(max(r[name] * 1000 for r in results))] for name in ("ring", "first frame", "key press")]
    print(f"SIP calls through Kamailio to baresip, {calls} calls (ms)\n")
    print(table(["step", "median", "p90", "max"], rows, right={1, 2, 3}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5)
    asyncio.run(main(parser.parse_args().calls))
