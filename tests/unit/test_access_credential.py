"""The EP1 credential format: base45, COSE_Sign1 structure, issuing, keys, QR."""

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from panel.access import credential as cr
from panel.access.base45 import ALPHABET, b45decode, b45encode
from panel.access.keys import (
    load_private_key,
    load_public_key,
    load_trusted_keys,
    private_key_text,
    public_key_text,
)

NOW = 1_800_000_000
ISSUER = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
DEVICE = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
TRUSTED = {"k1": ISSUER.public_key()}


def issue(**overrides):
    args = dict(
        holder_id="res-42",
        holder_name="Ana Lima",
        kind="resident",
        doors=["main", "garage"],
        not_before=NOW - 60,
        not_after=NOW + 3600,
        credential_id="cred-1",
    )
    args.update(overrides)
    return cr.issue_credential(ISSUER, "k1", **args)


# -- base45 (RFC 9285) --------------------------------------------------------------
@pytest.mark.parametrize(
    "raw, text",
    [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"), (b"ietf!", "QED8WEX0"), (b"", "")],
)
def test_base45_rfc9285_examples(raw, text):
    assert b45encode(raw) == text
    assert b45decode(text) == raw


@pytest.mark.parametrize("bad", ["GGW", ":::", "A", "ABCD", "bb8", "BB8\n", "AB_"])
def test_base45_rejects_invalid_text(bad):
    with pytest.raises(ValueError):
        b45decode(bad)


@given(st.binary(max_size=300))
def test_base45_round_trip(raw):
    text = b45encode(raw)
    assert set(text) <= set(ALPHABET)
    assert b45decode(text) == raw


# -- the wire format ------------------------------------------------------------------
def test_text_is_prefixed_and_alphanumeric():
    text = issue()
    assert text.startswith("EP1:")
    assert set(text) <= set(ALPHABET)
    assert cr.qr_code(text).mode == "alphanumeric"


def test_structure_is_standard_cose_sign1_with_cwt_claims():
    """Checked with cbor2 and cryptography directly, as another COSE library would."""
    obj = cbor2.loads(b45decode(issue()[4:]))
    assert obj.tag == 18
    protected, unprotected, payload, signature = obj.value
    assert cbor2.loads(protected) == {1: -8, 4: b"k1"}
    assert unprotected == {}
    sig_structure = cbor2.dumps(["Signature1", protected, b"", payload])
    ISSUER.public_key().verify(signature, sig_structure)  # raises if not
    claims = cbor2.loads(payload)
    assert claims[2] == "res-42"
    assert claims[5] == NOW - 60 and claims[4] == NOW + 3600
    assert claims[7] == b"cred-1"
    assert claims[-65537] == "Ana Lima" and claims[-65538] == 1 and claims[-65539] == ["main", "garage"]


def test_read_credential_returns_the_claims():
    c = cr.read_credential(issue(issuer="Maple Court"), TRUSTED)
    assert (c.kid, c.holder_id, c.holder_name, c.kind) == ("k1", "res-42", "Ana Lima", "resident")
    assert c.doors == ("main", "garage")
    assert (c.not_before, c.not_after, c.credential_id, c.issuer) == (NOW - 60, NOW + 3600, "cred-1", "Maple Court")
    assert c.device_key is None and c.step is None


def test_generated_credential_ids_differ():
    a = cr.read_credential(issue(credential_id=None), TRUSTED).credential_id
    b = cr.read_credential(issue(credential_id=None), TRUSTED).credential_id
    assert a and b and a != b


def test_untagged_or_trailing_bytes_are_malformed():
    raw = b45decode(issue()[4:])
    untagged = cbor2.dumps(list(cbor2.loads(raw).value))
    for variant in (untagged, raw + b"\x00"):
        with pytest.raises(cr.Refused) as info:
            cr.read_credential("EP1:" + b45encode(variant), TRUSTED)
        assert info.value.reason == "malformed"


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(kind="guest"), "kind"),
        (dict(doors=[]), "doors"),
        (dict(doors=[""]), "doors"),
        (dict(holder_id=""), "holder_id"),
        (dict(not_after=NOW - 60), "not_after"),
    ],
)
def test_issue_rejects_inconsistent_arguments(change, message):
    with pytest.raises(ValueError, match=message):
        issue(**change)


# -- rotating codes -------------------------------------------------------------------
def test_rotating_code_carries_the_time_step():
    device_credential = issue(device_key=DEVICE.public_key())
    code = cr.rotating_code(device_credential, DEVICE, now=NOW + 5)
    assert set(code) <= set(ALPHABET)
    c = cr.read_credential(code, TRUSTED)
    assert c.step == (NOW + 5) // 30
    assert c.holder_id == "res-42"


def test_rotating_code_changes_every_step():
    device_credential = issue(device_key=DEVICE.public_key())
    a = cr.rotating_code(device_credential, DEVICE, now=NOW)
    b = cr.rotating_code(device_credential, DEVICE, now=NOW + 30)
    assert a != b


def test_rotating_code_needs_the_matching_device_key():
    device_credential = issue(device_key=DEVICE.public_key())
    with pytest.raises(ValueError, match="device"):
        cr.rotating_code(device_credential, Ed25519PrivateKey.generate(), now=NOW)
    with pytest.raises(ValueError):
        cr.rotating_code(issue(), DEVICE, now=NOW)  # not a device credential
    with pytest.raises(ValueError):
        cr.rotating_code("hello", DEVICE, now=NOW)


# -- keys ---------------------------------------------------------------------------
def test_key_text_round_trip():
    pub = load_public_key(public_key_text(ISSUER))
    assert public_key_text(pub) == public_key_text(ISSUER.public_key())
    assert len(public_key_text(ISSUER)) == 43
    assert private_key_text(load_private_key(private_key_text(ISSUER))) == private_key_text(ISSUER)


def test_load_trusted_keys_names_the_bad_kid():
    keys = load_trusted_keys({"2026-01": public_key_text(ISSUER), "2026-07": public_key_text(DEVICE)})
    assert set(keys) == {"2026-01", "2026-07"}
    with pytest.raises(ValueError, match="'2026-07'"):
        load_trusted_keys({"2026-01": public_key_text(ISSUER), "2026-07": "c2hvcnQ"})


def test_write_qr_png(tmp_path):
    path = tmp_path / "key.png"
    cr.write_qr_png(issue(), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
