"""The panel's WebSocket to the cloud: one authenticated connection, kept up.

Reconnects with exponential backoff and jitter; reports the link going up and down
so the panel can tell visitors that calls are unavailable, and why it is down
(`problem`: a certificate that does not verify, a refused token, ...), said once in
the log per episode. The protocol spoken over it is in docs/signaling.md.

The cloud is trusted with nothing the door depends on: what it sends is size-limited
(`MAX_MESSAGE_BYTES`, enforced by the socket), read at a bounded rate (`RATE` messages
a second, a burst of `BURST`; beyond that the socket is read slower, so a flood is
pushed back to the sender instead of queueing here or holding the event loop), and
checked before anything acts on it (`check`); each kind of problem is one log line
a minute at most (`Complaints`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import socket
import ssl
import time
from collections.abc import Callable

import aiohttp

from .. import trace

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4 * 1024 * 1024     # a directory of 20,000 residents fits in 3 MiB
RATE, BURST = 100.0, 200                # messages a second from the cloud, sustained and at once
BYTE_RATE = 1024 * 1024                 # bytes a second: a full directory every few seconds at most
CLOSE_SECONDS = 1.0                     # for the closing handshake, at most
MAX_ID = 200                            # characters in a call id, device id, reason or name
MAX_SDP = 64 * 1024                     # characters in an SDP answer (a real one is 2-6 KB)


class Complaints:
    """Log a kind of problem once per `every` seconds, saying how many were left unsaid,
    so a misbehaving peer cannot fill the disk with the same line."""

    def __init__(self, logger: logging.Logger, every: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.logger, self.every, self.clock = logger, every, clock
        self._last: dict[str, float] = {}
        self._unsaid: dict[str, int] = {}

    def __call__(self, kind: str, message: str, *args) -> None:
        now = self.clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.every:
            self._unsaid[kind] = self._unsaid.get(kind, 0) + 1
            return
        self._last[kind] = now
        unsaid = self._unsaid.pop(kind, 0)
        suffix = f" ({unsaid} more like it since the last report)" if unsaid else ""
        self.logger.warning(message + suffix, *args)


class Bucket:
    """A token bucket: `rate` a second, `burst` at once."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.filled = float(burst), None

    def take(self, n: float, now: float) -> float:
        """Take n; the seconds to wait before the next, 0 if none."""
        if self.filled is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.filled) * self.rate)
        self.filled = now
        self.tokens -= n
        return -self.tokens / self.rate if self.tokens < 0 else 0.0


def say(kind: str, message: str, *args) -> None:
    """A Complaints stand-in that says everything (for one-off checks)."""
    log.warning(message, *args)


# A message's fields the panel reads, by type: field -> the type it must have. The
# value's size is bounded too (strings MAX_ID, "sdp" MAX_SDP). Fields not listed are
# not read; a listed field that is absent is fine (its reader has a default).
Fields = dict[str, type | tuple[type, ...]]


def check(m: dict, fields: Fields) -> str | None:
    """What is wrong with the cloud message m, or None if its listed fields are usable."""
    for name, kind in fields.items():
        if name not in m:
            continue
        value = m[name]
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _types(kind)):
            return f"'{name}' is {type(value).__name__}, expected {_names(kind)}"
        if isinstance(value, str) and len(value) > (MAX_SDP if name == "sdp" else MAX_ID):
            return f"'{name}' is {len(value)} characters long"
    return None


def _types(kind) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _names(kind) -> str:
    return " or ".join(t.__name__ for t in _types(kind))


def tls_for(url: str, ca_file: str = "", fingerprint: bytes | None = None):
    """aiohttp's `ssl` argument for the cloud's URL: the system's CAs, or the CA file's, or
    only the pinned SHA-256 fingerprint (aiohttp's default, True, for ws://: no TLS)."""
    if not url.startswith("wss:"):
        return True
    if fingerprint:
        return aiohttp.Fingerprint(fingerprint)
    return ssl.create_default_context(cafile=ca_file or None)


