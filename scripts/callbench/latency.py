"""1. Latency with a real browser (headless Chromium) as the resident: ring, first
frame, open door, with a breakdown of each from the panel's trace points."""

from __future__ import annotations

import asyncio
import functools
import json
import statistics
import time
from pathlib import Path

from panel import trace
from panel.config import Config
from panel.remote import PanelClient
from panel.sim.cloud import LOG_KEEP, DevCloud

from .common import (API_TOKEN, CHROMIUM, FLAGS, OLIVIA, PANEL_TOKEN, TARGET_DOOR_MS, TARGET_FRAME_MS,
                     TARGET_RING_MS, ok, pct, to_resident_row, until)

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



class Marks:
    """Host-side timestamps (time.time()) of the current call; the first of each name counts."""

    def __init__(self):
        self.t: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        self.t.setdefault(name, time.time())

    def reset(self) -> None:
        self.t = {}



# Trace points (panel.trace) -> the host marks the tables use.
_MARKS = {
    "api.touch.start": "panel:touch", "api.touch.done": "panel:touch_done",
    "call.session.new": "session:new", "call.session.ready": "session:ready",
    "call.offer.start": "offer:start", "call.offer.done": "offer:done",
    "call.answer.start": "answer:start", "call.answer.done": "answer:done",
    "call.video.frame": "track:first_frame",
    "call.encoder.created": "encoder:created", "call.encode.start": "encode:start", "call.encode.done": "encode:done",
}


def instrument_panel(app, cloud: DevCloud, mark: Marks):
    """Timestamps of the in-process panel and cloud from their trace points; returns the
    unsubscribe. Two seams are not the panel's: the relay backend's `set` (hal: what
    drives the relay) and aioice's connectivity checks (a class of a library this
    process only uses for the panel) are wrapped."""
    def on_point(name: str, f: dict) -> None:
        if name in _MARKS:
            if not name.startswith("call.encode") or f.get("codec") != "audio":
                mark(_MARKS[name])
        elif name == "signaling.send":
            mark(f"panel>{f['type']}")
        elif name == "signaling.receive":
            mark(f"panel<{f['type']}")
        elif name == "cloud.from_panel":
            mark(f"cloud<panel:{f['type']}")
        elif name == "cloud.from_device":
            mark(f"cloud<device:{f['type']}")
        elif name == "call.connection":
            mark(f"pc:{f['state']}")
        elif name == "call.ice":
            mark(f"ice:{f['state'].lower()}")
        elif name.startswith("strike."):
            mark("strike:" + name.removeprefix("strike."))
    unsubscribe = trace.subscribe(on_point)

    backend_set = app.strike.backend.set

    async def timed_set(energized):
        if energized:
            mark("relay:set")
        return await backend_set(energized)
    app.strike.backend.set = timed_set

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

    def restore() -> None:
        unsubscribe()
        aioice.Connection.check_start, aioice.Connection.check_complete = check_start, check_complete
    return restore


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
    api = PanelClient(f"http://127.0.0.1:{app.api.port}/api/v1", API_TOKEN)
    restore = lambda: None  # noqa: E731
    mark = Marks()
    rows: list[dict] = []
    try:
        await until(lambda: app.state.cloud_online, what="cloud link up")
        restore = instrument_panel(app, cloud, mark)
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
        restore()
        await api.close()
        app.stop()
        await asyncio.wait_for(task, 10)
        await cloud.stop()
    cloud_log = (len(cloud.log), sum(len(json.dumps(m, default=str)) for m in cloud.log))
    return {"rows": rows, "census": census, "cloud_log": cloud_log}


def live_objects() -> dict:
    """What a call leaves behind in this process (panel + cloud): tasks and call objects."""
    import gc

    from aioice import Connection
    from aiortc import RTCDtlsTransport, RTCPeerConnection, RTCRtpSender

    from hal.audio import ToneTrack
    from panel.call.media import CameraVideoTrack
    from panel.call.session import CallSession
    gc.collect()
    # By class, subclasses included: the panel's are PeerConnection, PanelRtpSender and
    # RestrictedConnection.
    kinds = {RTCPeerConnection: "RTCPeerConnection", CallSession: "CallSession", RTCRtpSender: "RTCRtpSender",
             RTCDtlsTransport: "RTCDtlsTransport", CameraVideoTrack: "CameraVideoTrack", ToneTrack: "ToneTrack",
             Connection: "aioice Connection"}
    counts = dict.fromkeys(kinds.values(), 0)
    for o in gc.get_objects():
        for cls in type(o).__mro__:
            if cls in kinds:
                counts[kinds[cls]] += 1
    counts["asyncio tasks"] = len(asyncio.all_tasks())
    return counts


async def one_browser_call(app, api: PanelClient, page, mark: Marks, expect) -> dict:
    button = functools.partial(page.get_by_role, "button", exact=True)
    await until(lambda: app.state.screen.value == "home" and not app.strike.unlocked, timeout=10,
                what="panel home, door locked")
    x, y = await to_resident_row(api)
    await asyncio.sleep(0.2)                         # the directory settled; the tap alone is timed
    mark.reset()
    await page.evaluate("window.__bench.reset()")
    offset, uncertainty = await clock_offset(page)

    t_tap = time.time()
    result = await api.touch(x, y)
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
    await until(lambda: "strike:released" in mark.t, what="relay energized")
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
        ("Open Door click -> relay energized", "p:click:open-door", "h:strike:released", TARGET_DOOR_MS),
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
                   f"{seg(w, 'p:click:open-door', 'h:strike:released'):.1f} ms.")
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
        ("touch POST sent -> the API handler runs (HTTP, aiohttp)", "h:tap", "h:panel:touch"),
        ("the panel's touch: hit test, core step, redraw of the Calling screen", "h:panel:touch",
         "h:panel:touch_done"),
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
        ("first frame -> encoder created (the panel's get_encoder)", "h:track:first_frame", "h:encoder:created"),
        ("encoder created -> encode starts in the default executor", "h:encoder:created", "h:encode:start"),
        ("VP8 encode of the first frame (libvpx init + keyframe)", "h:encode:start", "h:encode:done"),
        ("encode done -> last packet of the frame received (rVFC receiveTime)", "h:encode:done",
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
        ("relay driven and read back -> strike.released", "h:relay:set", "h:strike:released"),
    ])
    return out
