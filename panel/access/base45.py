"""Base45 (RFC 9285): bytes as text in the QR alphanumeric alphabet.

A tiny implementation rather than the ``base45`` package: it is 30 lines, and the
decoder must be strict (every string decodes to at most one byte string, anything
else is an error) because credentials are read from untrusted codes.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


def b45encode(data: bytes) -> str:
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += (ALPHABET[c], ALPHABET[d], ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += (ALPHABET[c], ALPHABET[d])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """Raises ValueError for a character outside the alphabet, a dangling single
    character, or a group whose value does not fit (RFC 9285 section 4.2)."""
    try:
        values = [_VALUE[c] for c in text]
    except KeyError as exc:
        raise ValueError(f"not a base45 character: {exc.args[0]!r}") from None
    if len(values) % 3 == 1:
        raise ValueError("base45 length leaves a single character")
    out = bytearray()
    for i in range(0, len(values), 3):
        group = values[i : i + 3]
        n = sum(v * 45**k for k, v in enumerate(group))
        if len(group) == 3:
            if n > 0xFFFF:
                raise ValueError("base45 group out of range")
            out += n.to_bytes(2, "big")
        else:
            if n > 0xFF:
                raise ValueError("base45 group out of range")
            out.append(n)
    return bytes(out)
