"""The UDP transport and client transactions (RFC 3261 sections 17.1 and 18).

One socket carries every message. A response goes to the client transaction whose
branch and method it names; a request goes to the user agent (`on_request`). Over UDP
the client retransmits: an INVITE on timer A until any response, other requests on
timer E until a final one; no final response within timer B/F (64*T1) is a timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from . import message
from .message import Request, Response

log = logging.getLogger(__name__)

T1, T2 = 0.5, 4.0                  # RTT estimate and the longest retransmit interval (17.1.2.2)
TIMEOUT = 64 * T1


class TransactionTimeout(Exception):
    """No final response in time (timer B or F): the peer or the path is not there."""


class Transport(asyncio.DatagramProtocol):
    def __init__(self, on_request: Callable[[Request, tuple], None]):
        self.on_request = on_request
        self.transactions: dict[tuple[str, str], ClientTransaction] = {}
        self.socket: asyncio.DatagramTransport | None = None

    @classmethod
    async def open(cls, host: str, port: int, on_request) -> "Transport":
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_datagram_endpoint(lambda: cls(on_request), local_addr=(host, port))
        return protocol

    @property
    def address(self) -> tuple[str, int]:
        return self.socket.get_extra_info("sockname")[:2]

    def connection_made(self, transport) -> None:
        self.socket = transport

    def send(self, msg: Request | Response, addr: tuple[str, int]) -> None:
        if self.socket is not None and not self.socket.is_closing():
            self.socket.sendto(bytes(msg), addr)

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close()

    def datagram_received(self, data: bytes, addr) -> None:
        if not data.strip():
            return                      # keep-alive (RFC 5626 CRLF)
        try:
            self._deliver(message.parse(data), addr)
        except (ValueError, KeyError, IndexError, UnicodeDecodeError) as e:
            # sipmessage parses headers when they are read: a bad one shows here, for any message.
            log.warning("sip: dropped a malformed message from %s:%s: %s", addr[0], addr[1], e or type(e).__name__)

    def _deliver(self, msg: Request | Response, addr) -> None:
        if isinstance(msg, Response):
            key = (msg.via[0].parameters.get("branch") or "", msg.cseq.method)
            transaction = self.transactions.get(key)
            if transaction is not None:
                transaction.receive(msg)
            else:
                log.debug("sip: response %s for no transaction", msg.code)
        else:
            self.on_request(msg, addr)


class ClientTransaction:
    """One request and its responses. `on_provisional` hears 1xx, `final()` waits for the rest.

    An INVITE's transaction stays registered after a 2xx (`close()` when done) so that
    retransmitted 2xx reach `on_2xx` and are ACKed again (13.2.2.4)."""

    def __init__(self, transport: Transport, request: Request, addr: tuple[str, int], *,
                 on_provisional: Callable[[Response], None] = lambda r: None,
                 on_2xx: Callable[[Response], None] = lambda r: None):
        self.transport, self.request, self.addr = transport, request, addr
        self.method = request.method
        self.branch = request.via[0].parameters.get("branch")
        self.on_provisional, self.on_2xx = on_provisional, on_2xx
        self._final: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._retransmit: asyncio.Task | None = None
        self._got_response = False

    async def final(self) -> Response:
        self.transport.transactions[(self.branch, self.method)] = self
        self.transport.send(self.request, self.addr)
        self._retransmit = asyncio.ensure_future(self._retransmit_loop())
        try:
            return await asyncio.wait_for(asyncio.shield(self._final), TIMEOUT)
        except TimeoutError:
            raise TransactionTimeout(f"{self.method}: no answer from {self.addr[0]}:{self.addr[1]}") from None
        finally:
            self._retransmit.cancel()
            if self.method != "INVITE" or not self._final.done() or self._final.result().code >= 300:
                self.close()

    def close(self) -> None:
        if self.transport.transactions.get((self.branch, self.method)) is self:
            del self.transport.transactions[(self.branch, self.method)]

    def receive(self, response: Response) -> None:
        self._got_response = True
        if response.code < 200:
            self.on_provisional(response)
        elif not self._final.done():
            if self.method == "INVITE" and response.code >= 300:
                self.transport.send(self._ack_for(response), self.addr)
            self._final.set_result(response)
        elif self.method == "INVITE":
            if response.code < 300:
                self.on_2xx(response)           # a retransmitted 2xx: the dialog ACKs again
            else:
                self.transport.send(self._ack_for(response), self.addr)

    async def _retransmit_loop(self) -> None:
        interval = T1
        while True:
            await asyncio.sleep(interval)
            if self.method == "INVITE":
                if self._got_response:
                    return                      # timer A stops at any response
                interval *= 2
            else:
                interval = T2 if self._got_response else min(interval * 2, T2)
            self.transport.send(self.request, self.addr)

    def _ack_for(self, response: Response) -> Request:
        """The ACK of a non-2xx final response: same branch, the response's To (17.1.1.3)."""
        r = self.request
        ack = message.request("ACK", r.uri, via=(r.via[0].host, r.via[0].port), from_addr=r.from_address,
                              to_addr=response.to_address, call_id=r.call_id, cseq=r.cseq.sequence,
                              routes=r.route, branch=self.branch)
        return ack
