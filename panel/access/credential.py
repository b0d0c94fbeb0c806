"""QR credentials: the wire format, issuing, and reading with signature checks.

Format ``EP1`` (the prefix is the version, like the EU DCC's ``HC1:``)::

    "EP1:" + base45(COSE_Sign1)                       RFC 9285, RFC 9052 section 4.2

    COSE_Sign1 = 18([                                 tag 18 (required)
        protected:   bstr .cbor {1: -8, 4: kid},      alg EdDSA; kid = UTF-8 key id
        unprotected: {},                              must be empty
        payload:     bstr .cbor claims,
        signature:   Ed25519 over Sig_structure ["Signature1", protected, h'', payload]
    ])

    claims (CWT, RFC 8392):
        1 iss  text   optional issuer name (not checked: the kid says who signed)
        2 sub  text   holder id
        4 exp  int    not after (seconds since the epoch, exclusive)
        5 nbf  int    not before
        7 cti  bstr   credential id, UTF-8 (what revocation lists name)
        8 cnf  {1: COSE_Key}  only in device credentials, see below (RFC 8747)
        -65537 text   holder display name       (private-use claim keys,
        -65538 int    kind: 1 resident, 2 visitor     below -65536 per RFC 8392)
        -65539 [text] doors it opens
        -65542 text   inviter's holder id (visitor credentials a resident asked for): the
                      panel refuses the key once that holder is revoked (moved out)

Everything is alphanumeric-mode text, so the QR is small and zbar's character-set
guessing for byte mode cannot alter it. A static credential is about 160 bytes
(~240 characters: a version 9 QR at level M); a rotating code about 300 bytes
(~450 characters: version 13).

Rotating resident codes (a screenshot is useless after a minute)
-----------------------------------------------------------------
The issuer gives the resident's phone a *device credential*: an ordinary
credential that also carries the phone's Ed25519 public key in ``cnf``. The phone
keeps its private key and, with no network, shows every 30 s a *presentation*::

    "EP1:" + base45(COSE_Sign1 signed by the device key, no kid,
                    payload {-65540: step, -65541: device credential bytes})

with ``step = floor(unix_time / 30)`` (the TOTP time step, RFC 6238). The panel
checks the issuer's signature on the embedded credential, then the phone's
signature with the key found in it, then (panel/access/policy.py) that ``step`` is
within one step of its own clock and newer than the last step it accepted for that
credential (RFC 6238 section 5.2: a one-time code is accepted once). A photo of the
screen therefore works for at most ~90 s and only if the resident did not use it
first; the panel needs no secret and no network. A device credential shown on its
own (without a fresh step) is refused as malformed. Chosen over a batch of
pre-signed 30-second credentials because the phone then needs one credential, not
thousands, and stays offline indefinitely; over TOTP because the panel would then
need a shared secret per resident.

Reading never raises on bad input: ``read_credential`` raises only ``Refused``
with a reason code, and policy.verify turns everything into a Decision.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from collections.abc import Iterable, Mapping

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .base45 import ALPHABET, b45decode, b45encode
from ..text import clean_text
from .keys import public_key_raw

PREFIX = "EP1:"
STEP_SECONDS = 30
MAX_TEXT = 4296  # the most characters a QR code holds in alphanumeric mode
NAME_LIMIT = 80  # characters of the holder's name kept for the greeting and the log

# COSE / CWT labels
_ALG, _KID, _EDDSA, _SIGN1_TAG = 1, 4, -8, 18
ISS, SUB, EXP, NBF, CTI, CNF = 1, 2, 4, 5, 7, 8
NAME, KIND, DOORS, STEP, CRED, INVITER = -65537, -65538, -65539, -65540, -65541, -65542
_KINDS = {"resident": 1, "visitor": 2}
_KIND_NAMES = {v: k for k, v in _KINDS.items()}
# COSE_Key for an Ed25519 public key (RFC 9053 section 7.2): kty OKP, crv Ed25519, x
_KTY, _OKP, _CRV, _ED25519, _X = 1, 1, -1, 6, -2


class Refused(Exception):
    """A code that is not an acceptable credential; ``reason`` is a policy reason code."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Credential:
    kid: str
    holder_id: str
    holder_name: str
    kind: str  # resident | visitor
    doors: tuple[str, ...]
    not_before: int
    not_after: int
    credential_id: str
    issuer: str | None = None
    device_key: bytes | None = None  # raw public key of the holder's phone (device credentials)
    step: int | None = None  # time step of a rotating code; None for a static credential
    invited_by: str | None = None  # the resident who invited this visitor (their holder id)


# -- CBOR / COSE helpers ------------------------------------------------------------
def _dumps(obj) -> bytes:
    return cbor2.dumps(obj)


