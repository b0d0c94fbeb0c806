"""The door's rules in core.step, with exact times: forced open, held open, tamper, relay."""

from hal import events as hw
from panel.core import effects as fx
from panel.core import events as ev
from panel.core.machine import Rules, Screen, initial_state, step

RULES = Rules(held_open_seconds=30)


def run(state, *timed_events):
    """Apply (time, event) pairs; return the state and the alarms raised, as reasons."""
    alarms = []
    for now, event in timed_events:
        state, effects = step(state, event, now, RULES)
        alarms += [e.reason for e in effects if isinstance(e, fx.RaiseAlarm)]
    return state, alarms


def test_opening_while_released_is_fine():
    _, alarms = run(initial_state(), (0, hw.StrikeReleased()), (1, hw.DoorContactChanged(open=True)))
    assert alarms == []


def test_opening_while_locked_is_forced():
    _, alarms = run(initial_state(), (0, hw.StrikeReleased()), (5, hw.StrikeRelocked()),
                    (10, hw.DoorContactChanged(open=True)))
    assert alarms == ["door_forced"]


def test_a_push_just_as_the_strike_relocks_is_not_forced():
    _, alarms = run(initial_state(), (0, hw.StrikeReleased()), (5, hw.StrikeRelocked()),
                    (6.5, hw.DoorContactChanged(open=True)))
    assert alarms == []


def test_the_grace_ends_exactly_two_seconds_after_the_relock():
    _, at_limit = run(initial_state(), (0, hw.StrikeReleased()), (5, hw.StrikeRelocked()),
                      (7, hw.DoorContactChanged(open=True)))
    _, past = run(initial_state(), (0, hw.StrikeReleased()), (5, hw.StrikeRelocked()),
                  (7.001, hw.DoorContactChanged(open=True)))
    assert at_limit == [] and past == ["door_forced"]


def test_never_released_since_start_and_opened_is_forced():
    _, alarms = run(initial_state(), (100, hw.DoorContactChanged(open=True)))
    assert alarms == ["door_forced"]


def test_held_open_once_per_opening_at_the_states_deadline():
    state, _ = run(initial_state(), (0, hw.StrikeReleased()), (1, hw.DoorContactChanged(open=True)))
    assert state.held_deadline == 31 and state.wake_at == 31     # the shell's Tick comes then
    state, alarms = run(state, (20, ev.Tick()))
    assert alarms == []
    state, alarms = run(state, (31, ev.Tick()))
    assert alarms == ["door_held_open"]
    state, alarms = run(state, (60, ev.Tick()))
    assert alarms == []
    state, _ = run(state, (61, hw.DoorContactChanged(open=False)), (70, hw.StrikeReleased()),
                   (71, hw.DoorContactChanged(open=True)))
    state, alarms = run(state, (101, ev.Tick()))
    assert alarms == ["door_held_open"]


def test_closing_in_time_raises_nothing():
    state, _ = run(initial_state(), (0, hw.StrikeReleased()), (1, hw.DoorContactChanged(open=True)),
                   (30.9, hw.DoorContactChanged(open=False)))
    assert state.held_deadline is None and state.wake_at is None
    _, alarms = run(state, (40, ev.Tick()))
    assert alarms == []


def test_repeated_open_reports_are_one_opening():
    state, first = run(initial_state(), (0, hw.StrikeRelocked()), (10, hw.DoorContactChanged(open=True)))
    _, second = run(state, (11, hw.DoorContactChanged(open=True)))
    assert first == ["door_forced"] and second == []


def test_the_lock_at_start_up_gives_no_grace():
    _, alarms = run(initial_state(), (0, hw.StrikeRelocked()), (0.5, hw.DoorContactChanged(open=True)))
    assert alarms == ["door_forced"]


def test_the_contact_is_in_the_state():
    state = initial_state()
    assert state.door_open is None
    state, _ = run(state, (0, hw.StrikeReleased()), (1, hw.DoorContactChanged(open=True)))
    assert state.door_open is True
    state, _ = run(state, (2, hw.DoorContactChanged(open=False)))
    assert state.door_open is False


def test_tamper_switches_are_alarms_with_their_source():
    state = initial_state()
    _, effects = step(state, hw.TamperChanged(active=True), 0, RULES)
    assert effects == [fx.RaiseAlarm("tamper", "tamper")]
    _, effects = step(state, hw.TamperChanged(active=True, source="reader"), 0, RULES)
    assert effects == [fx.RaiseAlarm("reader_tamper", "tamper", "the reader's cover is open")]
    _, effects = step(state, hw.TamperChanged(active=False), 0, RULES)
    assert not any(isinstance(e, fx.RaiseAlarm) for e in effects)


def test_relay_faults_and_a_stuck_relay_are_alarms():
    state, effects = step(initial_state(), hw.RelayFaulted("no answer"), 0, RULES)
    assert effects == [fx.RaiseAlarm("relay_fault", "relay", "no answer")]
    assert state.screen is Screen.OUT_OF_ORDER
    _, effects = step(state, hw.RelayStuck("no answer", 10.0), 10, RULES)
    assert effects == [fx.RaiseAlarm("relay_alarm", "relay", "no answer")]


def test_a_failed_release_marks_the_door_out_of_order_without_a_second_alarm():
    state, effects = step(initial_state(), ev.ReleaseFailed("no answer"), 0, RULES)
    assert state.screen is Screen.OUT_OF_ORDER and effects == []


def test_reader_power_failure_is_an_alarm():
    _, effects = step(initial_state(), hw.ReaderPowerChanged(ok=False), 0, RULES)
    assert effects == [fx.RaiseAlarm("reader_power", "reader", "the reader reports a power failure")]
    _, effects = step(initial_state(), hw.ReaderPowerChanged(ok=True), 0, RULES)
    assert effects == []
