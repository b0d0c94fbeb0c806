"""Directory search: what a visitor typing on the panel finds, and in which order."""

from __future__ import annotations

import random

import pytest

from panel.config import Config
from panel.directory import Directory, PropertyError, Resident, load_property, words

DEMO = load_property(Config().property_file).residents


def noise(n: int, seed: int = 7) -> list[Resident]:
    """Many residents whose names share letters with the ones searched for."""
    first = ["Sam", "Sami", "Samira", "Mia", "Emil", "Simone", "Zoe", "Chloé", "Lea", "Muhammad", "Ana"]
    last = ["Smit", "Schmidt", "Smolenski", "Simons", "Costa-Smith", "Mulder", "Müllner", "Zoller", "Mills"]
    rng = random.Random(seed)
    return [Resident(f"n{i}", rng.choice(first), rng.choice(last), f"{rng.randint(1, 40)}{rng.choice('ABDE')}")
            for i in range(n)]


@pytest.fixture(scope="module")
def demo() -> Directory:
    return Directory(DEMO)


@pytest.fixture(scope="module")
def crowded() -> Directory:
    return Directory(list(DEMO) + noise(10_000))


def names(results) -> list[str]:
    return [r.full_name for r in results]


@pytest.mark.parametrize("query", ["smi", "SMI", " smi "])
def test_smi_puts_the_smiths_first(demo, crowded, query):
    assert names(demo.search(query))[:3] == ["James Smith", "Noah Smith", "Olivia Smith"]
    # Among 10,000 others, the Smiths (and Smit) still come before Costa-Smith, Simons and Schmidt.
    top = crowded.search(query, limit=3000)
    lasts = [r.last_name for r in top]
    assert set(lasts[:lasts.index("Costa-Smith")]) == {"Smit", "Smith"}
    assert "Simons" not in lasts and "Schmidt" not in lasts        # three letters: no typos yet
    assert [r.last_name for r in crowded.search("Smith", limit=4)] == ["Smith"] * 3 + ["Costa-Smith"]


def test_zoe_finds_zoe_with_the_diaeresis(demo, crowded):
    assert names(demo.search("zoe"))[0] == "Zoë Müller"
    assert "Zoë Müller" in names(crowded.search("zoe mül", limit=1000))


@pytest.mark.parametrize("query", ["mueller", "muller", "MÜLLER", "müll"])
def test_mueller_and_muller_find_mueller(demo, query):
    assert names(demo.search(query))[0] == "Zoë Müller"


def test_a_typo_still_finds_smith_near_the_top(demo, crowded):
    assert names(demo.search("smiht"))[:3] == ["James Smith", "Noah Smith", "Olivia Smith"]
    assert {r.last_name for r in crowded.search("smiht", limit=3)} == {"Smith"}
    assert names(demo.search("jhonson"))[0] == "Amelia Johnson"


def test_exact_matches_rank_above_typos(crowded):
    # "smit" is a surname in the crowd: those come first, the Smiths (one letter more) next.
    results = crowded.search("smit", limit=2000)
    lasts = [r.last_name for r in results]
    assert lasts[0] == "Smit"
    assert lasts.index("Smith") > lasts.index("Smit")


def test_unit_finds_its_residents(demo, crowded):
    assert {r.full_name for r in demo.search("3c")} == {"Li Zhang", "Wei Zhang"}
    assert {r.unit for r in crowded.search("3C", limit=5)} == {"3C"}


def test_every_typed_word_must_match(demo):
    assert names(demo.search("oli smi")) == ["Olivia Smith"]
    assert names(demo.search("smith 4c")) == ["Noah Smith"]


def test_hyphenated_and_compound_names(demo):
    max_name = "Maximilian Alexander von Hohenberg-Strassburg"
    assert names(demo.search("strassb"))[0] == max_name
    assert names(demo.search("hohenberg-str"))[0] == max_name
    assert names(demo.search("alfarsi"))[0] == "Mohammed Al-Farsi"
    assert {"hohenberg", "strassburg", "hohenbergstrassburg", "muller", "mueller"} <= words(
        "Müller von Hohenberg-Strassburg")
    assert words("von Hohenberg-Strassburg", lead=True) == {"von", "hohenberg", "hohenbergstrassburg"}


