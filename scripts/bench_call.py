#!/usr/bin/env python3
"""Call benchmark: latency with a real browser as the resident, panel CPU during a
call, panel memory over many calls. Everything on 127.0.0.1.

    .venv/bin/python scripts/bench_call.py [--quick] [--only latency,cpu,memory]

1. Latency (headless Chromium as the resident's one device; panel and dev cloud in
   this process, ICE restricted to 127.0.0.1; one untimed warm-up call, then N):
   - ring: the API touch on the resident's row sent -> the incoming call shown in the
     browser (the #incoming card un-hidden, seen by a MutationObserver, then the next
     requestAnimationFrame, i.e. the frame that paints the Accept button);
   - first frame: the Accept click (a capture-phase click listener in the page) ->
     the first decoded frame composited in <video id="video">
     (requestVideoFrameCallback); both ends on the page's clock;
   - open door: the Open Door click (page) -> the panel's DoorStrike reports
     StrikeReleased (its backend confirmed the relay energized; marked "strike:door_unlocked").
   Clocks: page times are performance.timeOrigin + performance.now() (ms since the
   epoch); host times are time.time(). Both come from this machine's clock, but the
   page's is a monotonic clock anchored once at navigation, so before every call the
   offset is measured: 7 round trips of page.evaluate(now), the one with the smallest
   round trip wins, offset = page - midpoint(host before, host after); its
   uncertainty (half that round trip) is printed.
2. Panel CPU: the panel as its own process (`python -m panel run --config X
   --headless`, camera synthetic 640x480 at 15 fps), the dev cloud and a Python
   softphone here; utime+stime of the panel from /proc/PID/stat over 3 idle windows
   and 3 windows of an established call (15 s each); the median counts.
3. Panel memory: a fresh panel process, N calls in a row with the softphone (ring,
   accept, a few video frames, hang up: the visitor and the resident in turn); RSS,
   threads and open file descriptors of the panel from /proc/PID.

4. VP8 encoder: aiortc's Vp8Encoder (its libvpx settings) against the panel's
   (panel/call/encoders.py) on the same 640x480 frames at the same 1000 kbps, in this
   process, one thread: ms per frame, the bitrate produced, and the luma PSNR of what a
   receiver decodes (libvpx decoder) against the frame that went in.

--quick: 3 calls, 2 CPU windows of 8 s, 20 calls for memory, 2 passes over the encoder frames.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import aiohttp  # noqa: E402

from hal.events import StrikeReleased  # noqa: E402
from panel.config import Config  # noqa: E402
from panel.sim.cloud import LOG_KEEP, DevCloud  # noqa: E402
from panel.sim.softphone import Softphone  # noqa: E402
from tests.support import until as wait_until  # noqa: E402

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
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

# Injected before the resident app's own scripts: timestamps of what the page does.
PAGE_PROBE = r"""
(() => {
  const now = () => performance.timeOrigin + performance.now();
  let marks = {};
  const mark = (k, t) => { if (!(k in marks)) marks[k] = (t === undefined ? now() : t); };
  window.__bench = {
    marks: () => marks,
    reset: () => { marks = {}; },
    now,
    armVideo: () => {
      const v = document.getElementById("video");
      v.requestVideoFrameCallback((t, md) => {
        mark("video:frame");                                        // the callback: frame composited
        mark("video:presented", performance.timeOrigin + md.presentationTime);
        if (md.receiveTime) mark("video:received", performance.timeOrigin + md.receiveTime);
        mark("video:size", md.width * 100000 + md.height);
      });
    },
  };
  const NativeWS = window.WebSocket;
  window.WebSocket = class extends NativeWS {
    constructor(...args) {
      super(...args);
      // Added before the app sets onmessage, so it runs first: the arrival time.
      this.addEventListener("message", (e) => { try { mark("ws<" + JSON.parse(e.data).type); } catch (_) {} });
    }
    send(data) { try { mark("ws>" + JSON.parse(data).type); } catch (_) {} return super.send(data); }
  };
  const NativePC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePC {
    constructor(...args) {
      super(...args);
      mark("pc:new");
      this.addEventListener("connectionstatechange", () => mark("pc:" + this.connectionState));
      this.addEventListener("icegatheringstatechange", () => mark("gather:" + this.iceGatheringState));
      this.addEventListener("track", (e) => mark("track:" + e.track.kind));
    }
    async setLocalDescription(d) { mark("sld:start"); const r = await super.setLocalDescription(d); mark("sld:done"); return r; }
    async setRemoteDescription(d) { mark("srd:start"); const r = await super.setRemoteDescription(d); mark("srd:done"); return r; }
    async createAnswer(o) { mark("answer:start"); const r = await super.createAnswer(o); mark("answer:done"); return r; }
  };
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (c) => { mark("gum:start"); const s = await gum(c); mark("gum:done"); return s; };
  document.addEventListener("click", (e) => { if (e.target && e.target.id) mark("click:" + e.target.id); }, true);
  document.addEventListener("DOMContentLoaded", () => {
    const card = document.getElementById("incoming");
    new MutationObserver(() => {
      if (!card.hidden && !("dom:incoming" in marks)) {
        mark("dom:incoming");
        requestAnimationFrame(() => mark("paint:incoming"));
      }
    }).observe(card, { attributes: true, attributeFilter: ["hidden"] });
  });
})();
"""


# -- small helpers -------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float:
    """Percentile by linear interpolation (p in 0..100); fine for 3 values too."""
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def ok(value: float, target: float) -> str:
    return "yes" if value < target else "**no**"


async def until(condition, timeout: float = 10.0, what: str = "condition", step: float = 0.005):
    return await wait_until(condition, timeout, what, step)


class PanelApi:
    """The panel's local HTTP API, as a HIL rig drives it."""

    def __init__(self, url: str, token: str = API_TOKEN):
        self.url, self.token = url, token
        self.http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"})

    async def get(self, path: str) -> dict:
        async with self.http.get(self.url + path) as r:
            r.raise_for_status()
            return await r.json()

    async def touch_at(self, x: float, y: float) -> dict:
        async with self.http.post(self.url + "/touch", json={"x": x, "y": y}) as r:
            r.raise_for_status()
            return await r.json()

    async def center_of(self, label: str) -> tuple[float, float]:
        ui = await self.get("/ui")
        for w in ui["widgets"]:
            if w["label"] == label:
                x, y, width, height = w["rect"]
                return x + width / 2, y + height / 2
        raise LookupError(f"no widget {label!r} on {ui['screen']}")

    async def press(self, label: str) -> dict:
        return await self.touch_at(*await self.center_of(label))

    async def screen(self) -> str:
        return (await self.get("/status"))["screen"]

    async def to_resident_row(self) -> tuple[float, float]:
        """Directory, O, L, I; returns where Olivia Smith's row is (the Call tap)."""
        await self.press("Directory")
        for key in "OLI":
            await self.press(key)
        return await self.center_of(OLIVIA_NAME)

    async def call_olivia(self) -> None:
        result = await self.touch_at(*await self.to_resident_row())
        assert result["screen"] == "calling", result

    async def close(self) -> None:
        await self.http.close()


