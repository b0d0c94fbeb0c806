"""Access cards read by an OSDP reader: the number a card carries, and the panel's check.

A reader reports the bits it read (libosdp: format, bit count, data left-aligned in
bytes). The panel names a card the way it is printed on it and enrolled:

- 26-bit Wiegand (HID H10301, the most common proximity format): "FC:NUMBER", the
  8-bit facility code and 16-bit card number, e.g. "42:12345". Both parity bits are
  checked; a read with a parity error is unreadable, never someone else's card.
  Many readers report these as "raw, unspecified" rather than Wiegand: a 26-bit raw
  read whose parity holds is read as H10301 too.
- anything else: "raw:BITS:HEX", the bits as read (a 35-bit Corporate 1000 or a
  card serial number); enrol it exactly as the reader reported it (the access log
  shows it).

A card is a resident's when it is listed in their `cards` (property file or cloud
directory). It is refused when unknown, when the card itself is revoked
("card:<number>"), or when its holder is ("holder:<id>", a move-out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CARD_REASONS", "CardError", "card_number", "normalize_card", "CardCheck", "check_card"]

# Refusal reason codes of a card read; the string tables (assets/i18n) say them in words.
CARD_REASONS = ("unknown_card", "card_unreadable", "revoked")

_H10301 = re.compile(r"(\d{1,3}):(\d{1,5})")
_RAW = re.compile(r"raw:(\d{1,4}):([0-9a-f]*)")


class CardError(ValueError):
    pass


def card_number(fmt: str, bits: int, data_hex: str) -> str:
    """The enrolment form of what the reader read; CardError for a read that cannot be a card."""
    try:
        data = bytes.fromhex(data_hex)
    except ValueError:
        raise CardError("card data is not hex") from None
    if bits <= 0 or bits > len(data) * 8:
        raise CardError(f"card read of {bits} bits in {len(data)} bytes")
    value = int.from_bytes(data, "big") >> (len(data) * 8 - bits)     # data is left-aligned
    if bits == 26 and fmt in ("wiegand", "raw"):
        even_half, odd_half = value >> 13, value & 0x1FFF               # parity bit + 12 bits each
        if bin(even_half).count("1") % 2 == 0 and bin(odd_half).count("1") % 2 == 1:
            return f"{(value >> 17) & 0xFF}:{(value >> 1) & 0xFFFF}"
        if fmt == "wiegand":
            raise CardError("26-bit Wiegand read with a parity error")
    return _raw(bits, value)


def _raw(bits: int, value: int) -> str:
    return f"raw:{bits}:{value:0{(bits + 3) // 4}x}"


def normalize_card(text: str) -> str:
    """An enrolled card number as the property wrote it -> the form card_number() gives."""
    t = text.strip().lower()
    if m := _H10301.fullmatch(t):
        fc, number = int(m[1]), int(m[2])
        if fc > 255 or number > 65535:
            raise CardError(f"card {text!r}: a 26-bit card has facility code 0-255 and number 0-65535")
        return f"{fc}:{number}"
    if (m := _RAW.fullmatch(t)) and m[2]:
        bits, value = int(m[1]), int(m[2], 16)
        if bits == 0 or value >> bits:
            raise CardError(f"card {text!r}: {m[2]} does not fit in {bits} bits")
        return _raw(bits, value)
    raise CardError(f"card {text!r}: write FACILITY:NUMBER (26-bit, as printed) or raw:BITS:HEX")


@dataclass(frozen=True)
class CardCheck:
    ok: bool
    reason: str                 # one of CARD_REASONS when not ok
    number: str                 # the card number ("" when the read was malformed)
    holder_id: str = ""
    holder_name: str = ""


def check_card(fmt: str, bits: int, data_hex: str, *, owner_of, is_revoked) -> CardCheck:
    """owner_of(number) -> (holder id, name) or None; is_revoked(id) for "card:N" and "holder:ID"."""
    try:
        number = card_number(fmt, bits, data_hex)
    except CardError:
        return CardCheck(False, "card_unreadable", "")
    owner = owner_of(number)
    if owner is None:
        return CardCheck(False, "unknown_card", number)
    holder_id, name = owner
    if is_revoked(f"card:{number}") or is_revoked(f"holder:{holder_id}"):
        return CardCheck(False, "revoked", number, holder_id, name)
    return CardCheck(True, "", number, holder_id, name)
