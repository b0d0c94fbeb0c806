"""The panel's SIP user agent: one UDP socket, its accounts' registrations, and the
requests peers send it (BYE in a call, OPTIONS); calls are placed by service.py."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

from . import message
from .message import Address, Request, URI
from .register import Account, Registration, host_port
from .transaction import Transport

log = logging.getLogger(__name__)


def local_address_toward(host: str, port: int) -> str:
    """The address this machine sends from toward host (what Contact, Via and SDP name)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect((host, port))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


class UserAgent:
    def __init__(self, accounts: list[Account], *, listen: str, expires: int,
                 on_registration: Callable[[Registration], None] = lambda r: None):
        self.accounts = accounts
        self.listen = host_port(listen)
        self.expires = expires
        self.on_registration = on_registration
        self.transport: Transport | None = None
        self.registrations: list[Registration] = []
        self.dialog_handlers: dict[str, Callable[[Request, tuple], None]] = {}     # Call-ID -> the call's handler

    async def start(self) -> None:
        self.transport = await Transport.open(*self.listen, self._on_request)
        for account in self.accounts:
            if account.registrar:
                self.registrations.append(Registration(self.transport, account, lambda a=account: self.contact(a),
                                                       expires=self.expires, on_change=self.on_registration))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    @property
    def account(self) -> Account:
        """The account calls go out on: the first registered, else the first."""
        for r in self.registrations:
            if r.registered:
                return r.account
        return self.accounts[0]

    def address_toward(self, host: str, port: int) -> str:
        bound = self.transport.address[0]
        return bound if bound not in ("0.0.0.0", "") else local_address_toward(host, port)

    def contact(self, account: Account) -> Address:
        hop = host_port(account.registrar) if account.registrar else ("127.0.0.1", 5060)
        user = URI.parse(account.uri).user
        return Address(uri=URI(scheme="sip", user=user, host=self.address_toward(*hop), port=self.transport.address[1]))

    def next_hop(self, account: Account, target: str) -> tuple[str, int]:
        """The registrar's proxy when the account has one, else the target's own host."""
        if account.registrar:
            return host_port(account.registrar)
        uri = URI.parse(target)
        return uri.host, uri.port or 5060

    def _on_request(self, request: Request, addr) -> None:
        handler = self.dialog_handlers.get(request.call_id)
        if request.method == "ACK":
            return
        if handler is not None:
            handler(request, addr)
            return
        if "tag" in request.to_address.parameters or request.method in ("BYE", "CANCEL"):
            # In a dialog (or a transaction) the panel does not have (12.2.2): whatever the method.
            self.reply(request, addr, 481, "Call/Transaction Does Not Exist")
        elif request.method == "OPTIONS":
            self.reply(request, addr, 200, "OK")
        elif request.method == "INVITE":
            self.reply(request, addr, 480, "Temporarily Unavailable")    # incoming calls: not yet
        else:
            self.reply(request, addr, 501, "Not Implemented")

    def reply(self, request: Request, addr, code: int, phrase: str) -> None:
        """A response, to the address the request came from (rport, RFC 3581, over UDP)."""
        via = request.via[0]
        to = addr if "rport" in via.parameters else (via.host, via.port or 5060)
        self.transport.send(message.response_to(request, code, phrase), to)