# -- 1. latency with Chromium ------------------------------------------------------------------
class Marks:
    """Host-side timestamps (time.time()) of the current call; the first of each name counts."""

    def __init__(self):
        self.t: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        self.t.setdefault(name, time.time())

    def reset(self) -> None:
        self.t = {}


def instrument_panel(app, cloud: DevCloud, mark: Marks) -> None:
    """Wrap the seams of the in-process panel and cloud with timestamps (nothing in
    panel/ is changed: instance attributes and one module name are replaced)."""
    import panel.call.service as service
    from panel.call.session import CallSession

    touch = app.touch

    def timed_touch(x, y, to=None):
        mark("panel:touch")
        out = touch(x, y, to)
        mark("panel:touch_done")
        return out
    app.touch = timed_touch

    send = app.signaling.send

    async def timed_send(message):
        mark("panel>" + str(message.get("type")))
        return await send(message)
    app.signaling.send = timed_send

    on_message = app.signaling.on_message

    def timed_on_message(m):
        mark("panel<" + str(m.get("type")))
        return on_message(m)
    app.signaling.on_message = timed_on_message

    from_panel, from_device = cloud._from_panel, cloud._from_device

    async def timed_from_panel(m):
        mark("cloud<panel:" + str(m.get("type")))
        return await from_panel(m)

    async def timed_from_device(device, m):
        mark("cloud<device:" + str(m.get("type")))
        return await from_device(device, m)
    cloud._from_panel, cloud._from_device = timed_from_panel, timed_from_device

    strike = app.strike
    backend_set = strike.backend.set

    async def timed_set(energized):
        if energized:
            mark("relay:set")
        return await backend_set(energized)
    strike.backend.set = timed_set
    on_event = strike._on_event

    def timed_event(event):
        if isinstance(event, StrikeReleased):
            mark("strike:door_unlocked")
        if on_event is not None:
            on_event(event)
    strike._on_event = timed_event

    from aioice import ice as aioice
    check_start, check_complete = aioice.Connection.check_start, aioice.Connection.check_complete

    async def timed_check_start(self, pair):
        mark("ice:first_check")
        return await check_start(self, pair)

    def timed_check_complete(self, pair):
        if pair.state == aioice.CandidatePair.State.SUCCEEDED and pair.nominated:
            mark("ice:pair_nominated")
        return check_complete(self, pair)
    aioice.Connection.check_start = timed_check_start        # this process's aioice: only the panel uses it
    aioice.Connection.check_complete = timed_check_complete

    import aiortc.rtcrtpsender as rtcrtpsender
    get_encoder = rtcrtpsender.get_encoder

    def timed_get_encoder(codec):
        encoder = get_encoder(codec)
        if codec.mimeType.lower().startswith("video/"):
            mark("encoder:created")
            encode = encoder.encode

            def timed_encode(frame, force_keyframe=False):     # runs in the default executor
                mark("encode:start")
                out = encode(frame, force_keyframe)
                mark("encode:done")
                return out
            encoder.encode = timed_encode
        return encoder
    rtcrtpsender.get_encoder = timed_get_encoder

    class TimedCallSession(CallSession):
        def __init__(self, *args, **kwargs):
            mark("session:new")
            super().__init__(*args, **kwargs)
            mark("session:ready")
            pc = self.pc

            @pc.on("connectionstatechange")
            def _state():
                mark("pc:" + pc.connectionState)

            @pc.on("iceconnectionstatechange")
            def _ice():
                mark("ice:" + pc.iceConnectionState)

            recv = self.video.recv

            async def timed_recv():
                frame = await recv()
                mark("track:first_frame")
                return frame
            self.video.recv = timed_recv
            sender = self._video_sender
            next_encoded = sender._next_encoded_frame

            async def timed_next(codec):
                out = await next_encoded(codec)
                if out is not None:
                    mark("encoded:first_frame")
                return out
            sender._next_encoded_frame = timed_next

        async def offer(self):
            mark("offer:start")
            sdp = await super().offer()
            mark("offer:done")
            return sdp

        async def answer(self, sdp):
            mark("answer:start")
            await super().answer(sdp)
            mark("answer:done")

    service.CallSession = TimedCallSession


