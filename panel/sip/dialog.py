"""A dialog (RFC 3261 section 12): the identifiers, the remote target and the route set
that in-dialog requests (ACK, BYE) carry, built from the INVITE and its 2xx."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import message
from .message import Address, Request, Response, URI


@dataclass
class Dialog:
    call_id: str
    local: Address              # our From, with our tag
    remote: Address             # their To, with their tag
    remote_target: URI          # the 2xx's Contact
    routes: list[Address] = field(default_factory=list)     # Record-Route, reversed (12.1.2)
    local_cseq: int = 1
    invite_cseq: int = 1

    @classmethod
    def from_2xx(cls, invite: Request, response: Response) -> "Dialog":
        contacts = response.contact
        if not contacts:
            raise ValueError("2xx to INVITE without a Contact")
        return cls(call_id=invite.call_id, local=invite.from_address, remote=response.to_address,
                   remote_target=contacts[0].uri, routes=list(reversed(response.record_route)),
                   local_cseq=invite.cseq.sequence, invite_cseq=invite.cseq.sequence)

    @property
    def local_tag(self) -> str:
        return self.local.parameters.get("tag") or ""

    @property
    def remote_tag(self) -> str:
        return self.remote.parameters.get("tag") or ""

    def matches(self, request: Request) -> bool:
        """A request from the peer in this dialog: same Call-ID, tags swapped."""
        return (request.call_id == self.call_id and request.to_address.parameters.get("tag") == self.local_tag
                and request.from_address.parameters.get("tag") == self.remote_tag)

    def next_hop(self) -> tuple[str, int]:
        """Where an in-dialog request goes: the first route (loose routing), else the target."""
        uri = self.routes[0].uri if self.routes else self.remote_target
        return uri.host, uri.port or 5060

    def request(self, method: str, via: tuple[str, int], **kwargs) -> Request:
        if method == "ACK":
            cseq = self.invite_cseq
        else:
            self.local_cseq += 1
            cseq = self.local_cseq
        return message.request(method, self.remote_target, via=via, from_addr=self.local, to_addr=self.remote,
                               call_id=self.call_id, cseq=cseq, routes=self.routes, **kwargs)