def _loads(raw) -> object:
    """Decode CBOR, accepting only the one encoding we would write (re-encoding must
    give the same bytes): no trailing bytes, indefinite lengths, long-form integers
    or semantic tags. So every accepted text has exactly one meaning."""
    if not isinstance(raw, bytes):
        raise Refused("malformed")
    try:
        obj = cbor2.loads(raw)
        exact = cbor2.dumps(obj) == raw
    except Exception:  # cbor2 raises several types on hostile input
        raise Refused("malformed") from None
    if not exact:
        raise Refused("malformed")
    return obj


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return _dumps(["Signature1", protected, b"", payload])


def _sign1(private_key: Ed25519PrivateKey, payload: bytes, kid: str | None) -> bytes:
    header = {_ALG: _EDDSA}
    if kid is not None:
        header[_KID] = kid.encode("utf-8")
    protected = _dumps(header)
    signature = private_key.sign(_sig_structure(protected, payload))
    return _dumps(cbor2.CBORTag(_SIGN1_TAG, [protected, {}, payload, signature]))


@dataclass(frozen=True)
class _Sign1:
    protected: bytes
    kid: str | None
    payload: bytes
    signature: bytes

    def verify(self, key: Ed25519PublicKey) -> None:
        try:
            key.verify(self.signature, _sig_structure(self.protected, self.payload))
        except InvalidSignature:
            raise Refused("bad_signature") from None


def _parse_sign1(raw: bytes) -> _Sign1:
    obj = _loads(raw)
    # The tag is required: one encoding per credential, so no altered text is accepted.
    if not isinstance(obj, cbor2.CBORTag) or obj.tag != _SIGN1_TAG:
        raise Refused("malformed")
    obj = obj.value
    # cbor2 decodes the content of a tag as immutable values (tuple, frozendict).
    if not (isinstance(obj, (list, tuple)) and len(obj) == 4):
        raise Refused("malformed")
    protected, unprotected, payload, signature = obj
    if not (
        isinstance(protected, bytes)
        and isinstance(unprotected, Mapping)
        and not unprotected
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
        and len(signature) == 64
    ):
        raise Refused("malformed")
    header = _loads(protected)
    if not isinstance(header, Mapping) or header.get(_ALG) != _EDDSA or not set(header) <= {_ALG, _KID}:
        raise Refused("malformed")
    kid = header.get(_KID)
    if kid is not None:
        kid = _utf8(kid)
    return _Sign1(protected, kid, payload, signature)


def _utf8(value) -> str:
    if not isinstance(value, bytes):
        raise Refused("malformed")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("malformed") from None
    if not text:
        raise Refused("malformed")
    return text


def _int(value) -> int:
    if type(value) is not int:  # bool is an int subclass
        raise Refused("malformed")
    return value


def _text(value, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str) or (not value and not empty_ok):
        raise Refused("malformed")
    return value


def _claims(payload: bytes, kid: str) -> Credential:
    claims = _loads(payload)
    if not isinstance(claims, Mapping):
        raise Refused("malformed")
    try:
        kind = _KIND_NAMES.get(_int(claims[KIND]))
        doors = claims[DOORS]
        if kind is None or not isinstance(doors, (list, tuple)) or not doors:
            raise Refused("malformed")
        device_key = None
        if CNF in claims:
            cnf = claims[CNF]
            if not isinstance(cnf, Mapping) or set(cnf) != {1} or not isinstance(cnf[1], Mapping):
                raise Refused("malformed")
            cose_key = cnf[1]
            if cose_key.get(_KTY) != _OKP or cose_key.get(_CRV) != _ED25519:
                raise Refused("malformed")
            device_key = cose_key.get(_X)
            if not isinstance(device_key, bytes) or len(device_key) != 32:
                raise Refused("malformed")
        issuer = claims.get(ISS)
        inviter = claims.get(INVITER)
        return Credential(
            kid=kid,
            holder_id=_text(claims[SUB]),
            # Shown and logged: a control character from the issuer must not break the screen.
            holder_name=clean_text(_text(claims[NAME], empty_ok=True), NAME_LIMIT),
            kind=kind,
            doors=tuple(_text(d) for d in doors),
            not_before=_int(claims[NBF]),
            not_after=_int(claims[EXP]),
            credential_id=_utf8(claims[CTI]),
            issuer=None if issuer is None else _text(issuer),
            device_key=device_key,
            invited_by=None if inviter is None else _text(inviter),
        )
    except KeyError:
        raise Refused("malformed") from None


def _unwrap(text) -> bytes:
    if not isinstance(text, str) or len(text) > MAX_TEXT or not text.startswith(PREFIX):
        raise Refused("malformed")
    try:
        return b45decode(text[len(PREFIX) :])
    except ValueError:
        raise Refused("malformed") from None


def _verified(sign1: _Sign1, trusted_keys) -> Credential:
    key = trusted_keys.get(sign1.kid)
    if key is None:
        raise Refused("unknown_issuer")
    sign1.verify(key)
    return _claims(sign1.payload, sign1.kid)