async def clock_offset(page) -> tuple[float, float]:
    """(page - host in seconds, uncertainty in seconds) from the tightest of 7 round trips."""
    best = None
    for _ in range(7):
        t1 = time.time()
        p = await page.evaluate("window.__bench.now()")
        t2 = time.time()
        if best is None or t2 - t1 < best[1] * 2:
            best = (p / 1000 - (t1 + t2) / 2, (t2 - t1) / 2)
    return best


async def bench_latency(calls: int, tmp: Path) -> dict:
    from playwright.async_api import async_playwright, expect

    from panel.app import App

    cloud = DevCloud(Config().property_file, panel_token=PANEL_TOKEN)
    await cloud.start()
    config = (Config().replace("panel", state_dir=str(tmp / "latency-state"))
              .replace("api", port=0, token=API_TOKEN)
              .replace("cloud", url=cloud.panel_url, token=PANEL_TOKEN)
              .replace("call", ice_addresses=["127.0.0.1"])
              .replace("camera", fps=15.0, width=640, height=480)
              .replace("door", pulse_seconds=0.2)
              .replace("screen", message_seconds=0.5))
    ready = asyncio.get_running_loop().create_future()
    app = App(config, on_ready=lambda info: ready.done() or ready.set_result(info))
    task = asyncio.create_task(app.run())
    await asyncio.wait([ready, task], timeout=20, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    api = PanelApi(f"http://127.0.0.1:{app.api.port}/api/v1")
    mark = Marks()
    rows: list[dict] = []
    try:
        await until(lambda: app.state.cloud_online, what="cloud link up")
        instrument_panel(app, cloud, mark)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                context = await browser.new_context()
                await context.add_init_script(PAGE_PROBE)
                page = await context.new_page()
                await page.goto(cloud.app_link(OLIVIA))
                await expect(page.get_by_role("status")).to_have_text("Ready")
                await cloud.wait_for_devices(OLIVIA, 1)
                census = []
                for i in range(calls + 1):              # call 0: warm-up, not counted
                    row = await one_browser_call(app, api, page, mark, expect)
                    row["warmup"] = i == 0
                    rows.append(row)
                    if i in (0, calls):
                        await asyncio.sleep(0.5)
                        census.append(live_objects())
            finally:
                await browser.close()
    finally:
        await api.close()
        app.stop()
        await asyncio.wait_for(task, 10)
        await cloud.stop()
    import json
    cloud_log = (len(cloud.log), sum(len(json.dumps(m, default=str)) for m in cloud.log))
    return {"rows": rows, "census": census, "cloud_log": cloud_log}


def live_objects() -> dict:
    """What a call leaves behind in this process (panel + cloud): tasks and call objects."""
    import gc
    gc.collect()
    names = ("RTCPeerConnection", "CallSession", "TimedCallSession", "RTCRtpSender", "RTCDtlsTransport",
             "CameraVideoTrack", "ToneTrack", "Connection")
    counts = dict.fromkeys(names, 0)
    for o in gc.get_objects():
        name = type(o).__name__
        if name in counts and (name != "Connection" or type(o).__module__ == "aioice.ice"):
            counts[name] += 1
    counts["CallSession"] += counts.pop("TimedCallSession")
    counts["aioice Connection"] = counts.pop("Connection")
    counts["asyncio tasks"] = len(asyncio.all_tasks())
    return counts


async def one_browser_call(app, api: PanelApi, page, mark: Marks, expect) -> dict:
    button = functools.partial(page.get_by_role, "button", exact=True)
    await until(lambda: app.state.screen.value == "home" and not app.strike.unlocked, timeout=10,
                what="panel home, door locked")
    x, y = await api.to_resident_row()
    await asyncio.sleep(0.2)                         # the directory settled; the tap alone is timed
    mark.reset()
    await page.evaluate("window.__bench.reset()")
    offset, uncertainty = await clock_offset(page)

    t_tap = time.time()
    result = await api.touch_at(x, y)
    t_tap_done = time.time()
    assert result["screen"] == "calling", result
    await expect(button(name="Accept")).to_be_visible()
    await until(lambda: page.evaluate("'paint:incoming' in window.__bench.marks()"), what="incoming painted")

    await asyncio.sleep(0.3)                         # a resident's reaction time is not ours to measure
    await page.evaluate("window.__bench.armVideo()")
    await button(name="Accept").click()
    await until(lambda: page.evaluate("'video:frame' in window.__bench.marks()"), timeout=15,
                what="first video frame in the browser")

    await asyncio.sleep(0.5)                         # the call established, video flowing
    await button(name="Open Door").click()
    await until(lambda: "strike:door_unlocked" in mark.t, what="relay energized")
    await expect(page.get_by_role("status")).to_contain_text("Door opened")
    await until(lambda: app.calls.session is None, what="call closed on the panel")

    pm = await page.evaluate("window.__bench.marks()")
    host = dict(mark.t)
    host["tap"], host["tap_response"] = t_tap, t_tap_done
    page_s = {k: v / 1000 - offset for k, v in pm.items() if not k.startswith("video:size")}
    size = int(pm.get("video:size", 0))
    return {"host": host, "page": page_s, "uncertainty": uncertainty, "size": (size // 100000, size % 100000)}


def latency_tables(result: dict) -> list[str]:
    rows = [r for r in result["rows"] if not r["warmup"]]
    warm = [r for r in result["rows"] if r["warmup"]]
    n = len(rows)

    def seg(r, a, b):
        """Milliseconds from mark a to mark b; 'h:' host marks, 'p:' page marks (host clock)."""
        def t(name):
            side, key = name.split(":", 1)
            return (r["host"] if side == "h" else r["page"])[key]
        return (t(b) - t(a)) * 1000

    headline = [
        ("tap Call -> Accept shown in the browser", "h:tap", "p:paint:incoming", TARGET_RING_MS),
        ("Accept click -> first video frame shown", "p:click:accept", "p:video:frame", TARGET_FRAME_MS),
        ("Open Door click -> relay energized", "p:click:open-door", "h:strike:door_unlocked", TARGET_DOOR_MS),
    ]
    out = [f"### 1. Latency, headless Chromium as the resident ({n} calls after 1 warm-up call)", "",
           "| measure | median ms | p95 ms | max ms | target | met (p95) |", "|---|---:|---:|---:|---:|:--:|"]
    for label, a, b, target in headline:
        v = [seg(r, a, b) for r in rows]
        out.append(f"| {label} | {statistics.median(v):.1f} | {pct(v, 95):.1f} | {max(v):.1f} | "
                   f"< {target:.0f} | {ok(pct(v, 95), target)} |")
    unc = [r["uncertainty"] * 1000 for r in rows]
    out.append("")
    out.append(f"Clock alignment: page time = performance.timeOrigin + performance.now(), mapped to the host's "
               f"time.time() by the tightest of 7 page.evaluate round trips before each call; uncertainty "
               f"(half that round trip) median {statistics.median(unc):.2f} ms, max {max(unc):.2f} ms. "
               f"First-frame is page clock only.")
    if warm:
        w = warm[0]
        out.append(f"Warm-up call (first call of a fresh panel and page, not counted): ring "
                   f"{seg(w, 'h:tap', 'p:paint:incoming'):.1f} ms, first frame "
                   f"{seg(w, 'p:click:accept', 'p:video:frame'):.1f} ms, door "
                   f"{seg(w, 'p:click:open-door', 'h:strike:door_unlocked'):.1f} ms.")
    if len(result["census"]) == 2:
        a, b = result["census"]
        out.append(f"Left alive in this process (panel + cloud) after call 1 / after call {n + 1}: " +
                   ", ".join(f"{k} {a[k]} / {b[k]}" for k in a) + ".")
    count, size = result["cloud_log"]
    out.append(f"Dev cloud (this process, as in the `panel` demo): its signaling log (`DevCloud.log`) holds {count} "
               f"messages, {size / 1024:.0f} KB as JSON, after {n + 1} calls; it keeps the latest {LOG_KEEP}.")
    sizes = {r["size"] for r in rows}
    out.append(f"Video frame size seen by the browser: {', '.join(f'{w}x{h}' for w, h in sorted(sizes))}.")

    def breakdown(title, parts):
        lines = ["", f"#### Where the time goes: {title} (median / p95 ms of each step)", "",
                 "| step | clock | median | p95 |", "|---|---|---:|---:|"]
        for label, a, b in parts:
            try:
                v = [seg(r, a, b) for r in rows]
            except KeyError as e:
                lines.append(f"| {label} | | missing mark {e} | |")
                continue
            clock = "host" if a[0] == b[0] == "h" else ("page" if a[0] == b[0] == "p" else "host+page")
            lines.append(f"| {label} | {clock} | {statistics.median(v):.1f} | {pct(v, 95):.1f} |")
        return lines

    out += breakdown("ring", [
        ("touch POST sent -> App.touch runs (HTTP, aiohttp)", "h:tap", "h:panel:touch"),
        ("App.touch: hit test, core step, redraw of the Calling screen", "h:panel:touch", "h:panel:touch_done"),
        ("touch done -> `call` written to the cloud socket", "h:panel:touch_done", "h:panel>call"),
        ("panel send -> cloud receives `call`", "h:panel>call", "h:cloud<panel:call"),
        ("cloud -> browser WebSocket delivers `incoming`", "h:cloud<panel:call", "p:ws<incoming"),
        ("`incoming` -> Accept card un-hidden (app.js handle)", "p:ws<incoming", "p:dom:incoming"),
        ("DOM change -> next animation frame (painted)", "p:dom:incoming", "p:paint:incoming"),
        ("(the API touch's HTTP response, for reference)", "h:tap", "h:tap_response"),
    ])
    out += breakdown("accept -> first frame", [
        ("Accept click -> `accept` sent (page)", "p:click:accept", "p:ws>accept"),
        ("`accept` -> cloud -> panel gets `accepted`", "p:ws>accept", "h:panel<accepted"),
        ("`accepted` -> core step, In-call redraw -> CallSession starts", "h:panel<accepted", "h:session:new"),
        ("CallSession(): RTCPeerConnection, tracks, codec preferences", "h:session:new", "h:session:ready"),
        ("createOffer + setLocalDescription (aiortc gathers)", "h:offer:start", "h:offer:done"),
        ("`accepted` -> `offer` sent by the panel (all of the above)", "h:panel<accepted", "h:panel>offer"),
        ("panel sends `offer` -> cloud receives it", "h:panel>offer", "h:cloud<panel:offer"),
        ("cloud -> browser receives `offer`", "h:cloud<panel:offer", "p:ws<offer"),
        ("browser: setRemoteDescription", "p:srd:start", "p:srd:done"),
        ("browser: getUserMedia (fake mic)", "p:gum:start", "p:gum:done"),
        ("browser: createAnswer", "p:answer:start", "p:answer:done"),
        ("browser: setLocalDescription", "p:sld:start", "p:sld:done"),
        ("browser: setLocalDescription done -> ICE gathering complete", "p:sld:done", "p:gather:complete"),
        ("browser: `offer` -> `answer` sent (all of the above)", "p:ws<offer", "p:ws>answer"),
        ("`answer` -> cloud -> panel receives it", "p:ws>answer", "h:panel<answer"),
        ("panel setRemoteDescription (aiortc starts ICE)", "h:answer:start", "h:answer:done"),
        ("panel `answer` -> first connectivity check sent (aioice)", "h:panel<answer", "h:ice:first_check"),
        ("first check -> pair succeeded and nominated", "h:ice:first_check", "h:ice:pair_nominated"),
        ("nominated -> aioice connect() returns (next 20 ms Ta tick)", "h:ice:pair_nominated", "h:ice:completed"),
        ("ICE completed -> DTLS handshake done, `connected`", "h:ice:completed", "h:pc:connected"),
        ("connected -> first camera frame taken by the track", "h:pc:connected", "h:track:first_frame"),
        ("first frame -> encoder created (aiortc get_encoder)", "h:track:first_frame", "h:encoder:created"),
        ("encoder created -> encode starts in the default executor", "h:encoder:created", "h:encode:start"),
        ("VP8 encode of the first frame (libvpx init + keyframe)", "h:encode:start", "h:encode:done"),
        ("encode done -> back on the event loop", "h:encode:done", "h:encoded:first_frame"),
        ("encoded -> last packet of the frame received (rVFC receiveTime)", "h:encoded:first_frame",
         "p:video:received"),
        ("received -> presented for composition (decode, jitter buffer)", "p:video:received", "p:video:presented"),
        ("presented -> rVFC callback", "p:video:presented", "p:video:frame"),
        ("(browser connection `connected`)", "p:click:accept", "p:pc:connected"),
    ])
    out += breakdown("open door", [
        ("Open Door click -> `open_door` sent (page)", "p:click:open-door", "p:ws>open_door"),
        ("page -> cloud receives `open_door`", "p:ws>open_door", "h:cloud<device:open_door"),
        ("cloud -> panel receives `open_door`", "h:cloud<device:open_door", "h:panel<open_door"),
        ("panel: core step, Door-open redraw, effects -> strike task drives the relay",
         "h:panel<open_door", "h:relay:set"),
        ("relay driven and read back -> door_unlocked", "h:relay:set", "h:strike:door_unlocked"),
    ])
    return out


# -- panel as its own process --------------------------------------------------------------------
class PanelProcess:
    """`python -m panel run --config X --headless`, linked to a dev cloud in this process."""

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
        self.stdout = self.dir / "stdout.txt"
        self.stderr = self.dir / "stderr.txt"
        self.proc: subprocess.Popen | None = None
        self.api: PanelApi | None = None

    async def start(self, cloud: DevCloud) -> None:
        env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PYTHONUNBUFFERED": "1"}
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "panel", "run", "--config", str(self.config),
                                          "--headless"], cwd=ROOT, stdout=out, stderr=err, env=env)

        def api_url():
            if self.proc.poll() is not None:
                raise RuntimeError(f"panel exited ({self.proc.returncode}): {self.stderr.read_text()[-2000:]}")
            m = re.search(r"Local API: (\S+)", self.stdout.read_text())
            return m and m[1]
        url = await until(api_url, timeout=30, what="the panel process to start", step=0.05)
        self.api = PanelApi(url)
        await until(lambda: cloud.panel is not None, timeout=15, what="the panel's cloud link", step=0.05)

        async def link_up():
            return (await self.api.get("/status"))["cloud"]["link"] == "up"
        await until(link_up, timeout=15, what="cloud link up on the panel", step=0.05)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK       # utime, stime (fields 14, 15)

    def main_thread_cpu_seconds(self) -> float:
        """The event-loop thread alone (tid = pid); the rest is worker threads (encoder, scanner...)."""
        fields = Path(f"/proc/{self.pid}/task/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss_mb(self) -> float:
        return int(Path(f"/proc/{self.pid}/statm").read_text().split()[1]) * PAGE_SIZE / 2**20

    def threads(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
        return 0

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    async def stop(self) -> None:
        if self.api is not None:
            await self.api.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                await asyncio.to_thread(self.proc.wait, 15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                await asyncio.to_thread(self.proc.wait)


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


def softphone_on_loopback() -> None:
    """The softphone (aiortc) runs in this process, the panel in another: the panel's ICE
    restriction is process-wide and reaches only its own process, so apply it here too,
    or the softphone offers only LAN candidates the panel ignores (and no call connects)."""
    from panel.call import ice
    ice.restrict(["127.0.0.1"])


async def place_and_answer(api: PanelApi, phone: Softphone, frames: int = 3) -> str:
    """Visitor calls Olivia, the softphone accepts, waits for `frames` new video frames."""
    before = phone.video_frames
    await api.call_olivia()
    call_id = (await phone.expect("incoming"))["call_id"]
    await phone.accept(call_id)
    await phone.expect("offer")
    await until(lambda: phone.video_frames >= before + frames, timeout=15, what="video at the softphone",
                step=0.01)
    return call_id


# -- 2. CPU ----------------------------------------------------------------------------------
async def bench_cpu(seconds: float, windows: int, tmp: Path) -> dict:
    """`windows` back-to-back windows of `seconds` idle, then as many in one call: this
    machine is shared, so one window can be 15 % off; the median is the figure."""
    cloud = DevCloud(Config().property_file, panel_token=PANEL_TOKEN)
    await cloud.start()
    softphone_on_loopback()
    panel = PanelProcess(tmp, cloud, "cpu")
    phone = Softphone(cloud.device_url(OLIVIA, "bench-phone"), "bench-phone")

    async def measure() -> list[tuple[float, float, float]]:
        """(cores, event-loop thread cores, video frames/s at the phone) per window."""
        out = []
        for _ in range(windows):
            f0, c0, m0, w0 = phone.video_frames, panel.cpu_seconds(), panel.main_thread_cpu_seconds(), time.monotonic()
            await asyncio.sleep(seconds)
            wall = time.monotonic() - w0
            out.append(((panel.cpu_seconds() - c0) / wall, (panel.main_thread_cpu_seconds() - m0) / wall,
                        (phone.video_frames - f0) / wall))
        return out
    try:
        await panel.start(cloud)
        await phone.connect()
        await asyncio.sleep(3.0)                        # start-up settled
        idle = await measure()
        idle_rss = panel.rss_mb()
        await place_and_answer(panel.api, phone)
        codec = negotiated_codec(phone.pc.localDescription.sdp)
        await asyncio.sleep(2.0)                        # past the first keyframes and the bitrate ramp
        call = await measure()
        call_rss, threads = panel.rss_mb(), panel.threads()
        screen = await panel.api.screen()
        await panel.api.press("End call")
        await phone.expect("ended")
        return {"seconds": seconds, "idle": idle, "call": call, "codec": codec, "screen": screen,
                "idle_rss": idle_rss, "call_rss": call_rss, "threads": threads}
    finally:
        await phone.close()
        await panel.stop()
        await cloud.stop()


def cpu_tables(r: dict) -> list[str]:
    def cols(windows):
        total = [w[0] for w in windows]
        main = statistics.median(w[1] for w in windows)
        t = statistics.median(total)
        return t, main, f"{t:.3f} | {min(total):.3f}-{max(total):.3f} | {main:.3f} | {t - main:.3f}"
    idle, idle_main, idle_cols = cols(r["idle"])
    call, call_main, call_cols = cols(r["call"])
    fps = statistics.median(w[2] for w in r["call"])
    n = len(r["call"])
    return [f"### 2. Panel CPU (own process, camera 640x480 at 15 fps; median of {n} windows of "
            f"{r['seconds']:.0f} s)", "",
            "| panel process | CPU (cores) | range | event-loop thread | other threads | target | met |",
            "|---|---:|---:|---:|---:|---:|:--:|",
            f"| idle (home screen, camera and QR scanner running) | {idle_cols} | | |",
            f"| in an established call ({r['codec']}, {fps:.1f} frames/s received) | {call_cols} | "
            f"< {TARGET_CPU} | {ok(call, TARGET_CPU)} |",
            f"| the call's own share (call - idle) | {call - idle:.3f} | | {call_main - idle_main:.3f} | "
            f"{call - idle - (call_main - idle_main):.3f} | | |",
            "", f"Codec negotiated: {r['codec']} (the answer's first video payload). Answered by the Python "
            f"softphone (aiortc) in the benchmark process; the panel process is measured alone "
            f"(/proc/PID/stat utime+stime). Panel RSS idle {r['idle_rss']:.1f} MB, in call {r['call_rss']:.1f} MB, "
            f"{r['threads']} threads in call; screen during the call: {r['screen']}."]


# -- 3. memory --------------------------------------------------------------------------------
async def bench_memory(calls: int, tmp: Path) -> dict:
    cloud = DevCloud(Config().property_file, panel_token=PANEL_TOKEN)
    await cloud.start()
    softphone_on_loopback()
    panel = PanelProcess(tmp, cloud, "memory")
    phone = Softphone(cloud.device_url(OLIVIA, "bench-phone"), "bench-phone")
    samples: list[tuple[int, float, int, int]] = []
    started = time.monotonic()
    try:
        await panel.start(cloud)
        await phone.connect()
        await asyncio.sleep(1.0)
        base = (panel.rss_mb(), panel.threads(), panel.fds())
        for i in range(1, calls + 1):
            call_id = await place_and_answer(panel.api, phone)
            if i % 2:
                await panel.api.press("End call")       # the visitor ends it
                await phone.expect("ended")
            else:
                await phone.hangup(call_id)              # the resident ends it

            async def home():
                return await panel.api.screen() == "home"
            await until(home, timeout=10, what="panel home again", step=0.05)
            await asyncio.sleep(0.3)                      # media closed, tasks finished
            samples.append((i, panel.rss_mb(), panel.threads(), panel.fds()))
        return {"calls": calls, "base": base, "samples": samples, "wall": time.monotonic() - started,
                "cloud_log": len(cloud.log)}
    finally:
        await phone.close()
        await panel.stop()
        await cloud.stop()


def memory_tables(r: dict) -> list[str]:
    samples = r["samples"]
    by_call = {i: (rss, th, fd) for i, rss, th, fd in samples}
    n = r["calls"]
    marks = [k for k in (1, 10, 50, 100) if k <= n]
    if n not in marks:
        marks.append(n)
    if n < 100:
        marks = sorted(set(marks) | {k for k in (1, 5, 10, 20) if k <= n})
    first = by_call[1][0]
    out = [f"### 3. Panel memory over {n} calls in a row (own process; softphone; visitor and resident "
           f"hang up in turn)", "", "| after call | RSS MB | vs call 1 MB | threads | open fds |",
           "|---:|---:|---:|---:|---:|",
           f"| 0 (idle, linked) | {r['base'][0]:.1f} | {r['base'][0] - first:+.1f} | {r['base'][1]} | {r['base'][2]} |"]
    for k in marks:
        rss, th, fd = by_call[k]
        out.append(f"| {k} | {rss:.1f} | {rss - first:+.1f} | {th} | {fd} |")
    # RSS of a CPython + libvpx process moves between levels ~15 MB apart from call to call
    # (glibc keeps or returns freed heap), so single calls are no measure: after a warm-up
    # of w calls, compare the envelope (lowest, highest) of the next w calls with the last w.
    w = max(5, n // 10)
    early = [rss for i, rss, _, _ in samples if w < i <= 2 * w]
    late = [rss for i, rss, _, _ in samples if i > n - w]
    top, bottom = max(late) - max(early), min(late) - min(early)
    per_call = top * 1024 / max(1, n - 2 * w)          # between the windows' centres
    verdict = ("no growth beyond noise" if top <= 2.0
               else f"**grows** {top:+.1f} MB at the top of the band")
    out += ["", f"RSS calls {w + 1}-{2 * w}: {min(early):.1f} to {max(early):.1f} MB; calls {n - w + 1}-{n}: "
            f"{min(late):.1f} to {max(late):.1f} MB. Highest {top:+.1f} MB ({per_call:+.0f} KB/call), lowest "
            f"{bottom:+.1f} MB. Verdict (highest RSS of the last {w} calls vs calls {w + 1}-{2 * w}, 2 MB "
            f"allowed): {verdict}. Call 1 -> {n}: {by_call[n][0] - first:+.1f} MB. Threads and open files "
            f"must not grow: {by_call[1][1]} -> {by_call[n][1]} threads, {by_call[1][2]} -> {by_call[n][2]} "
            f"fds. {n} calls took {r['wall']:.0f} s ({r['wall'] / n:.2f} s a call, ring to home screen). "
            f"(Dev cloud side, not the panel: its signaling log holds {r['cloud_log']} messages.)"]
    return out


# -- 4. VP8 encoder ----------------------------------------------------------------------------
async def encoder_scenes(n: int = 60) -> dict[str, list]:
    """640x480 BGR frames: camera-like (textured wall, light fall-off, lens blur, fresh
    sensor noise in every frame) panning or still, and the emulator's synthetic camera."""
    import numpy as np

    import _bench_util as bu
    from hal.camera import SyntheticCamera

    rng = np.random.default_rng(11)
    size, step = (640, 480), 4
    panorama = bu.wall(size, rng, margin=step * n)
    still = bu.lit(panorama[:, :size[0]].copy())
    t = [1_700_000_000.0]

    def clock():
        t[0] += 1 / 15
        return t[0]
    synthetic = SyntheticCamera(width=640, height=480, clock=clock)
    return {
        "camera-like, panning (a visitor moving)":
            [bu.finish(bu.lit(panorama[:, i * step:i * step + size[0]].copy()), rng, noise=3) for i in range(n)],
        "camera-like, still (sensor noise only)": [bu.finish(still, rng, noise=3) for _ in range(n)],
        "the emulator's synthetic camera": [await synthetic._read() for _ in range(n)],
    }


def encode_series(encoder, frames: list, passes: int) -> dict:
    """Encode `passes` x `frames` at 15 frames/s; decode every frame as a receiver would."""
    import fractions

    import av
    import cv2
    import numpy as np
    from aiortc.codecs.vpx import vp8_depayload

    decoder = av.CodecContext.create("libvpx", "r")
    times, sent, psnr = [], 0, []
    for k in range(passes):
        for i, bgr in enumerate(frames):
            i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
            frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
            frame.pts, frame.time_base = (k * len(frames) + i) * 6000, fractions.Fraction(1, 90000)
            t0 = time.perf_counter()
            payloads, _ = encoder.encode(frame)
            times.append((time.perf_counter() - t0) * 1000)
            sent += sum(len(p) for p in payloads)
            packet = av.Packet(b"".join(vp8_depayload(p) for p in payloads))
            for out in decoder.decode(packet):
                y = out.to_ndarray(format="yuv420p")[:480]
                mse = float(np.mean((y.astype(np.float32) - i420[:480].astype(np.float32)) ** 2))
                psnr.append(10 * np.log10(255 ** 2 / max(mse, 1e-6)))
    warm = len(frames)                    # the first pass settles rate control: not counted
    return {"ms": times[warm:] if passes > 1 else times, "kbps": sent * 8 / (len(times) / 15) / 1000,
            "psnr": float(np.mean(psnr[warm:] if passes > 1 else psnr))}


async def bench_encoder(passes: int) -> dict:
    from aiortc.codecs.vpx import Vp8Encoder

    from panel.call import encoders

    encoders.install(1000)
    rows = []
    for scene, frames in (await encoder_scenes()).items():
        for name, make in (("aiortc Vp8Encoder (cpu-used -6, adaptive denoiser)", Vp8Encoder),
                           (f"the panel's (cpu-used {encoders.VP8_SPEED}, no denoiser)", encoders.PanelVp8Encoder)):
            encoder = make()
            encoder.target_bitrate = 1_000_000
            rows.append((scene, name, encode_series(encoder, frames, passes)))
    return {"rows": rows, "passes": passes}


def encoder_tables(r: dict) -> list[str]:
    out = [f"### 4. VP8 encoder, 640x480 at 1000 kbps, one thread ({r['passes'] - 1 or 1} x 60 frames timed per row)",
           "", "| scene | encoder | median ms/frame | p95 ms | CPU at 15 frames/s | kbps out | PSNR Y dB |",
           "|---|---|---:|---:|---:|---:|---:|"]
    for scene, name, s in r["rows"]:
        out.append(f"| {scene} | {name} | {statistics.median(s['ms']):.2f} | {pct(s['ms'], 95):.2f} | "
                   f"{statistics.mean(s['ms']) * 15 / 1000:.3f} | {s['kbps']:.0f} | {s['psnr']:.2f} |")
    return out


# -- main ------------------------------------------------------------------------------------
async def main(args) -> int:
    calls, cpu_seconds, cpu_windows, memory_calls, passes = ((3, 8.0, 2, 20, 2) if args.quick
                                                             else (args.calls, 15.0, 3, 100, 4))
    parts = set(args.only.split(",")) if args.only else {"latency", "cpu", "memory", "encoder"}
    logging.basicConfig(level=logging.ERROR)
    out: list[str] = [f"## Call benchmark ({'quick' if args.quick else 'full'}; {os.cpu_count()} cores, "
                      f"Python {sys.version.split()[0]}, Chromium {chromium_version()})", ""]
    print("\n".join(out), flush=True)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-call-") as d:
        tmp = Path(d)
        if "latency" in parts:
            lines = latency_tables(await bench_latency(calls, tmp)) + [""]
            print("\n".join(lines), flush=True)
        if "cpu" in parts:
            lines = cpu_tables(await bench_cpu(cpu_seconds, cpu_windows, tmp)) + [""]
            print("\n".join(lines), flush=True)
        if "memory" in parts:
            lines = memory_tables(await bench_memory(memory_calls, tmp)) + [""]
            print("\n".join(lines), flush=True)
        if "encoder" in parts:
            lines = encoder_tables(await bench_encoder(passes)) + [""]
            print("\n".join(lines), flush=True)
    print(f"(benchmark wall time {time.monotonic() - t0:.0f} s)")
    return 0


def chromium_version() -> str:
    with contextlib.suppress(Exception):
        v = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=10).stdout
        return v.split()[1]
    return "?"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 calls, 2 CPU windows of 8 s, 20 calls for memory, 2 encoder passes")
    parser.add_argument("--calls", type=int, default=10, help="timed browser calls (default 10)")
    parser.add_argument("--only", metavar="PARTS", help="comma-separated: latency,cpu,memory,encoder (default all)")
    sys.exit(asyncio.run(main(parser.parse_args())))
