"""The door contact's rules with a fake clock."""

from panel.core.door import DoorWatch, check_held, contact, relocked, released


def test_opening_while_released_is_fine():
    w = released(DoorWatch(), 0)
    w, alarms = contact(w, True, 1)
    assert alarms == []


def test_opening_while_locked_is_forced():
    w = relocked(released(DoorWatch(), 0), 5)
    w, alarms = contact(w, True, 10)
    assert alarms == ["door_forced"]


def test_a_push_just_as_the_strike_relocks_is_not_forced():
    w = relocked(released(DoorWatch(), 0), 5)
    w, alarms = contact(w, True, 6.5)
    assert alarms == []


def test_never_released_since_start_and_opened_is_forced():
    w, alarms = contact(DoorWatch(), True, 100)
    assert alarms == ["door_forced"]


def test_held_open_once_per_opening():
    w = released(DoorWatch(), 0)
    w, _ = contact(w, True, 1)
    w, alarms = check_held(w, 20, limit=30)
    assert alarms == []
    w, alarms = check_held(w, 31, limit=30)
    assert alarms == ["door_held_open"]
    w, alarms = check_held(w, 60, limit=30)
    assert alarms == []
    w, _ = contact(w, False, 61)
    w = released(w, 70)
    w, _ = contact(w, True, 71)
    w, alarms = check_held(w, 102, limit=30)
    assert alarms == ["door_held_open"]


def test_repeated_open_reports_are_one_opening():
    w = relocked(DoorWatch(), 0)
    w, first = contact(w, True, 10)
    w, second = contact(w, True, 11)
    assert first == ["door_forced"] and second == []


def test_the_lock_at_start_up_gives_no_grace():
    w = relocked(DoorWatch(), 0)
    w, alarms = contact(w, True, 0.5)
    assert alarms == ["door_forced"]
