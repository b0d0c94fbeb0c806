#!/usr/bin/env python3
"""Integrations benchmark: event -> webhook, event -> MQTT message, CPU per MJPEG viewer.

    .venv/bin/python scripts/bench_integrations.py [--events N] [--seconds S]

A panel process (`panel run`, the demo's simulated parts, synthetic camera) with one
[[webhooks]] to an aiohttp receiver in this process and [mqtt] to a Mosquitto started
here on a free port.
1. N door openings through `POST door/open`, one at a time: ms from the request's
   answer to the webhook POST of its access entry, and to the MQTT message on
   events/access. Both include writing the entry (JPEG snapshot, fsync'd SQLite).
2. CPU of the panel process (utime+stime, /proc) over S seconds with 0, 1 and 4
   MJPEG viewers reading camera/stream.mjpeg at [camera] stream_fps (default 5).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import aiomqtt  # noqa: E402
from aiohttp import web  # noqa: E402

from panel.remote import PanelProcess  # noqa: E402
from panel.remote.measure import Proc, percentile  # noqa: E402
from tests.configs import with_simulated_parts  # noqa: E402
from tests.mosquitto import Mosquitto, free_port  # noqa: E402

TOKEN = "bench-token-0123456789abcdef"
SECRET = "bench-secret-0123456789"


async def main(events: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        broker = Mosquitto(tmp / "broker").start()
        hook_port = free_port()
        arrived: dict[str, dict[str, float]] = {"webhook": {}, "mqtt": {}}

        async def hook(request):
            body = json.loads(await request.read())
            if body["kind"] == "access":
                arrived["webhook"].setdefault(body["data"]["who"], time.monotonic())
            return web.Response(status=204)
        app = web.Application()
        app.router.add_post("/hook", hook)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", hook_port).start()

        config = tmp / "panel.toml"
        config.write_text(with_simulated_parts(
            f'[panel]\nstate_dir = "{tmp}/state"\n[api]\nport = 0\ntoken = "{TOKEN}"\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\n'
            f'[[webhooks]]\nurl = "http://127.0.0.1:{hook_port}/hook"\nsecret = "{SECRET}"\nevents = ["access"]\n'))
        panel = await PanelProcess.run(config).astart()
        try:
            async with aiomqtt.Client("127.0.0.1", broker.port) as sub, panel.client() as api:
                await sub.subscribe("entry-panel/main/events/access", qos=1)

                async def listen():
                    async for m in sub.messages:
                        arrived["mqtt"].setdefault(json.loads(m.payload)["who"], time.monotonic())
                listener = asyncio.create_task(listen())
                await api.until_status(lambda s: s["mqtt"]["connected"])
                sent = {}
                for i in range(events):
                    who = f"bench {i}"
                    await api.open_door(who)
                    sent[who] = time.monotonic()
                    end = time.monotonic() + 10
                    while (who not in arrived["webhook"] or who not in arrived["mqtt"]) and time.monotonic() < end:
                        await asyncio.sleep(0.002)
                listener.cancel()
                print(f"## event -> delivered ({events} door openings, ms after POST door/open answered)\n")
                print("| path | median | p95 | max |\n|---|---:|---:|---:|")
                for path, got in arrived.items():
                    ms = [(got[w] - t) * 1000 for w, t in sent.items() if w in got]
                    print(f"| {path} | {percentile(ms, 50):.1f} | {percentile(ms, 95):.1f} | {max(ms):.1f} |"
                          + ("" if len(ms) == events else f" ({events - len(ms)} missing)"))

                print(f"\n## CPU of the panel process ({seconds:g} s each, % of one core)\n")
                print("| MJPEG viewers | CPU % | per viewer | KB/s per viewer |\n|---:|---:|---:|---:|")
                proc, base = Proc(panel.pid), None
                for viewers in (0, 1, 4):
                    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as s:
                        streams = [await s.get(panel.api_url + "/camera/stream.mjpeg") for _ in range(viewers)]
                        got = [0] * viewers
                        readers = [asyncio.create_task(_drain(r, got, i)) for i, r in enumerate(streams)]
                        await asyncio.sleep(1.0)          # warm-up: viewers connected, first frames sent
                        c0, t0, b0 = proc.cpu_seconds(), time.monotonic(), sum(got)
                        await asyncio.sleep(seconds)
                        took = time.monotonic() - t0
                        pct = (proc.cpu_seconds() - c0) / took * 100
                        rate = (sum(got) - b0) / took / 1024 / max(1, viewers)
                        for r in readers:
                            r.cancel()
                        for r in streams:
                            r.close()
                    base = pct if base is None else base
                    per = f"{(pct - base) / viewers:.2f}" if viewers else "-"
                    print(f"| {viewers} | {pct:.1f} | {per} | {rate:.0f} |")
        finally:
            await panel.astop()
            await runner.cleanup()
            broker.stop()


async def _drain(resp, got: list[int], i: int) -> None:
    async for chunk in resp.content.iter_chunked(65536):
        got[i] += len(chunk)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    asyncio.run(main(args.events, args.seconds))
