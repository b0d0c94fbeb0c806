"""The door outcome is the truth: a granted release is settled by the relay's answer
(StrikeReleased, ReleaseFailed, or none by the deadline), with plain numbers for time."""

from dataclasses import replace

import pytest

from hal import events as hw
from panel.core import effects as fx
from panel.core import events as ev
from panel.core.machine import Screen, initial_state
from tests.unit.test_core_machine import RULES, run

KEY = ev.CredentialChecked(True, "", "r01", "Olivia Smith", "resident", "cred-1")
assert (RULES.message_seconds, RULES.pulse_seconds, RULES.confirm_seconds) == (6, 5, 3)    # the numbers below


def home():
    return replace(initial_state(0, boot="b7"), cloud_online=True)


def in_call():
    state, _ = run(home(), ev.OpenDirectory(), ev.CallResident("r01", "Olivia Smith"),
                   ev.CallAccepted("call-1", "phone-a"))
    return state


def of(effects, kind):
    return [e for e in effects if isinstance(e, kind)]


def test_a_key_waits_for_the_relay_before_it_greets_or_logs():
    state, effects = run(home(), KEY, now=1)
    [pulse] = effects
    assert pulse.seconds == 5 and pulse.release.id == "b7-1" and pulse.release.deadline == 4
    assert state.screen is Screen.HOME and state.wake_at == 4
    state, effects = run(state, hw.StrikeReleased(), now=1.05)
    assert state.screen is Screen.ACCESS_GRANTED and state.releases == ()
    assert of(effects, fx.LogAccess) == [fx.LogAccess(True, "qr", "Olivia Smith", "", "cred-1", release_id="b7-1")]
    assert of(effects, fx.DoorOutcome) == [fx.DoorOutcome("b7-1", "qr", True)]


def test_a_release_the_relay_refuses_is_logged_not_released_with_the_fault_screen():
    state, _ = run(home(), KEY, now=1)
    state, effects = run(state, hw.RelayFaulted("no answer"), ev.ReleaseFailed("no answer", "b7-1"), now=1.5)
    assert state.screen is Screen.DOOR_FAULT and state.deadline == 7.5 and state.door_fault == "no answer"
    assert fx.LogAccess(False, "qr", "Olivia Smith", "door_not_released", "cred-1", detail="no answer",
                        release_id="b7-1") in effects
    assert fx.DoorOutcome("b7-1", "qr", False, error="no answer") in effects
    assert not of(effects, fx.StopCall)
    state, _ = run(state, ev.Tick(), now=7.5)
    assert state.screen is Screen.OUT_OF_ORDER        # home, while the relay is faulted


def test_a_relay_that_never_answers_fails_the_release_at_its_deadline():
    state, _ = run(home(), KEY, now=1)
    state, effects = run(state, ev.Tick(), now=3.9)
    assert effects == [] and state.releases
    state, effects = run(state, ev.Tick(), now=4)
    assert state.screen is Screen.DOOR_FAULT and state.releases == ()
    [log] = of(effects, fx.LogAccess)
    assert not log.granted and log.reason == "door_not_released" and "within 3 s" in log.detail
    assert of(effects, fx.AbandonRelease) == [fx.AbandonRelease("b7-1")]     # it must not open later
    # A late answer changes nothing already said.
    state, effects = run(state, ev.ReleaseFailed("no answer", "b7-1"), now=5)
    assert not of(effects, fx.LogAccess)


