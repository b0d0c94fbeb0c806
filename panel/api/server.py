"""The local HTTP API (/api/v1) on aiohttp, for integrators and HIL rigs.

Every route needs `Authorization: Bearer <token>`: `api.token` for everything,
`api.read_token` for GET routes only (auth.py, with back-off for a client that keeps
guessing). Errors are JSON (`{"error": "..."}`) with a 4xx status; a handler that
fails unexpectedly answers 500 with JSON too, and the panel keeps running. Bodies are
read within limits (bodies.py), connections are bounded and timed (connections.py),
and the API speaks HTTPS with its own certificate when it listens beyond loopback (tls.py).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from aiohttp import web

from .. import trace
from . import camera, stream, tls
from .auth import Auth
from .bodies import read_image, read_json
from .connections import Listener
from .errors import ApiError, Busy, Rejected, TooLarge

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
__all__ = ["ApiServer", "ApiError", "Busy", "Panel", "Rejected", "TooLarge", "make_app"]


class Panel(Protocol):
    """What the API needs from the running panel (panel.facade.PanelFacade provides it).
    Bad input from the caller raises Rejected."""
    def status(self) -> dict: ...
    async def events(self, after: int, limit: int) -> list[dict]: ...
    async def snapshot(self, event_id: int) -> bytes | None: ...
    async def screen_png(self) -> bytes: ...
    def ui(self) -> dict: ...
    def touch(self, x: float, y: float, to: tuple[float, float] | None = None) -> dict: ...
    async def inject_frame(self, data: bytes) -> dict: ...
    def open_door(self, who: str) -> dict: ...


def error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    response = web.json_response({"error": message}, status=status, headers=headers)
    if headers and headers.get("Connection") == "close":
        response.force_close()
    return response


def make_app(panel: Panel, auth: Auth, settings, busy: set | None = None) -> web.Application:
    """The API's routes over `panel`; `settings` is config.ApiSection (limits and timeouts);
    `busy` collects the connections running a request (connections.Listener spares them)."""
    busy = set() if busy is None else busy

    @web.middleware
    async def guard(request: web.Request, handler):
        try:
            if request.path.startswith(PREFIX):
                auth.check(request.remote or "?", request.headers.get("Authorization", ""),
                           control=request.method not in ("GET", "HEAD"))
            busy.add(request.protocol)
            try:
                return await handler(request)
            finally:
                busy.discard(request.protocol)
        except ApiError as e:
            return error(e.status, str(e), e.headers)
        except TooLarge as e:
            return error(413, str(e))
        except Busy as e:
            return error(503, str(e), {"Retry-After": "1"})
        except Rejected as e:
            return error(400, str(e))
        except web.HTTPException as e:
            # aiohttp's own 404 / 405 / 413, as JSON like everything else.
            if e.status >= 400:
                return error(e.status, e.reason)
            raise
        except Exception:
            log.exception("API handler failed: %s %s", request.method, request.path)
            return error(500, "internal error; see the panel log")

    app = web.Application(middlewares=[guard], client_max_size=settings.max_frame_bytes)
    routes = web.RouteTableDef()

    @routes.get(PREFIX + "/status")
    async def status(request):
        return web.json_response(panel.status())

    @routes.get(PREFIX + "/events")
    async def events(request):
        after = _int_param(request, "after", 0, 0)
        limit = _int_param(request, "limit", 100, 1, 1000)
        items = await panel.events(after, limit)
        return web.json_response({"events": items, "last_id": items[-1]["id"] if items else after})

    @routes.get(PREFIX + "/events/{id}/snapshot.jpg")
    async def snapshot(request):
        try:
            event_id = int(request.match_info["id"])
        except ValueError:
            raise ApiError(400, "event id must be a whole number") from None
        data = await panel.snapshot(event_id)
        if data is None:
            raise ApiError(404, f"no snapshot for event {event_id}")
        return web.Response(body=data, content_type="image/jpeg")

    @routes.get(PREFIX + "/screen.png")
    async def screen(request):
        return web.Response(body=await panel.screen_png(), content_type="image/png",
                            headers={"Cache-Control": "no-store"})

    @routes.get(PREFIX + "/ui")
    async def ui(request):
        return web.json_response(panel.ui())

    @routes.post(PREFIX + "/touch")
    async def touch(request):
        body = await read_json(request, settings.body_timeout_seconds)
        x, y = _point(body, 'expected {"x": number, "y": number} in screen pixels')
        to = None
        if "to" in body:       # a swipe: the finger lifted somewhere else
            to = _point(body["to"], '"to" must be {"x": number, "y": number}: where the finger is lifted')
        trace.point("api.touch.start", x=x, y=y)
        result = panel.touch(x, y, to)
        trace.point("api.touch.done", screen=result.get("screen"))
        return web.json_response(result)

    @routes.post(PREFIX + "/camera/frame")
    async def camera_frame(request):
        data = await read_image(request, settings.body_timeout_seconds, settings.max_frame_bytes)
        if not data:
            raise ApiError(400, "expected an image (PNG, JPEG, ...) as the request body")
        trace.point("api.frame.received", bytes=len(data))
        result = await panel.inject_frame(data)
        trace.point("api.frame.injected")
        return web.json_response(result)

    @routes.post(PREFIX + "/door/open")
    async def door_open(request):
        body = await read_json(request, settings.body_timeout_seconds, optional=True)
        who = body.get("who", "")
        if not isinstance(who, str) or len(who) > 200:
            raise ApiError(400, '"who" must be a string of at most 200 characters')
        return web.json_response(panel.open_door(who))

    app.add_routes(routes)
    for module in (stream, camera):     # events/stream; camera/snapshot.jpg, camera/stream.mjpeg
        app.add_routes(module.routes(panel, PREFIX))
    return app


def _point(body, message: str) -> tuple[float, float]:
    x, y = (body.get("x"), body.get("y")) if isinstance(body, dict) else (None, None)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y)):
        raise ApiError(400, message)
    return float(x), float(y)


def _int_param(request: web.Request, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"query parameter '{name}' must be a whole number, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApiError(400, f"query parameter '{name}' must be {bounds}")
    return value


class ApiServer:
    """Runs the API as config's [api] says; `port` is the real one after start (config may
    say 0), `url` the root clients use, `fingerprint` the TLS certificate's (None: plain HTTP)."""

    def __init__(self, panel: Panel, settings, token: str, state_dir: Path):
        self.panel, self.settings, self.state_dir = panel, settings, state_dir
        self.host, self.port = settings.host, settings.port
        self.busy: set = set()
        self.app = make_app(panel, Auth(token, settings.read_token), settings, self.busy)
        self.fingerprint: str | None = None
        self._runner: web.AppRunner | None = None
        self._listener: Listener | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.fingerprint else 'http'}://{self.host}:{self.port}{PREFIX}"

    async def start(self) -> None:
        context = None
        if tls.wanted(self.settings.tls, self.host):
            context, self.fingerprint = tls.server_context(self.state_dir, self.host)
        # keepalive_timeout counts from a connection's start too: the request head's deadline.
        # lingering_time: how long the rest of a refused body is read (and dropped) before closing.
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=0.5,
                                     keepalive_timeout=self.settings.header_timeout_seconds,
                                     lingering_time=min(2.0, self.settings.body_timeout_seconds))
        await self._runner.setup()
        self._listener = Listener(self._runner.server, self.host, self.port,
                                  max_connections=self.settings.max_connections,
                                  header_timeout=self.settings.header_timeout_seconds,
                                  ssl_context=context, busy=self.busy)
        try:
            await self._listener.start()
        except OSError:
            await self._runner.cleanup()
            raise
        self.port = self._listener.port

    async def stop(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if hasattr(self.panel, "close"):
            self.panel.close()
