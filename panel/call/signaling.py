"""The panel's WebSocket to the cloud: one authenticated connection, kept up.

Reconnects with exponential backoff and jitter; reports the link going up and down
so the panel can tell visitors that calls are unavailable. The protocol spoken over
it is in docs/signaling.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable

import aiohttp

from .. import trace

log = logging.getLogger(__name__)


class SignalingClient:
    def __init__(self, url: str, token: str, on_message: Callable[[dict], None],
                 on_link: Callable[[bool], None], *, first_backoff: float = 0.5, max_backoff: float = 30.0,
                 heartbeat: float = 10.0):
        self.url, self.token = url, token
        self.on_message, self.on_link = on_message, on_link
        self.first_backoff, self.max_backoff, self.heartbeat = first_backoff, max_backoff, heartbeat
        self.connected = False
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    async def run(self) -> None:
        backoff = self.first_backoff
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.ws_connect(self.url, heartbeat=self.heartbeat,
                                                  headers={"Authorization": f"Bearer {self.token}"}) as ws:
                        self._ws = ws
                        self._set_link(True)
                        backoff = self.first_backoff
                        await self._read(ws)
                        if ws.close_code == 4401:
                            log.error("cloud refused the panel token (close code 4401); check [cloud] token")
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
                    log.debug("cloud connection failed: %s", e)
                finally:
                    self._ws = None
                    self._set_link(False)
                delay = backoff * random.uniform(0.8, 1.2)
                backoff = min(backoff * 2, self.max_backoff)
                await asyncio.sleep(delay)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                data = json.loads(msg.data)
            except json.JSONDecodeError:
                log.warning("cloud sent something that is not JSON; ignored")
                continue
            if not isinstance(data, dict) or not isinstance(data.get("type"), str):
                log.warning("cloud sent a message without a type; ignored")
                continue
            trace.point("signaling.receive", type=data["type"])
            try:
                self.on_message(data)
            except Exception:
                log.exception("handling cloud message %r failed", data.get("type"))

    async def send(self, message: dict) -> bool:
        """Send if connected; False when the link is down (the caller decides what that means)."""
        ws = self._ws
        if ws is None or ws.closed:
            return False
        trace.point("signaling.send", type=message.get("type"))
        try:
            await ws.send_json(message)
            return True
        except (aiohttp.ClientError, ConnectionResetError, RuntimeError) as e:
            log.warning("sending %r to the cloud failed: %s", message.get("type"), e)
            return False

    def _set_link(self, up: bool) -> None:
        if up != self.connected:
            self.connected = up
            log.info("cloud link %s (%s)", "up" if up else "down", self.url)
            self.on_link(up)
