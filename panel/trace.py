"""Trace points: named moments in the firmware that benchmarks and tests may watch.

The firmware says where something happens::

    from panel import trace
    trace.point("cloud.from_panel", type=kind)

and a benchmark listens, instead of wrapping private attributes::

    unsubscribe = trace.subscribe(lambda name, fields: marks.setdefault(name, time.perf_counter()))
    ...
    unsubscribe()

With nobody subscribed, `point` is one function call and one truth test (well under
a microsecond): the firmware keeps its trace points in production. Subscribers run
synchronously on the thread that reached the point (the event loop, the QR decode
thread, aiortc's encoder executor), so they must be quick and thread-safe; take
your own timestamp first thing. A subscriber that raises is logged once and
otherwise ignored: tracing never changes what the firmware does.

Names are dotted, `<part>.<what>`; every point in the code base is listed in
POINTS below so a benchmark can check it subscribes to names that exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

Subscriber = Callable[[str, dict], None]

# Every trace point, with what it marks. Points in panel/app.py are placed by the shell.
POINTS = {
    # panel/api/server.py
    "api.touch.start": "POST touch received, before the panel handles the tap (x, y)",
    "api.touch.done": "the panel handled the tap (screen)",
    "api.frame.received": "POST camera/frame body read, before it is decoded (bytes)",
    "api.frame.injected": "the frame decoded and handed to the camera",
    # panel/api/workers.py
    "api.work.start": "one of the API's own threads starts a job (what: screen, frame, events, snapshot)",
    # panel/ui/display.py
    "ui.update.start": "Display.update: layout of the state begins (screen)",
    "ui.update.end": "Display.update done (drawn: whether the screen was redrawn)",
    # panel/scanner/scanner.py
    "scanner.process.start": "a frame taken by the decode thread (frame)",
    "scanner.decode.start": "the frame changed: the decoder starts (frame)",
    "scanner.decode.end": "the decoder returned (frame, texts)",
    "scanner.process.end": "the decode thread is done with the frame (frame, texts: the new ones)",
    "scanner.code": "a new text is handed to on_code, on the event loop (text)",
    # panel/access/policy.py
    "access.verify.start": "a credential check starts (text)",
    "access.verify.end": "the credential check decided (text, ok, reason)",
    # panel/call/signaling.py
    "signaling.send": "the panel sends a message to the cloud (type)",
    "signaling.receive": "the panel received a message from the cloud (type)",
    # panel/call/session.py, media.py, encoders.py
    "call.session.new": "a CallSession is being made (call_id)",
    "call.session.ready": "its RTCPeerConnection and tracks are set up (call_id)",
    "call.offer.start": "createOffer + setLocalDescription begin (call_id)",
    "call.offer.done": "the offer is complete (call_id)",
    "call.answer.start": "setRemoteDescription of the device's answer begins (call_id)",
    "call.answer.done": "the answer is applied (call_id)",
    "call.connection": "the peer connection's state changed (call_id, state)",
    "call.ice": "the ICE connection's state changed (call_id, state)",
    "call.video.frame": "the camera track handed a frame to aiortc (pts)",
    "call.encoder.created": "a panel video encoder was made (codec)",
    "call.encode.start": "a video frame goes into the encoder, in aiortc's executor (codec)",
    "call.encode.done": "the encoder returned the frame's packets (codec, bytes)",
    # panel/sim/cloud.py (the dev cloud)
    "cloud.from_panel": "the dev cloud received a message from the panel (type)",
    "cloud.from_device": "the dev cloud received a message from a resident device (type, device)",
    # panel/door.py: the door strike's reports (hal.events.StrikeReleased / StrikeRelocked)
    "strike.released": "the strike reports the door released (its backend confirmed the relay)",
    "strike.relocked": "the strike reports the door relocked",
    # panel/shell.py: the core step
    "app.dispatch.start": "an event goes into the core step (event: its class name)",
    "app.dispatch.end": "the event's effects are started and the screen redrawn",
}

_subscribers: tuple[Subscriber, ...] = ()
_failed: set[int] = set()


def point(name: str, /, **fields) -> None:
    """Mark that `name` happened now, with `fields`. Nearly free with no subscriber."""
    if _subscribers:
        for fn in _subscribers:
            try:
                fn(name, fields)
            except Exception:
                if id(fn) not in _failed:
                    _failed.add(id(fn))
                    log.exception("trace subscriber %r failed at %s; its errors are not logged again", fn, name)


def active() -> bool:
    """True when someone listens: for a point whose fields are costly to compute."""
    return bool(_subscribers)


def subscribe(fn: Subscriber) -> Callable[[], None]:
    """Call fn(name, fields) at every trace point from now on; returns the unsubscribe."""
    global _subscribers
    _subscribers = (*_subscribers, fn)

    def unsubscribe() -> None:
        global _subscribers
        _subscribers = tuple(s for s in _subscribers if s is not fn)
    return unsubscribe
