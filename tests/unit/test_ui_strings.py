"""String tables: every language says everything English says, with the same blanks."""

from __future__ import annotations

import string
import tomllib

import pytest

from panel.ui.strings import I18N, Strings, language_problem, languages

EN = tomllib.loads((I18N / "en.toml").read_text(encoding="utf-8"))
OTHERS = [lang for lang in languages() if lang != "en"]


def flat(table: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def blanks(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_a_second_language_ships():
    assert "de" in OTHERS


@pytest.mark.parametrize("lang", OTHERS)
def test_every_english_key_is_translated_with_the_same_blanks(lang):
    table = flat(tomllib.loads((I18N / f"{lang}.toml").read_text(encoding="utf-8")))
    english = flat(EN)
    assert sorted(set(english) - set(table)) == [], f"{lang}.toml lacks these keys"
    assert sorted(set(table) - set(english)) == [], f"{lang}.toml has keys English does not"
    for key, text in english.items():
        if isinstance(text, str):
            assert blanks(table[key]) == blanks(text), f"{lang}.toml: {key} must use {blanks(text) or 'no'} blanks"
            assert table[key].strip(), f"{lang}.toml: {key} is empty"


@pytest.mark.parametrize("lang", languages())
def test_keyboard_rows_are_letters_in_capitals(lang):
    rows = Strings(lang).keyboard
    assert len(rows) == 3
    for row in rows:
        assert row == row.upper() and row.isalpha() and len(set(row)) == len(row)


def test_german_reads_german():
    t = Strings("de")
    assert t("ended_declined", name="Zoë Müller") == "Zoë Müller hat den Anruf abgelehnt"
    assert t.reason("expired") == "Dieser Schlüssel ist abgelaufen."
    assert t.reason("no-such-code") == "Dieser Schlüssel wurde abgelehnt."
    assert "Ü" in "".join(t.keyboard)


def test_unknown_language_is_a_one_line_error():
    assert language_problem("en") is None and language_problem("de") is None
    problem = language_problem("fr")
    assert problem == "'panel.language' = 'fr': no string table for it; use one of de, en"
    with pytest.raises(ValueError, match="no string table"):
        Strings("fr")
    assert "\n" not in language_problem("../en")
