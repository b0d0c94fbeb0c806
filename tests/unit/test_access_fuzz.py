"""Hostile input: nothing escapes verify() as an exception, and nothing is let in."""

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from panel.access import ReplayGuard, issue_credential, rotating_code, verify
from panel.access.base45 import ALPHABET, b45decode, b45encode

NOW = 1_800_000_000
ISSUER = Ed25519PrivateKey.from_private_bytes(b"\x01" * 32)
DEVICE = Ed25519PrivateKey.from_private_bytes(b"\x02" * 32)
TRUSTED = {"k1": ISSUER.public_key()}
STATIC = issue_credential(
    ISSUER, "k1", holder_id="res-1", holder_name="Ana", kind="resident", doors=["main"],
    not_before=NOW - 60, not_after=NOW + 3600, credential_id="c1",
)
DEVICE_CREDENTIAL = issue_credential(
    ISSUER, "k1", holder_id="res-1", holder_name="Ana", kind="resident", doors=["main"],
    not_before=NOW - 60, not_after=NOW + 3600, credential_id="c2", device_key=DEVICE.public_key(),
)
ROTATING = rotating_code(DEVICE_CREDENTIAL, DEVICE, now=NOW)
VALID = [STATIC, ROTATING]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decide(text):
    return verify(
        text, now=NOW, door="main", trusted_keys=TRUSTED, is_revoked=lambda c: False,
        visitor_limit_hours=24, replay=ReplayGuard(),
    )


def test_the_valid_codes_are_valid():
    assert all(decide(t).ok for t in VALID)


@FUZZ
@given(st.text(max_size=600))
def test_random_text(text):
    d = decide(text)
    assert not d.ok and d.reason == "malformed"


@FUZZ
@given(st.text(alphabet=ALPHABET, max_size=600))
def test_random_prefixed_base45(text):
    assert not decide("EP1:" + text).ok


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(raw):
    d = decide("EP1:" + b45encode(raw))
    assert not d.ok and d.reason == "malformed"


cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.binary(max_size=70),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.integers(-70000, 10) | st.text(max_size=5), inner, max_size=6),
    max_leaves=20,
)


@FUZZ
@given(cbor_values, st.booleans())
def test_random_cbor_structures(value, tagged):
    value = cbor2.CBORTag(18, value) if tagged else value
    d = decide("EP1:" + b45encode(cbor2.dumps(value)))
    assert not d.ok


@FUZZ
@given(cbor_values, cbor_values, cbor_values)
def test_sign1_shaped_garbage(protected, payload, header_kid):
    """Right outer shape, random insides (including a header naming a trusted kid)."""
    headers = [cbor2.dumps(protected), cbor2.dumps({1: -8, 4: b"k1"}), cbor2.dumps({1: -8})]
    for h in headers:
        obj = cbor2.CBORTag(18, [h, {}, cbor2.dumps(payload), b"\x00" * 64])
        assert not decide("EP1:" + b45encode(cbor2.dumps(obj))).ok


@FUZZ
@given(st.sampled_from(VALID), st.data())
def test_mutated_text(valid, data):
    body = valid[4:]
    i = data.draw(st.integers(0, len(body) - 1))
    op = data.draw(st.sampled_from(["replace", "delete", "insert", "truncate", "append"]))
    c = data.draw(st.sampled_from(ALPHABET))
    if op == "replace":
        mutated = body[:i] + c + body[i + 1 :]
    elif op == "delete":
        mutated = body[:i] + body[i + 1 :]
    elif op == "insert":
        mutated = body[:i] + c + body[i:]
    elif op == "truncate":
        mutated = body[:i]
    else:
        mutated = body + data.draw(st.text(alphabet=ALPHABET, min_size=1, max_size=4))
    if mutated == body:
        return
    assert not decide("EP1:" + mutated).ok


@FUZZ
@given(st.sampled_from(VALID), st.data())
def test_mutated_bytes(valid, data):
    raw = bytearray(b45decode(valid[4:]))
    n = data.draw(st.integers(1, 3))
    for _ in range(n):
        i = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "set", "delete", "insert"]))
        if op == "flip":
            raw[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "set":
            raw[i] = data.draw(st.integers(0, 255))
        elif op == "delete":
            del raw[i]
        else:
            raw.insert(i, data.draw(st.integers(0, 255)))
    if bytes(raw) == b45decode(valid[4:]):
        return
    assert not decide("EP1:" + b45encode(bytes(raw))).ok
