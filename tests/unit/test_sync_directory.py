"""The directory message from the cloud as the panel reads it (panel.sync): cards included."""

import logging

from panel.sync import _residents


def test_cards_from_the_cloud_are_normalized_and_bad_or_doubled_ones_left_out(caplog):
    caplog.set_level(logging.WARNING)
    residents = _residents([
        {"id": "a", "last_name": "Ng", "unit": "1", "cards": ["042:7", "nonsense"]},
        {"id": "b", "last_name": "Ode", "unit": "2", "cards": "42:8, 42:7"},        # a string, and a's card
        {"id": "c", "last_name": "Park", "unit": "3"},
    ])
    assert [(r.id, r.cards) for r in residents] == [("a", ("42:7",)), ("b", ("42:8",)), ("c", ())]
    assert "resident a: card 'nonsense'" in caplog.text
    assert "card 42:7 is listed for a and b" in caplog.text


def test_a_directory_entry_without_a_name_is_refused_whole():
    assert _residents([{"id": "a", "last_name": "Ng", "unit": "1"}, {"id": "b", "unit": "2"}]) is None
    assert _residents("not a list") is None
