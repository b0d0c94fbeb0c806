"""An outgoing call (RFC 3261 section 13, 9 and 15): INVITE with an SDP offer, answering
a digest challenge; 180/183 heard as ringing; 2xx ACKed and a dialog made; CANCEL while
it rings, BYE once answered."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from . import auth, message, sdp
from .dialog import Dialog
from .message import Address, Parameters, Response, URI
from .transaction import ClientTransaction, Transport

log = logging.getLogger(__name__)


class CallRefused(Exception):
    def __init__(self, code: int, phrase: str):
        super().__init__(f"{code} {phrase}")
        self.code, self.phrase = code, phrase


class OutgoingCall:
    def __init__(self, transport: Transport, *, target: str, local_uri: str, display_name: str,
                 contact: Address, next_hop: tuple[str, int], media_address: str, offer: str,
                 srtp_mode: str = "off", username: str = "", password: str = "",
                 on_ringing: Callable[[], None] = lambda: None):
        self.transport = transport
        self.target = URI.parse(target)
        self.local = Address(uri=URI.parse(local_uri), name=display_name, parameters=Parameters(tag=message.new_tag()))
        self.contact, self.next_hop = contact, next_hop
        self.username, self.password = username, password
        self.offer, self.srtp_mode = offer.encode(), srtp_mode      # the SDP offer (sdp.offer)
        self.on_ringing = on_ringing
        self.call_id = message.new_call_id(media_address)
        self.cseq = 0
        self.invite = None
        self.transaction: ClientTransaction | None = None
        self.dialog: Dialog | None = None
        self.cancelled = False

    async def run(self) -> sdp.Answer:
        """Until answered: the media the peer accepted. CallRefused for a final error."""
        credentials = None
        while True:
            self.cseq += 1
            self.invite = message.request(
                "INVITE", self.target, via=self.transport.address, from_addr=self.local,
                to_addr=Address(uri=self.target), call_id=self.call_id, cseq=self.cseq, contact=self.contact,
                body=self.offer, content_type="application/sdp",
                headers={"Allow": "INVITE, ACK, CANCEL, BYE, OPTIONS"})
            if credentials is not None:
                self.invite.headers.set(*credentials)
            self.transaction = ClientTransaction(self.transport, self.invite, self.next_hop,
                                                 on_provisional=self._provisional, on_2xx=self._ack)
            response = await self.transaction.final()
            if response.code in (401, 407) and credentials is None and not self.cancelled:
                answer = auth.answer(auth.challenge_of(response), method="INVITE", uri=str(self.target),
                                     username=self.username, password=self.password)
                credentials = ("Authorization" if response.code == 401 else "Proxy-Authorization", str(answer))
                continue
            if response.code >= 300:
                raise CallRefused(response.code, response.phrase)
            self.dialog = Dialog.from_2xx(self.invite, response)
            self._ack(response)
            if self.cancelled:
                await self.bye()            # answered as the visitor hung up: end it at once
                raise CallRefused(487, "Request Terminated")
            return sdp.parse_answer(response.body.decode("utf-8", "replace"), self.srtp_mode)

    def _provisional(self, response: Response) -> None:
        if response.code in (180, 183):
            self.on_ringing()

    def _ack(self, response: Response) -> None:
        if self.dialog is None:
            return
        if response.to_address.parameters.get("tag") == self.dialog.remote_tag:
            self.transport.send(self.dialog.request("ACK", self.transport.address), self.dialog.next_hop())
            return
        # A second device answered the forked INVITE (13.2.2.4): ACK it, then end it with BYE.
        other = Dialog.from_2xx(self.invite, response)
        self.transport.send(other.request("ACK", self.transport.address), other.next_hop())
        bye = other.request("BYE", self.transport.address, headers={"Reason": 'SIP;cause=200;text="Call completed elsewhere"'})
        asyncio.ensure_future(self._quietly(ClientTransaction(self.transport, bye, other.next_hop()).final()))

    def cancel(self) -> None:
        """The visitor hung up while it rings: CANCEL the INVITE (9.1), same branch and hop."""
        self.cancelled = True
        if self.invite is None or self.dialog is not None:
            return
        r = self.invite
        cancel = message.request("CANCEL", r.uri, via=self.transport.address, from_addr=r.from_address,
                                 to_addr=r.to_address, call_id=r.call_id, cseq=r.cseq.sequence, routes=r.route,
                                 branch=self.transaction.branch)
        asyncio.ensure_future(self._quietly(ClientTransaction(self.transport, cancel, self.next_hop).final()))

    async def bye(self) -> None:
        if self.dialog is None:
            return
        if self.transaction is not None:
            self.transaction.close()
        request = self.dialog.request("BYE", self.transport.address)
        await self._quietly(ClientTransaction(self.transport, request, self.dialog.next_hop()).final())
        self.dialog = None

    async def _quietly(self, awaitable) -> None:
        try:
            await awaitable
        except Exception as e:          # the call is over either way
            log.info("sip call %s: %s", self.call_id, e)

    def close(self) -> None:
        if self.transaction is not None:
            self.transaction.close()
