"""The resident's side of the dev cloud, besides signaling (cloud.py): the installable
web app (manifest, service worker, icons) and each resident's history of calls and
door openings, with the visitor's picture of each call.

    GET /app                                    the resident web app (webapp/index.html)
    GET /manifest.webmanifest                   the web app manifest
    GET /sw.js                                  the service worker, at the root so its scope is the whole app
    GET /icons/icon-{192,512}.png               the app icon as PNG, drawn at start (webapp/icon.svg is its
                                                source for browsers that take SVG)
    GET /api/resident/history?resident=&token=  the resident's calls and door openings, newest first
    GET /api/resident/history/{id}/snapshot.jpg?resident=&token=    the visitor's picture of a call
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from typing import TYPE_CHECKING

import cv2
import numpy as np
from aiohttp import web

from .cloud_db import CloudDb

if TYPE_CHECKING:
    from .cloud import DevCloud

KEEP = 50                       # history entries kept in memory (and shown) per resident
ICON_SIZES = (192, 512)
BLUE, WHITE = (235, 99, 37), (255, 255, 255)       # BGR of app.css --blue (#2563eb), and white


class History:
    """Per resident, their calls (door, outcome, the visitor's snapshot) and door openings
    (in a call or not, opened or refused and why), written through to the cloud's db."""

    def __init__(self, db: CloudDb):
        self.db = db
        self.entries: dict[str, dict[str, dict]] = {}       # resident id -> entry id -> entry, oldest first
        self.snapshots: dict[str, bytes] = {}               # entry id -> JPEG
        self.owner: dict[str, str] = {}                     # entry id -> resident id
        self.calls: dict[str, str] = {}                     # call id -> entry id, while the call lasts
        for key, resident_id, entry, snapshot in db.history():
            self._keep(resident_id, key, entry, snapshot)

    def _keep(self, resident_id: str, key: str, entry: dict, snapshot: bytes | None = None) -> None:
        mine = self.entries.setdefault(resident_id, {})
        mine[key] = entry
        self.owner[key] = resident_id
        if snapshot:
            self.snapshots[key] = snapshot
        while len(mine) > KEEP:
            old = next(iter(mine))
            del mine[old]
            self.snapshots.pop(old, None)
            self.owner.pop(old, None)

    def _write(self, resident_id: str, key: str, entry: dict, snapshot: bytes | None = None) -> None:
        self._keep(resident_id, key, entry, snapshot)
        self.db.put_history(key, resident_id, entry, snapshot)

    def rang(self, call_id: str, resident_id: str, door: str, building: str, snapshot: bytes | None) -> None:
        key = secrets.token_hex(6)
        self.calls[call_id] = key
        self._write(resident_id, key, {"id": key, "kind": "call", "at": time.time(), "door": door,
                                       "building": building, "outcome": "ringing"}, snapshot)

    def call(self, call_id: str, *, end: bool = False, **changes) -> None:
        """The call's entry changed: its outcome (answered, declined, missed, ...), door_opened;
        end=True: the call is over (an outcome given then replaces only "ringing")."""
        key = self.calls.pop(call_id, None) if end else self.calls.get(call_id)
        resident_id = self.owner.get(key or "")
        if resident_id is None:
            return
        entry = dict(self.entries[resident_id][key])
        if end:
            entry["ended_at"] = time.time()
            if entry["outcome"] != "ringing":
                changes.pop("outcome", None)
        entry.update(changes)
        self._write(resident_id, key, entry)

    def door(self, resident_id: str, *, ok: bool, reason: str, door: str, call_id: str = "") -> None:
        if call_id and ok and call_id in self.calls:
            self.call(call_id, door_opened=True)        # the call's entry says it
            return
        key = secrets.token_hex(6)
        self._write(resident_id, key, {"id": key, "kind": "door", "at": time.time(), "door": door, "ok": ok,
                                       "reason": reason, "in_call": bool(call_id)})

    def of(self, resident_id: str) -> list[dict]:
        return [{**e, "snapshot": e["id"] in self.snapshots}
                for e in reversed(self.entries.get(resident_id, {}).values())]


def add_routes(app: web.Application, cloud: "DevCloud") -> None:
    from .cloud import WEBAPP
    icons = {size: _icon_png(size) for size in ICON_SIZES}

    def signed_in(request: web.Request) -> str | None:
        q = request.query
        resident_id = q.get("resident", "")
        if resident_id not in cloud.residents or not hmac.compare_digest(
                q.get("token", "").encode(), cloud.device_token(resident_id).encode()):
            return None
        return resident_id

    async def page(request):
        return web.FileResponse(WEBAPP / "index.html", headers={"Cache-Control": "no-cache"})

    async def manifest(request):
        body = {"name": f"{cloud.property_name} door", "short_name": "Door", "id": "/app",
                "description": "Answer the entrance panel, see the visitor, open the door.",
                "start_url": "/app", "scope": "/", "display": "standalone", "orientation": "portrait",
                "background_color": "#0d141e", "theme_color": "#0d141e",
                "icons": [{"src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
                          *({"src": f"/icons/icon-{s}.png", "sizes": f"{s}x{s}", "type": "image/png",
                             "purpose": "any maskable"} for s in ICON_SIZES)]}
        return web.Response(text=json.dumps(body), content_type="application/manifest+json")

    async def service_worker(request):
        return web.FileResponse(WEBAPP / "sw.js", headers={"Content-Type": "text/javascript",
                                                           "Cache-Control": "no-cache"})

    async def icon(request):
        png = icons.get(int(request.match_info["size"]))
        if png is None:
            raise web.HTTPNotFound(text=f"icons come in {', '.join(map(str, ICON_SIZES))} pixels")
        return web.Response(body=png, content_type="image/png")

    async def history(request):
        resident_id = signed_in(request)
        if resident_id is None:
            return web.json_response({"error": "resident sign-in needed"}, status=401)
        return web.json_response({"entries": cloud.history.of(resident_id)})

    async def snapshot(request):
        resident_id, key = signed_in(request), request.match_info["id"]
        if resident_id is None:
            return web.json_response({"error": "resident sign-in needed"}, status=401)
        jpeg = cloud.history.snapshots.get(key)
        if jpeg is None or cloud.history.owner.get(key) != resident_id:
            return web.json_response({"error": "no picture of this call"}, status=404)
        return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})

    app.add_routes([web.get("/app", page), web.get("/manifest.webmanifest", manifest),
                    web.get("/sw.js", service_worker), web.get(r"/icons/icon-{size:\d+}.png", icon),
                    web.get("/api/resident/history", history),
                    web.get("/api/resident/history/{id}/snapshot.jpg", snapshot)])


def _icon_png(size: int) -> bytes:
    """webapp/icon.svg's door, full-bleed (a maskable icon: the platform rounds the corners)."""
    image = np.full((size, size, 3), BLUE, np.uint8)
    k = size / 512

    def box(x, y, w, h, colour):
        cv2.rectangle(image, (round(x * k), round(y * k)), (round((x + w) * k) - 1, round((y + h) * k) - 1),
                      colour, -1)
    box(176, 120, 160, 264, WHITE)                      # the door
    box(136, 384, 240, 20, WHITE)                       # the step
    cv2.circle(image, (round(304 * k), round(260 * k)), round(14 * k), BLUE, -1, cv2.LINE_AA)   # the handle
    ok, png = cv2.imencode(".png", image)
    return png.tobytes()
