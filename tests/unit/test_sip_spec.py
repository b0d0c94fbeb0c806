"""The SIP modules' rules on their own: digest answers, responses and
dialogs built from real messages (shapes as Kamailio and baresip send them)."""

from __future__ import annotations

import hashlib

import pytest
from sipmessage import AuthChallenge

from panel.sip import auth, message
from panel.sip.dialog import Dialog
from panel.sip.service import DECLINED, reason_for


def challenge(code: int, header: str) -> AuthChallenge:
    name = "WWW-Authenticate" if code == 401 else "Proxy-Authenticate"
    return auth.challenge_of(message.parse(f"SIP/2.0 {code} Unauthorized\r\n{name}: {header}\r\n\r\n".encode()
                                           .replace(b"\r\n\r\n", b"\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
                                                    b"From: <sip:a@h>;tag=1\r\nTo: <sip:a@h>\r\nCall-ID: c\r\n"
                                                    b"CSeq: 1 REGISTER\r\n\r\n", 1)))


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def test_digest_without_qop_is_rfc2617s_plain_response():
    challenge = AuthChallenge.parse('Digest realm="pbx", nonce="abc"')
    answer = auth.answer(challenge, method="REGISTER", uri="sip:pbx", username="panel", password="pw")
    expected = md5(f"{md5('panel:pbx:pw')}:abc:{md5('REGISTER:sip:pbx')}")
    assert answer.parameters["response"] == expected
    assert "qop" not in answer.parameters


def test_digest_with_qop_auth_counts_and_salts():
    # qop with two values, quoted: sipmessage's own parser refuses it (splits inside the quotes).
    c = challenge(401, 'Digest realm="pbx", nonce="abc", qop="auth,auth-int", opaque="o1"')
    a = auth.answer(c, method="INVITE", uri="sip:olivia@pbx", username="panel", password="pw")
    p = a.parameters
    ha1, ha2 = md5("panel:pbx:pw"), md5("INVITE:sip:olivia@pbx")
    assert p["response"] == md5(f"{ha1}:abc:{p['nc']}:{p['cnonce']}:auth:{ha2}")
    assert (p["qop"], p["nc"], p["opaque"]) == ("auth", "00000001", "o1")


@pytest.mark.parametrize("header, problem", [('Basic realm="x"', "scheme"),
                                              ('Digest realm="x", nonce="n", algorithm=SHA-512', "algorithm"),
                                              ('Digest realm="x", nonce="n", qop="auth-int"', "qop")])
def test_a_challenge_the_panel_cannot_answer_is_named(header, problem):
    with pytest.raises(auth.AuthError, match=problem):
        auth.answer(challenge(407, header), method="REGISTER", uri="sip:x", username="u", password="p")


INVITE = message.request(
    "INVITE", message.URI.parse("sip:olivia@127.0.0.1:5070"), via=("127.0.0.1", 5080),
    from_addr=message.Address.parse("<sip:panel@127.0.0.1:5070>;tag=ours"),
    to_addr=message.Address.parse("<sip:olivia@127.0.0.1:5070>"), call_id="c1", cseq=2,
    contact=message.Address.parse("<sip:panel@127.0.0.1:5080>"))


def ok_from_proxy() -> message.Response:
    raw = (b"SIP/2.0 200 OK\r\n" + "".join(f"{k}: {v}\r\n" for k in ("Via", "From", "Call-ID", "CSeq")
                                           for v in [INVITE.headers[k]]).encode()
           + b"To: <sip:olivia@127.0.0.1:5070>;tag=theirs\r\n"
           b"Record-Route: <sip:127.0.0.1:5070;lr>\r\nContact: <sip:olivia@127.0.0.1:6000>\r\n"
           b"Content-Length: 0\r\n\r\n")
    return message.parse(raw)


def test_dialog_routes_in_dialog_requests_through_the_record_route():
    dialog = Dialog.from_2xx(INVITE, ok_from_proxy())
    assert dialog.next_hop() == ("127.0.0.1", 5070)
    ack, bye = dialog.request("ACK", ("127.0.0.1", 5080)), dialog.request("BYE", ("127.0.0.1", 5080))
    assert str(ack.uri) == "sip:olivia@127.0.0.1:6000" and ack.cseq.sequence == 2
    assert bye.cseq.sequence == 3 and bye.to_address.parameters["tag"] == "theirs"
    assert [str(r) for r in bye.route] == ["<sip:127.0.0.1:5070;lr>"]


def test_dialog_matches_only_the_peers_requests_in_it():
    dialog = Dialog.from_2xx(INVITE, ok_from_proxy())
    theirs = message.request("BYE", message.URI.parse("sip:panel@127.0.0.1:5080"), via=("127.0.0.1", 6000),
                             from_addr=message.Address.parse("<sip:olivia@127.0.0.1>;tag=theirs"),
                             to_addr=message.Address.parse("<sip:panel@127.0.0.1>;tag=ours"), call_id="c1", cseq=1)
    assert dialog.matches(theirs)
    other = message.parse(bytes(theirs).replace(b"tag=theirs", b"tag=someone"))
    assert not dialog.matches(other)


def test_response_copies_the_request_and_tags_to():
    r = message.parse(bytes(message.response_to(INVITE, 486, "Busy Here", to_tag="t9")))
    assert (r.code, r.call_id, r.cseq.sequence, r.to_address.parameters["tag"]) == (486, "c1", 2, "t9")
    assert r.headers.getlist("Via") == INVITE.headers.getlist("Via")


def test_final_responses_map_to_the_panels_reasons():
    assert DECLINED == {486, 600, 603}
    assert [reason_for(c) for c in (404, 480, 604, 408, 500, 488)] == \
        ["unavailable", "unavailable", "unavailable", "no_answer", "error", "error"]


def test_door_code_is_judged_once_as_many_keys_are_typed_and_hash_starts_over():
    from panel.sip.doorcode import DoorCode
    code = DoorCode("*9", attempts=2)
    assert [code.press(k) for k in "*9"] == [None, "open"]
    assert [code.press(k) for k in "1#*9"] == [None, None, None, "open"]     # '#' forgot the stray 1
    assert [code.press(k) for k in "12"] == [None, "wrong"] and not code.exhausted
    assert [code.press(k) for k in "99"] == [None, "wrong"] and code.exhausted
    assert DoorCode("").press("9") is None                                  # no code: keys open nothing


def test_key_presses_from_info_and_rfc4733():
    from panel.sip.doorcode import info_key
    from panel.sip.rtp import telephone_event
    assert info_key("application/dtmf-relay", "Signal=9\r\nDuration=160\r\n") == "9"
    assert info_key("application/dtmf", "*") == "*"
    assert info_key("text/plain", "9") is None and info_key("application/dtmf-relay", "Signal=99") is None
    assert telephone_event(bytes([11, 0x80, 0, 160])) == ("#", True)
    assert telephone_event(bytes([9, 0x0a, 0, 80])) == ("9", False)
    assert telephone_event(bytes([16, 0x80, 0, 0])) is None