def test_the_resident_in_the_call_is_told_and_the_call_goes_on():
    state, _ = run(in_call(), ev.DoorOpenRequested("call", "", "call-1", "phone-a"), now=10)
    state, effects = run(state, ev.ReleaseFailed("no answer", "b7-1"), now=10.5)
    assert state.screen is Screen.IN_CALL and state.message == "door_not_released"
    assert of(effects, fx.DoorOutcome) == [fx.DoorOutcome("b7-1", "call", False, "call-1", "phone-a", "no answer")]
    assert not of(effects, fx.StopCall)
    # Tried again, and the relay answers this time: the door opens and the call ends.
    state, _ = run(state, ev.DoorOpenRequested("call", "", "call-1", "phone-a"), now=11)
    state, effects = run(state, hw.StrikeReleased(), now=11.1)
    assert state.screen is Screen.DOOR_OPEN
    assert of(effects, fx.DoorOutcome) == [fx.DoorOutcome("b7-2", "call", True, "call-1", "phone-a")]
    assert of(effects, fx.StopCall) == [fx.StopCall("call-1", "door_opened")]


@pytest.mark.parametrize("method", ["exit", "app", "api"])
def test_every_way_in_follows_the_same_rule(method):
    state, _ = run(home(), ev.DoorOpenRequested(method, "someone", device="phone-a" if method == "app" else None))
    state, effects = run(state, ev.Tick(), now=3)
    [log] = of(effects, fx.LogAccess)
    assert (log.method, log.granted, log.reason) == (method, False, "door_not_released")
    assert state.screen is (Screen.HOME if method == "exit" else Screen.DOOR_FAULT)


def test_a_key_during_a_call_ends_the_call_only_once_the_door_opened():
    state, effects = run(in_call(), KEY, now=5)
    assert not of(effects, fx.StopCall) and state.screen is Screen.IN_CALL
    state, effects = run(state, hw.StrikeReleased(), now=5.1)
    assert state.screen is Screen.ACCESS_GRANTED
    assert of(effects, fx.StopCall) == [fx.StopCall("call-1", "access_granted")]


def test_a_call_placed_while_a_release_waits_keeps_its_screen():
    state, _ = run(home(), ev.DoorOpenRequested("api", "rig"), ev.OpenDirectory(),
                   ev.CallResident("r01", "Olivia Smith"))
    state, effects = run(state, hw.StrikeReleased(), now=0.2)
    assert state.screen is Screen.CALLING and not of(effects, fx.StopCall) and len(of(effects, fx.LogAccess)) == 1


def test_one_confirmation_settles_every_release_waiting_and_a_late_failure_logs_nothing_more():
    state, _ = run(home(), KEY, ev.DoorOpenRequested("exit"))
    state, effects = run(state, hw.StrikeReleased(), now=0.1)
    assert [(e.method, e.granted) for e in of(effects, fx.LogAccess)] == [("qr", True), ("exit", True)]
    state, effects = run(state, ev.ReleaseFailed("relock failed", "b7-1"), now=5.2)
    assert not of(effects, fx.LogAccess) and state.door_fault == "relock failed"


@pytest.mark.parametrize("found,logged,alarmed", [
    (dict(opened=True), (True, ""), True),                          # killed with the door released
    (dict(opened=None), None, True),                                # killed before the relay answered
    (dict(opened=True, relocked=True), (True, ""), False),          # relocked; only the entry was lost
    (dict(opened=False), (False, "door_not_released"), False),      # a failure not yet written
    (dict(opened=True, logged=True), None, True),
    (dict(opened=True, logged=True, reported=True), None, False),   # all on disk already
])
def test_a_release_interrupted_by_a_crash_is_logged_and_reported_at_start_up(found, logged, alarmed):
    event = ev.ReleaseInterrupted("a1-3", "qr", "Olivia Smith", "cred-1", ts=1700.0, **found)
    state, effects = run(home(), event)
    assert state == home()
    entries = [(e.granted, e.reason) for e in of(effects, fx.LogAccess)]
    assert entries == ([logged] if logged else [])
    assert all(e.ts == 1700.0 and e.release_id == "a1-3" for e in of(effects, fx.LogAccess))
    alarms = of(effects, fx.RaiseAlarm)
    assert [a.reason for a in alarms] == (["release_interrupted"] if alarmed else [])
    assert all(a.release_id == "a1-3" and "Olivia Smith" in a.detail for a in alarms)
