"""The API's listening socket, accepted by hand so the connections stay bounded.

asyncio's own server accepts until the process runs out of file descriptors, then logs a
traceback per failed accept and stops answering anyone. Here:
- at most `limit` connections are open: `api.max_connections`, lowered to fit under the
  open-file limit (raised to its hard limit first) with room for the rest of the panel;
- a new connection beyond that closes the oldest idle one (no request running: an idle
  keep-alive, a TLS handshake not finished, a client that never sent a request); with
  none idle it is answered 503 and closed;
- a connection must finish its TLS handshake and its request head within
  `api.header_timeout_seconds` (aiohttp's keep-alive timeout is set to it, and counts
  from the connection's start);
- a failed accept (EMFILE, ENOBUFS) is one warning line a minute, never a traceback.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import resource
import socket
import ssl
import time

from aiohttp import web

log = logging.getLogger(__name__)

RESERVED_FDS = 64       # descriptors left for the store, the camera, the cloud, threads, logs
WARN_EVERY = 60.0       # seconds between repeated warnings of the same kind
_OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class Listener:
    def __init__(self, server: web.Server, host: str, port: int, *, max_connections: int,
                 header_timeout: float, ssl_context: ssl.SSLContext | None, busy: set):
        self.server, self.host, self.port = server, host, port
        self.max_connections, self.header_timeout, self.ssl = max_connections, header_timeout, ssl_context
        self.busy = busy                    # RequestHandlers running a request (the API's middleware keeps it)
        self.limit = max_connections
        self._sock: socket.socket | None = None
        self._task: asyncio.Task | None = None
        self._handshakes: dict[asyncio.Task, None] = {}      # accepted, TLS handshake under way (oldest first)
        self._warned: dict[str, float] = {}

    async def start(self) -> None:
        self.limit = self._fitting_limit()
        try:
            self._sock = socket.create_server((self.host, self.port), family=_family(self.host), backlog=128)
        except OSError as e:
            raise OSError(f"cannot listen on {self.host}:{self.port} for the local API: {e.strerror}") from None
        self._sock.setblocking(False)
        self.port = self._sock.getsockname()[1]
        self._task = asyncio.create_task(self._accept(), name="api accept")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            for t in list(self._handshakes):
                t.cancel()
            await asyncio.gather(self._task, *self._handshakes, return_exceptions=True)
            self._task = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def open_connections(self) -> int:
        return len(self._handshakes) + sum(h.transport is not None for h in self.server.connections)

    def _fitting_limit(self) -> int:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
                soft = hard
            except (ValueError, OSError):
                pass
        in_use = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 32
        room = soft - in_use - RESERVED_FDS if soft != resource.RLIM_INFINITY else self.max_connections
        limit = max(1, min(self.max_connections, room))
        if limit < self.max_connections:
            log.warning("local API: at most %d connections (the open-file limit is %d; raise LimitNOFILE "
                        "or lower api.max_connections)", limit, soft)
        return limit

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, _ = await loop.sock_accept(self._sock)
            except OSError as e:
                if e.errno not in _OUT_OF_RESOURCES:
                    log.debug("local API: accept: %s", e)     # the client gave up before we got to it
                    continue
                self._warn("accept", f"local API: cannot accept a connection: {e.strerror}; closing idle ones")
                if not self._close_idle():
                    await asyncio.sleep(0.1)            # let connections end before accepting again
                continue
            if self.open_connections() >= self.limit and not self._close_idle():
                self._refuse(sock)
                continue
            task = asyncio.create_task(self._serve(sock))
            self._handshakes[task] = None
            task.add_done_callback(lambda t: self._handshakes.pop(t, None))

    async def _serve(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.connect_accepted_socket(self.server, sock, ssl=self.ssl,
                                               ssl_handshake_timeout=self.header_timeout if self.ssl else None)
        except (OSError, ssl.SSLError, TimeoutError) as e:
            log.debug("local API: connection dropped before its first request: %s", e)
            sock.close()

    def _close_idle(self) -> bool:
        """Close the oldest idle connection; False if every one is running a request."""
        for task in self._handshakes:
            task.cancel()
            self._handshakes.pop(task, None)
            return True
        for handler in self.server.connections:             # oldest first
            if handler.transport is not None and handler not in self.busy:
                handler.force_close()
                return True
        return False

    def _refuse(self, sock: socket.socket) -> None:
        self._warn("full", f"local API: {self.limit} connections open, all running requests; refusing new ones "
                           f"(api.max_connections, open-file limit)")
        if self.ssl is None:
            body = json.dumps({"error": f"the panel has {self.limit} API connections open; try again shortly"})
            try:
                sock.setblocking(False)
                sock.send(f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n{body}".encode())
            except OSError:
                pass
        sock.close()

    def _warn(self, kind: str, message: str) -> None:
        now = time.monotonic()
        if now - self._warned.get(kind, -WARN_EVERY) >= WARN_EVERY:
            self._warned[kind] = now
            log.warning(message)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
