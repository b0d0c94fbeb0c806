"""SRTP (RFC 3711) keyed by SDES (RFC 4568): each stream's a=crypto line carries the
sender's master key and salt in the clear, so it is only as private as the signalling
(SIP over TLS). Encryption is libsrtp's through pylibsrtp, aiortc's own dependency."""

from __future__ import annotations

import base64
import binascii
import secrets

from pylibsrtp import Error, Policy, Session

SUITE = "AES_CM_128_HMAC_SHA1_80"
KEY_LENGTH = 30                 # 16 bytes of key, 14 of salt
SUITES = {"AES_CM_128_HMAC_SHA1_80": Policy.SRTP_PROFILE_AES128_CM_SHA1_80}

__all__ = ["Error", "SrtpSession", "new_key", "parse_crypto"]


def new_key() -> str:
    """A fresh master key and salt, as a=crypto's inline: value."""
    return base64.b64encode(secrets.token_bytes(KEY_LENGTH)).decode()


def parse_crypto(values: list[str]) -> bytes:
    """The answer's a=crypto values -> its master key and salt; ValueError naming the problem.
    The panel offers one suite with tag 1, so that is what an answer may accept."""
    for value in values:
        fields = value.split()
        if len(fields) < 3 or fields[0] != "1":
            continue
        if fields[1] not in SUITES:
            raise ValueError(f"the peer answered SRTP suite {fields[1]}, the panel offers {SUITE}")
        params = fields[2]
        if not params.startswith("inline:"):
            raise ValueError(f"a=crypto key parameter {params!r}: expected inline:KEY")
        key, *rest = params[len("inline:"):].split("|")
        if any(":" in r for r in rest):
            raise ValueError("a=crypto with an MKI: not supported")
        try:
            material = base64.b64decode(key, validate=True)
        except binascii.Error:
            raise ValueError("a=crypto key is not base64") from None
        if len(material) != KEY_LENGTH:
            raise ValueError(f"a=crypto key is {len(material)} bytes, expected {KEY_LENGTH}")
        return material
    raise ValueError("the answer's a=crypto lines accept no suite the panel offered (tag 1)")


class SrtpSession:
    """One stream's two directions: ours protected with our key, the peer's checked with its."""

    def __init__(self, local_key: str, remote_key: bytes, suite: str = SUITE):
        profile = SUITES[suite]
        self._tx = Session(Policy(key=base64.b64decode(local_key), ssrc_type=Policy.SSRC_ANY_OUTBOUND,
                                  srtp_profile=profile))
        self._rx = Session(Policy(key=remote_key, ssrc_type=Policy.SSRC_ANY_INBOUND, srtp_profile=profile))

    def protect(self, packet: bytes) -> bytes:
        return self._tx.protect(packet)

    def protect_rtcp(self, packet: bytes) -> bytes:
        return self._tx.protect_rtcp(packet)

    def unprotect(self, packet: bytes) -> bytes:
        """pylibsrtp.Error for a packet not from the peer's key (plain RTP, forged, replayed)."""
        return self._rx.unprotect(packet)

    def unprotect_rtcp(self, packet: bytes) -> bytes:
        return self._rx.unprotect_rtcp(packet)