# -- reading ------------------------------------------------------------------------
def read_credential(text: str, trusted_keys: dict[str, Ed25519PublicKey]) -> Credential:
    """The signed-and-intact credential in ``text`` (static, or a rotating code with
    its ``step``). Raises ``Refused`` with "malformed", "unknown_issuer" or
    "bad_signature"; time, doors and revocation are policy.verify's job."""
    outer = _parse_sign1(_unwrap(text))
    if outer.kid is not None:  # signed by an issuer: a static credential
        credential = _verified(outer, trusted_keys)
        if credential.device_key is not None:
            raise Refused("malformed")  # a device credential counts only inside a fresh rotating code
        return credential
    # No kid: a rotating code, signed by the device key named in the embedded credential.
    presentation = _loads(outer.payload)
    if not isinstance(presentation, Mapping) or set(presentation) != {STEP, CRED}:
        raise Refused("malformed")
    step = _int(presentation[STEP])
    inner = _parse_sign1(presentation[CRED])
    if inner.kid is None:
        raise Refused("malformed")
    credential = _verified(inner, trusted_keys)
    if credential.device_key is None:
        raise Refused("malformed")
    outer.verify(Ed25519PublicKey.from_public_bytes(credential.device_key))
    return replace(credential, step=step)


# -- issuing (dev cloud, tests, the resident's phone) ---------------------------------
def _seconds(t: float | datetime) -> int:
    return int(t.timestamp() if isinstance(t, datetime) else t)


def issue_credential(
    private_key: Ed25519PrivateKey,
    kid: str,
    *,
    holder_id: str,
    holder_name: str,
    kind: str,
    doors: Iterable[str],
    not_before: float | datetime,
    not_after: float | datetime,
    credential_id: str | None = None,
    issuer: str | None = None,
    device_key: Ed25519PublicKey | None = None,
    invited_by: str | None = None,
) -> str:
    """A signed credential as QR text (``EP1:...``). With ``device_key`` it is a
    device credential for rotating codes (see ``rotating_code``), which the panel
    does not accept on its own. Raises ValueError for inconsistent arguments."""
    doors = list(doors)
    nbf, exp = _seconds(not_before), _seconds(not_after)
    if not kid:
        raise ValueError("kid must be a non-empty string")
    if kind not in _KINDS:
        raise ValueError(f"kind must be 'resident' or 'visitor', not {kind!r}")
    if not holder_id:
        raise ValueError("holder_id must be a non-empty string")
    if not doors or not all(isinstance(d, str) and d for d in doors):
        raise ValueError("doors must be a non-empty list of door ids")
    if exp <= nbf:
        raise ValueError("not_after must be later than not_before")
    if invited_by is not None and (kind != "visitor" or not invited_by):
        raise ValueError("invited_by names the resident who invited a visitor")
    credential_id = credential_id or secrets.token_hex(8)
    claims: dict = {}
    if issuer:
        claims[ISS] = issuer
    claims |= {SUB: holder_id, EXP: exp, NBF: nbf, CTI: credential_id.encode("utf-8")}
    if device_key is not None:
        claims[CNF] = {1: {_KTY: _OKP, _CRV: _ED25519, _X: public_key_raw(device_key)}}
    claims |= {NAME: holder_name, KIND: _KINDS[kind], DOORS: doors}
    if invited_by is not None:
        claims[INVITER] = invited_by
    return PREFIX + b45encode(_sign1(private_key, _dumps(claims), kid))


def rotating_code(device_credential: str, device_private_key: Ed25519PrivateKey, *, now: float | datetime) -> str:
    """What the resident's phone shows at ``now``: a code valid for this 30 s step.
    Needs no network and no issuer key. Raises ValueError if ``device_credential``
    is not a device credential for this key."""
    try:
        raw = _unwrap(device_credential)
        sign1 = _parse_sign1(raw)
        credential = _claims(sign1.payload, sign1.kid or "")
    except Refused:
        raise ValueError("not a credential (EP1:...)") from None
    if sign1.kid is None or credential.device_key != public_key_raw(device_private_key.public_key()):
        raise ValueError("not a device credential for this device key")
    payload = _dumps({STEP: _seconds(now) // STEP_SECONDS, CRED: raw})
    return PREFIX + b45encode(_sign1(device_private_key, payload, None))


def qr_code(text: str):
    """A segno QR code for a credential: alphanumeric mode when the text allows it
    (always, for EP1 text), error correction at least M."""
    import segno

    mode = "alphanumeric" if text and all(c in ALPHABET for c in text) else None
    return segno.make_qr(text, mode=mode, error="m")


def write_qr_png(text: str, path: str | Path, *, scale: int = 8, border: int = 4) -> None:
    """Write the QR code for ``text`` as a PNG (``scale`` pixels per module, a
    ``border``-module quiet zone, as the QR standard asks)."""
    qr_code(text).save(str(path), kind="png", scale=scale, border=border)
