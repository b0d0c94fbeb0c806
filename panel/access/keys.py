"""Ed25519 keys as short text, for config files and the dev cloud.

A public key is written as the base64url of its 32 raw bytes (43 characters, no
padding); PEM is accepted too. The panel only ever holds public keys: a config
maps key ids to public keys (``load_trusted_keys``), several at once so issuers
can rotate keys without a flag day.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "generate_private_key",
    "public_key_text",
    "private_key_text",
    "load_public_key",
    "load_private_key",
    "load_trusted_keys",
]


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    text = text.strip().replace("+", "-").replace("/", "_")  # accept standard base64 too
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64 text") from None


def public_key_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_text(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    return _b64(public_key_raw(key))


def private_key_text(key: Ed25519PrivateKey) -> str:
    """base64url of the 32-byte seed. Keep it out of panel configs."""
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return _b64(raw)


def load_public_key(text: str) -> Ed25519PublicKey:
    """From base64(url) of the 32 raw bytes, or PEM. Raises ValueError."""
    if text.lstrip().startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except UnsupportedAlgorithm:
            raise ValueError("PEM key of an unsupported type") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("PEM key is not an Ed25519 public key")
        return key
    raw = _unb64(text)
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, this is {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def load_private_key(text: str) -> Ed25519PrivateKey:
    """From base64(url) of the 32-byte seed, or unencrypted PKCS#8 PEM. Raises ValueError."""
    if text.lstrip().startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (UnsupportedAlgorithm, TypeError):  # TypeError: the PEM is encrypted
            raise ValueError("not an unencrypted PKCS#8 Ed25519 private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("PEM key is not an Ed25519 private key")
        return key
    raw = _unb64(text)
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 private key seed is 32 bytes, this is {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def load_trusted_keys(mapping: Mapping[str, str]) -> dict[str, Ed25519PublicKey]:
    """``{kid: key text}`` -> ``{kid: public key}``. Raises ValueError naming the kid."""
    keys = {}
    for kid, text in mapping.items():
        if not isinstance(kid, str) or not kid:
            raise ValueError(f"trusted key id {kid!r}: must be a non-empty string")
        if not isinstance(text, str):
            raise ValueError(f"trusted key {kid!r}: expected a base64 or PEM string")
        try:
            keys[kid] = load_public_key(text)
        except ValueError as exc:
            raise ValueError(f"trusted key {kid!r}: {exc}") from None
    return keys