def test_whole_word_before_prefix(demo):
    # "li": Li Zhang, whose first name is exactly that, before Liam and Lindqvist.
    assert names(demo.search("li"))[0] == "Li Zhang"


def test_nothing_for_nonsense_and_everyone_for_nothing(demo):
    assert demo.search("xqzv") == []
    assert len(demo.search("", limit=1000)) == len(DEMO)
    assert demo.search("")[0].last_name <= demo.search("")[1].last_name


def test_limit_is_honoured(crowded):
    assert len(crowded.search("s", limit=7)) == 7


def test_search_results_are_reused_for_the_same_query(demo, monkeypatch):
    d = Directory(DEMO)
    calls = []
    rank = d._rank
    monkeypatch.setattr(d, "_rank", lambda *a: calls.append(a) or rank(*a))
    first = d.search("smi", limit=200)
    assert d.search("SMI ", limit=200) is first          # the screen asks on every redraw
    assert len(calls) == 1


def test_display_rules():
    r = Resident("x", "Olivia", "Smith", "1A")
    assert r.shown_as("full") == "Olivia Smith"
    assert r.shown_as("initial") == "O. Smith"
    assert r.shown_as("unit") == "Apartment 1A"
    assert r.shown_as("unit", unit_label="Wohnung {unit}") == "Wohnung 1A"
    # A name the property set by hand wins over the rule.
    assert Resident("y", "", "Desk", "0", display_name="Reception").shown_as("unit") == "Reception"
    assert Resident("z", "", "Concierge", "0").shown_as("initial") == "Concierge"


def test_directory_lists_in_surname_order_with_accents_folded():
    d = Directory([Resident("1", "A", "Zimmer", "1"), Resident("2", "B", "Åkesson", "2"),
                   Resident("3", "C", "Brown", "3")])
    assert [r.last_name for r in d.residents] == ["Åkesson", "Brown", "Zimmer"]


def test_property_file_cards_are_read_and_a_bad_one_names_the_resident(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[[residents]]\nid = "a"\nlast_name = "Ng"\nunit = "1"\ncards = ["042:7", "raw:32:0A0B0C0D"]\n')
    [resident] = load_property(good).residents
    assert resident.cards == ("42:7", "raw:32:0a0b0c0d")
    assert Directory([resident]).card_owner("42:7") == resident
    bad = tmp_path / "bad.toml"
    bad.write_text('[[residents]]\nid = "a"\nlast_name = "Ng"\nunit = "1"\ncards = ["7"]\n')
    with pytest.raises(PropertyError, match=r"resident #1: card '7'"):
        load_property(bad)


def test_a_card_listed_for_two_residents_is_an_error(tmp_path):
    path = tmp_path / "twice.toml"
    path.write_text('[[residents]]\nid = "a"\nlast_name = "Ng"\nunit = "1"\ncards = ["42:7"]\n'
                    '[[residents]]\nid = "b"\nlast_name = "Ode"\nunit = "2"\ncards = ["042:7"]\n')
    with pytest.raises(PropertyError, match="card 42:7 is listed for both 'a' and 'b'"):
        load_property(path)


def test_a_residents_sip_uri_is_read_and_a_bad_one_names_the_resident(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[[residents]]\nid = "a"\nlast_name = "Ng"\nunit = "1"\nsip = "sip:ng@pbx.example"\n')
    assert load_property(good).residents[0].sip == "sip:ng@pbx.example"
    bad = tmp_path / "bad.toml"
    bad.write_text('[[residents]]\nid = "a"\nlast_name = "Ng"\nunit = "1"\nsip = "ng@pbx"\n')
    with pytest.raises(PropertyError, match=r"resident #1: sip = 'ng@pbx': expected a SIP URI"):
        load_property(bad)
