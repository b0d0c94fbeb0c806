"""`GET events/stream`: the panel's events as Server-Sent Events.

    event: access | alarm          id: the store's id       data: the entry, as GET events gives it
    event: call | door | link      (no id)                  data: {"kind": ..., "state": ..., ...}

Only log entries carry an `id:`: they are in the store, and `Last-Event-ID` (the
header a browser's EventSource sends on reconnecting, or `?last_event_id=`) resumes
after that entry with no gap and no duplicate, across a panel restart too (replayed
from the store, then live). Without one the stream starts with what comes next;
`last_event_id=0` replays the whole log first. State changes are not stored: each
connection starts with the current state (call, door, link) and then gets every
change, so a reconnecting client is never left with a stale picture.

A comment line every KEEPALIVE_SECONDS keeps proxies from closing an idle stream.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from ..events_feed import Logged, current_state

KEEPALIVE_SECONDS = 15.0
MAX_STREAMS = 16
BATCH = 200


def routes(panel, prefix: str) -> list[web.RouteDef]:
    async def stream(request: web.Request) -> web.StreamResponse:
        raw = request.headers.get("Last-Event-ID", request.query.get("last_event_id"))
        try:
            cursor = None if raw in (None, "") else int(raw)
            if cursor is not None and cursor < 0:
                raise ValueError
        except ValueError:
            return web.json_response({"error": f"Last-Event-ID must be a log entry id (a whole number), "
                                               f"got {raw!r}"}, status=400)
        feed = panel.feed
        if feed.subscribers >= MAX_STREAMS:
            return web.json_response({"error": f"{MAX_STREAMS} event streams are open already; close one "
                                               f"or use webhooks"}, status=503)
        sub = feed.subscribe()          # before the replay: nothing written meanwhile is missed
        try:
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no"})
            await resp.prepare(request)
            await resp.write(b"retry: 1000\n\n")
            for event in current_state(panel.feed.state()):
                await _send(resp, event["kind"], event)
            if cursor is not None:
                cursor = await _replay(resp, panel, cursor)
            while True:
                try:
                    item = await asyncio.wait_for(sub.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    await resp.write(b": keep-alive\n\n")
                    continue
                if item is None:        # fell too far behind: the client resumes from its last id
                    break
                if isinstance(item, Logged):
                    if cursor is None:
                        cursor = item.id - 1
                    cursor = await _replay(resp, panel, cursor)
                else:
                    await _send(resp, item["kind"], item)
        except ConnectionResetError:
            pass                        # the client went away: it resumes with Last-Event-ID
        finally:
            sub.close()
        return resp

    return [web.get(prefix + "/events/stream", stream)]


async def _replay(resp: web.StreamResponse, panel, cursor: int) -> int:
    """Every entry after `cursor`, from the store, in order; the new cursor."""
    while True:
        entries = await panel.events(cursor, BATCH)
        for entry in entries:
            await _send(resp, entry.get("kind", "access"), entry, entry["id"])
            cursor = entry["id"]
        if len(entries) < BATCH:
            return cursor


async def _send(resp: web.StreamResponse, kind: str, data: dict, event_id: int | None = None) -> None:
    head = f"id: {event_id}\n" if event_id is not None else ""
    await resp.write(f"{head}event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode())