class SignalingClient:
    def __init__(self, url: str, token: str, on_message: Callable[[dict], None],
                 on_link: Callable[[bool], None], *, first_backoff: float = 0.5, max_backoff: float = 30.0,
                 heartbeat: float = 10.0, tls=True):
        self.url, self.token, self.tls = url, token, tls
        self.on_message, self.on_link = on_message, on_link
        self.first_backoff, self.max_backoff, self.heartbeat = first_backoff, max_backoff, heartbeat
        self.connected = False
        self.problem: str | None = None         # why the link is down, when known
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._messages, self._bytes = Bucket(RATE, BURST), Bucket(BYTE_RATE, 2 * MAX_MESSAGE_BYTES)
        self.complain = Complaints(log)         # this link's problems with what the cloud sends

    async def run(self) -> None:
        backoff = self.first_backoff
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    ws = await session.ws_connect(self.url, heartbeat=self.heartbeat, ssl=self.tls,
                                                  max_msg_size=MAX_MESSAGE_BYTES,
                                                  headers={"Authorization": f"Bearer {self.token}"})
                    try:
                        self._ws = ws
                        self._set_problem(None)
                        self._set_link(True)
                        backoff = self.first_backoff
                        await self._read(ws)
                        self._set_problem(_closed_why(ws, self.heartbeat))
                    finally:
                        await _close(ws)
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
                    self._set_problem(_failed_why(e))
                finally:
                    self._ws = None
                    self._set_link(False)
                delay = backoff * random.uniform(0.8, 1.2)
                backoff = min(backoff * 2, self.max_backoff)
                await asyncio.sleep(delay)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                self.receive(msg.data)
            elif msg.type is aiohttp.WSMsgType.BINARY:
                self.complain("binary", "cloud sent a binary message; ignored (the protocol is JSON text)")
            await self._pace(len(msg.data) if isinstance(msg.data, (str, bytes)) else 0)

    def receive(self, text: str) -> None:
        """One text message from the cloud: parsed, checked, handed on; never raises."""
        try:
            data = json.loads(text, parse_constant=_not_json)
        except (ValueError, RecursionError):    # not JSON, NaN, a number too long, nesting too deep
            self.complain("not json", "cloud sent something that is not JSON; ignored")
            return
        if not isinstance(data, dict) or not isinstance(data.get("type"), str) or len(data["type"]) > MAX_ID:
            self.complain("no type", "cloud sent a message that is not an object with a type; ignored")
            return
        trace.point("signaling.receive", type=data["type"])
        try:
            self.on_message(data)
        except Exception:
            log.exception("handling cloud message %r failed", data["type"])

    async def _pace(self, size: int) -> None:
        """Token buckets: RATE messages and BYTE_RATE bytes a second (BURST and two full-size
        messages at once); beyond that, wait before reading the next."""
        now = asyncio.get_running_loop().time()
        wait = max(self._messages.take(1, now), self._bytes.take(size, now))
        if wait > 0:
            self.complain("flood", "cloud sends more than %d messages or %d KiB a second; reading it slower",
                          int(RATE), BYTE_RATE // 1024)
            await asyncio.sleep(wait)
        else:
            await asyncio.sleep(0)      # buffered messages must not hold the loop (the door's timers)

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

    def _set_problem(self, problem: str | None) -> None:
        """Said once per episode: not again on every retry while it lasts."""
        if problem is not None and problem != self.problem:
            log.warning("cloud link (%s): %s", self.url, problem)
        self.problem = problem


async def _close(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Close politely, within CLOSE_SECONDS: aiohttp reads on until the cloud's close frame,
    which a flooding cloud queues behind megabytes; then the connection is left to
    aiohttp to drop (the response is released when collected, or with the session)."""
    try:
        async with asyncio.timeout(CLOSE_SECONDS):
            await ws.close()
    except TimeoutError:
        log.debug("the cloud did not finish the closing handshake in %g s", CLOSE_SECONDS)


def _not_json(constant: str):
    raise ValueError(f"{constant} is not JSON")


def _closed_why(ws: aiohttp.ClientWebSocketResponse, heartbeat: float) -> str:
    if ws.close_code == 4401:
        return "the cloud refused the panel token (close code 4401); check [cloud] token"
    if ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG:
        return f"the cloud sent a message over {MAX_MESSAGE_BYTES} bytes (the limit); reconnecting"
    if isinstance(ws.exception(), aiohttp.ServerTimeoutError):
        return f"the cloud stopped answering (no pong {heartbeat:g} s after the last message); reconnecting"
    return f"the cloud closed the connection (code {ws.close_code}); reconnecting"


def _failed_why(e: Exception) -> str:
    if isinstance(e, aiohttp.ServerFingerprintMismatch):
        return (f"certificate fingerprint {e.got.hex()} does not match [cloud] fingerprint; "
                f"the link stays down")
    if isinstance(e, aiohttp.ClientConnectorCertificateError):
        why = getattr(e.certificate_error, "verify_message", "") or str(e.certificate_error)
        return f"certificate not trusted ({why}); check [cloud] ca_file; the link stays down"
    if isinstance(e, aiohttp.ClientSSLError):
        return f"TLS handshake failed ({e.os_error}); the link stays down"
    if isinstance(e, aiohttp.WSServerHandshakeError):
        if e.status == 404:
            return "no WebSocket at this URL (HTTP 404): check the path in [cloud] url; retrying"
        return f"the cloud refused the WebSocket (HTTP {e.status}); retrying"
    if isinstance(e, aiohttp.ClientConnectorError):
        os_error = e.os_error
        if isinstance(os_error, socket.gaierror):
            why = f"host name {e.host!r} not found"
        else:
            why = os.strerror(os_error.errno).lower() if os_error.errno else str(os_error)
        return f"cannot reach the cloud at {e.host}:{e.port}: {why}; check [cloud] url and that the cloud runs; retrying"
    if isinstance(e, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):   # closed, or reset
        return "the cloud hung up before the WebSocket was open (is it the cloud at that URL?); retrying"
    if isinstance(e, asyncio.TimeoutError):
        return "the cloud did not answer in time; retrying"
    return f"cannot reach the cloud ({e.__class__.__name__}: {e}); retrying"
