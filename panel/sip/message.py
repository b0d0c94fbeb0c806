"""SIP messages (RFC 3261 section 7): sipmessage parses and serialises them; this module
builds the requests and responses the panel sends, with fresh branches, tags and Call-IDs."""

from __future__ import annotations

import secrets

from sipmessage import Address, CSeq, Message, Parameters, Request, Response, URI, Via

__all__ = ["Address", "CSeq", "Message", "Parameters", "Request", "Response", "URI", "Via",
           "new_branch", "new_tag", "new_call_id", "parse", "request", "response_to"]

USER_AGENT = "entry-panel"
MAGIC_COOKIE = "z9hG4bK"        # section 8.1.1.7: a branch that starts so is unique per transaction


def new_branch() -> str:
    return MAGIC_COOKIE + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(10)}@{host}"


def parse(data: bytes) -> Request | Response:
    """A datagram as a message; ValueError if it is not one."""
    message = Message.parse(data)
    for required in ("Via", "From", "To", "Call-ID", "CSeq"):
        if message.headers.get(required) is None:
            raise ValueError(f"SIP message without {required}")
    return message


def request(method: str, uri: URI, *, via: tuple[str, int], from_addr: Address, to_addr: Address,
            call_id: str, cseq: int, contact: Address | None = None, routes: list[Address] = (),
            body: bytes = b"", content_type: str = "", branch: str | None = None,
            headers: dict[str, str] | None = None) -> Request:
    r = Request(method, uri, body)
    host, port = via
    r.via = [Via(transport="UDP", host=host, port=port, parameters=Parameters(branch=branch or new_branch(), rport=None))]
    r.max_forwards = 70
    r.from_address, r.to_address = from_addr, to_addr
    r.call_id = call_id
    r.cseq = CSeq(sequence=cseq, method=method)
    if routes:
        r.route = list(routes)
    if contact is not None:
        r.contact = [contact]
    for key, value in (headers or {}).items():
        r.headers.set(key, value)
    r.headers.set("User-Agent", USER_AGENT)
    if content_type:
        r.headers.set("Content-Type", content_type)
    r.content_length = len(body)
    return r


def response_to(req: Request, code: int, phrase: str, *, to_tag: str | None = None) -> Response:
    """A response with the request's Via, From, To (tagged when to_tag), Call-ID and CSeq (8.2.6)."""
    r = Response(code, phrase)
    r.headers.setlist("Via", req.headers.getlist("Via"))
    r.headers.set("From", req.headers["From"])
    to = req.to_address
    if to_tag and "tag" not in to.parameters:
        to = Address(uri=to.uri, name=to.name, parameters=to.parameters.replace(tag=to_tag))
    r.to_address = to
    r.call_id = req.call_id
    r.headers.set("CSeq", req.headers["CSeq"])
    r.headers.set("User-Agent", USER_AGENT)
    r.content_length = 0
    return r
