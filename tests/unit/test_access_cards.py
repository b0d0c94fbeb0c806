"""Access cards: what a reader's bits mean, how a property writes them, and the check."""

import pytest

from panel.access.cards import CARD_REASONS, CardError, card_number, check_card, normalize_card


def h10301(facility: int, number: int, *, break_parity: bool = False) -> str:
    """26-bit Wiegand as a reader sends it: even parity, 8 bits facility, 16 bits number,
    odd parity; left-aligned in 4 bytes, hex."""
    body = (facility << 16) | number
    even = bin(body >> 12).count("1") % 2
    odd = 1 - bin(body & 0xFFF).count("1") % 2
    value = (even << 25) | (body << 1) | odd
    if break_parity:
        value ^= 1
    return (value << 6).to_bytes(4, "big").hex()


@pytest.mark.parametrize("facility,number", [(42, 1001), (0, 0), (255, 65535), (1, 32768)])
def test_26_bit_wiegand_reads_as_printed(facility, number):
    assert card_number("wiegand", 26, h10301(facility, number)) == f"{facility}:{number}"


def test_a_parity_error_is_not_somebody_elses_card():
    with pytest.raises(CardError, match="parity"):
        card_number("wiegand", 26, h10301(42, 1001, break_parity=True))


def test_a_26_bit_read_reported_as_raw_is_still_the_printed_number_when_its_parity_holds():
    assert card_number("raw", 26, h10301(42, 1001)) == "42:1001"
    assert card_number("raw", 26, h10301(42, 1001, break_parity=True)).startswith("raw:26:")


def test_other_formats_keep_the_bits_as_read():
    assert card_number("wiegand", 35, "a1b2c3d4e0") == "raw:35:50d961ea7"    # 35 bits, left-aligned
    assert card_number("raw", 32, "04a2b3c4") == "raw:32:04a2b3c4"


@pytest.mark.parametrize("bits,data", [(0, "00"), (40, "0000"), (26, "zz")])
def test_impossible_reads_are_errors(bits, data):
    with pytest.raises(CardError):
        card_number("wiegand", bits, data)


@pytest.mark.parametrize("text,form", [("42:1001", "42:1001"), (" 042:01001 ", "42:1001"),
                                       ("RAW:32:04A2B3C4", "raw:32:04a2b3c4"),
                                       ("raw:35:abc", "raw:35:000000abc")])   # padded as a reader's is
def test_enrolled_numbers_are_normalized(text, form):
    assert normalize_card(text) == form


@pytest.mark.parametrize("text", ["1001", "256:1", "42:65536", "raw:x:00", "raw:8:1ff", "raw:0:1", "Olivia"])
def test_bad_enrolment_says_how_to_write_it(text):
    with pytest.raises(CardError, match="card"):
        normalize_card(text)


def check(data, revoked=()):
    owners = {"42:1001": ("r01", "Olivia Smith")}
    return check_card("wiegand", 26, data, owner_of=owners.get, is_revoked=set(revoked).__contains__)


def test_the_check_gives_every_reason():
    assert check(h10301(42, 1001)).ok and check(h10301(42, 1001)).holder_name == "Olivia Smith"
    seen = {
        check(h10301(42, 9999)).reason,
        check(h10301(42, 1001, break_parity=True)).reason,
        check(h10301(42, 1001), revoked={"card:42:1001"}).reason,
    }
    assert check(h10301(42, 1001), revoked={"holder:r01"}).reason == "revoked"     # moved out
    assert seen == set(CARD_REASONS)


def test_every_card_reason_has_a_plain_message_in_every_language():
    from panel.ui.strings import Strings, languages
    for language in languages():
        table = Strings(language)._table["reasons"]
        for code in CARD_REASONS:
            assert table.get(code, "").endswith("."), (language, code)
