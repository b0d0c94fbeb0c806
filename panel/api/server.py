"""The local HTTP API (/api/v1) on aiohttp, for integrators and HIL rigs.

Every route needs `Authorization: Bearer <token>`. Errors are JSON
(`{"error": "..."}`) with a 4xx status; a handler that fails unexpectedly answers
500 with JSON too, and the panel keeps running.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Protocol

from aiohttp import web

from .. import trace
from . import camera, stream

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
MAX_FRAME_BYTES = 16 * 1024 * 1024


class Rejected(Exception):
    """The panel refuses what the caller asked for, saying why (the API answers 400).

    The panel side raises this, never an HTTP error: HTTP stays in this module."""


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


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def make_app(panel: Panel, token: str) -> web.Application:
    @web.middleware
    async def guard(request: web.Request, handler):
        if request.path.startswith(PREFIX):
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                resp = error(401, "missing or wrong bearer token (Authorization: Bearer <token>)")
                resp.headers["WWW-Authenticate"] = 'Bearer realm="entry-panel"'
                return resp
        try:
            return await handler(request)
        except ApiError as e:
            return error(e.status, str(e))
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

    app = web.Application(middlewares=[guard], client_max_size=MAX_FRAME_BYTES)
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
        body = await _json_body(request)
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
        data = await request.read()
        if not data:
            raise ApiError(400, "expected an image (PNG, JPEG, ...) as the request body")
        trace.point("api.frame.received", bytes=len(data))
        result = await panel.inject_frame(data)
        trace.point("api.frame.injected")
        return web.json_response(result)

    @routes.post(PREFIX + "/door/open")
    async def door_open(request):
        body = await _json_body(request, optional=True)
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


async def _json_body(request: web.Request, optional: bool = False) -> dict:
    raw = await request.read()
    if not raw.strip():
        if optional:
            return {}
        raise ApiError(400, "expected a JSON object as the request body")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "expected a JSON object as the request body")
    return body


class ApiServer:
    """Runs the API on host:port; `port` is the real one after start (config may say 0)."""

    def __init__(self, panel: Panel, host: str, port: int, token: str):
        self.app = make_app(panel, token)
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as e:
            await self._runner.cleanup()
            raise OSError(f"cannot listen on {self.host}:{self.port} for the local API: {e.strerror}") from None
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
