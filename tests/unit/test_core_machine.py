"""The panel's rules, one transition at a time, with a fake clock (plain numbers)."""

from dataclasses import replace

import pytest

from hal import events as hw
from panel.core import effects as fx
from panel.core import events as ev
from panel.core.machine import PanelState, Rules, Screen, initial_state, step

RULES = Rules(idle_seconds=30, message_seconds=6, ring_timeout_seconds=30, max_call_seconds=180, pulse_seconds=5)


def run(state, *events, now=0.0):
    """Apply events at time `now`; return the final state and all effects."""
    effects = []
    for e in events:
        state, out = step(state, e, now, RULES)
        effects += out
    return state, effects


def online(**changes) -> PanelState:
    return replace(initial_state(0), cloud_online=True, **changes)


def at_directory(query="") -> PanelState:
    state, _ = run(online(), ev.OpenDirectory(), *(ev.TypeText(c) for c in query))
    return state


def calling() -> PanelState:
    state, _ = run(at_directory("smi"), ev.CallResident("r01", "Olivia Smith"))
    return state


def in_call() -> PanelState:
    state, _ = run(calling(), ev.CallAccepted("call-1", "phone-a"), now=3)
    return state


def kinds(effects):
    return [type(e) for e in effects]


RELEASED = hw.StrikeReleased()      # the relay confirms the release


def pulse(effects) -> fx.PulseDoor:
    [p] = [e for e in effects if isinstance(e, fx.PulseDoor)]
    return p


def without_outcomes(effects):
    """The effects minus PulseDoor and DoorOutcome (their release ids and deadlines are test_core_release's)."""
    return [e for e in effects if not isinstance(e, (fx.PulseDoor, fx.DoorOutcome))]


# -- home and directory ------------------------------------------------------------------
def test_starts_on_home():
    assert initial_state(5).screen is Screen.HOME


def test_directory_opens_and_times_out_to_home():
    state, effects = run(online(), ev.OpenDirectory(), now=10)
    assert state.screen is Screen.DIRECTORY and state.deadline == 40 and effects == []
    state, _ = run(state, ev.Tick(), now=39.9)
    assert state.screen is Screen.DIRECTORY
    state, _ = run(state, ev.Tick(), now=40)
    assert state.screen is Screen.HOME and state.query == ""


def test_touch_keeps_the_directory_open():
    state, _ = run(online(), ev.OpenDirectory(), now=0)
    state, _ = run(state, ev.Touched(), now=25)
    state, _ = run(state, ev.Tick(), now=40)
    assert state.screen is Screen.DIRECTORY and state.deadline == 55


def test_typing_editing_and_clearing_the_search():
    state = at_directory("smi")
    assert state.query == "smi"
    state, _ = run(state, ev.Backspace())
    assert state.query == "sm"
    state, _ = run(state, ev.ClearQuery())
    assert state.query == ""
    state, _ = run(state, ev.Backspace())
    assert state.query == ""


def test_query_is_bounded():
    state, _ = run(at_directory(), *(ev.TypeText("x") for _ in range(100)))
    assert len(state.query) == 40


def test_scroll_stays_within_the_list():
    state, _ = run(at_directory(), ev.Scroll(6, last=10))
    assert state.scroll == 6
    state, _ = run(state, ev.Scroll(6, last=10))
    assert state.scroll == 10
    state, _ = run(state, ev.Scroll(-100, last=10))
    assert state.scroll == 0


def test_typing_resets_scroll():
    state, _ = run(at_directory(), ev.Scroll(6, last=10), ev.TypeText("a"))
    assert state.scroll == 0


def test_back_from_directory():
    state, _ = run(at_directory("ab"), ev.GoHome())
    assert state.screen is Screen.HOME and state.query == ""


# -- calls ---------------------------------------------------------------------------------
def test_call_starts_ringing_with_a_timeout():
    state, effects = run(at_directory("smi"), ev.CallResident("r01", "Olivia Smith"), now=2)
    assert state.screen is Screen.CALLING and state.resident_name == "Olivia Smith"
    assert effects == [fx.StartCall("call-1", "r01")]
    assert state.deadline == 32


def test_call_while_cloud_offline_says_unavailable():
    state, effects = run(replace(at_directory(), cloud_online=False), ev.CallResident("r01", "Olivia Smith"))
    assert state.screen is Screen.CALL_ENDED and state.message == "unavailable" and effects == []


def test_ringing_then_accept_then_timer():
    state, _ = run(calling(), ev.CallRinging("call-1"))
    assert state.ringing and state.ring_via == "app"
    state, _ = run(state, ev.CallAccepted("call-1", "phone-a"), now=4)
    assert state.screen is Screen.IN_CALL and state.device == "phone-a" and state.deadline == 184


def test_ringing_a_phone_line_is_shown_as_such():
    state, _ = run(calling(), ev.CallRinging("call-1", via="phone"))
    assert state.ringing and state.ring_via == "phone"


def test_ring_timeout_is_no_answer_and_stops_the_call():
    state, effects = run(calling(), ev.Tick(), now=30)
    assert state.screen is Screen.CALL_ENDED and state.message == "no_answer"
    assert effects == [fx.StopCall("call-1", "no_answer")]


def test_declined_then_call_again_places_a_new_call():
    state, _ = run(calling(), ev.CallDeclined("call-1"))
    assert state.screen is Screen.CALL_ENDED and state.message == "declined"
    state, effects = run(state, ev.CallAgain(), now=5)
    assert state.screen is Screen.CALLING and state.call_id == "call-2"
    assert effects == [fx.StartCall("call-2", "r01")]


def test_call_ended_message_returns_home():
    state, _ = run(calling(), ev.CallDeclined("call-1"), now=1)
    state, _ = run(state, ev.Tick(), now=7)
    assert state.screen is Screen.HOME and state.resident_id == ""


def test_back_from_call_ended_keeps_the_search():
    state, _ = run(calling(), ev.CallDeclined("call-1"), ev.OpenDirectory())
    assert state.screen is Screen.DIRECTORY and state.query == "smi"


def test_visitor_cancels_while_ringing():
    state, effects = run(calling(), ev.CancelCall())
    assert state.screen is Screen.DIRECTORY
    assert effects == [fx.StopCall("call-1", "cancelled")]


def test_resident_hangs_up():
    state, effects = run(in_call(), ev.CallEnded("call-1"))
    assert state.screen is Screen.CALL_ENDED and state.message == "hung_up" and effects == []


def test_visitor_ends_the_call():
    state, effects = run(in_call(), ev.EndCall())
    assert state.screen is Screen.HOME
    assert effects == [fx.StopCall("call-1", "visitor_hung_up")]


def test_call_time_limit():
    state, effects = run(in_call(), ev.Tick(), now=3 + 180)
    assert state.screen is Screen.CALL_ENDED and state.message == "time_limit"
    assert effects == [fx.StopCall("call-1", "time_limit")]


def test_call_failure_while_ringing():
    state, _ = run(calling(), ev.CallFailed("call-1", "unavailable"))
    assert state.screen is Screen.CALL_ENDED and state.message == "unavailable"


def test_events_for_another_call_are_ignored():
    before = calling()
    for event in (ev.CallAccepted("call-9", "x"), ev.CallDeclined("call-9"), ev.CallRinging("call-9"),
                  ev.CallEnded("call-9"), ev.CallFailed("call-9")):
        state, effects = run(before, event)
        assert state == before
        assert kinds(effects) == [fx.Ignored]


def test_home_is_not_reachable_during_a_call():
    state, effects = run(in_call(), ev.GoHome())
    assert state.screen is Screen.IN_CALL and kinds(effects) == [fx.Ignored]


# -- the door --------------------------------------------------------------------------------
def test_open_door_from_the_device_in_the_call():
    state, effects = run(in_call(), ev.DoorOpenRequested("call", "", "call-1", "phone-a"), now=10)
    assert state.screen is Screen.IN_CALL and kinds(effects) == [fx.PulseDoor]
    state, effects = run(state, RELEASED, now=10)
    assert state.screen is Screen.DOOR_OPEN
    assert without_outcomes(effects) == [fx.LogAccess(True, "call", "Olivia Smith", release_id="1"),
                                         fx.StopCall("call-1", "door_opened")]
    state, _ = run(state, ev.Tick(), now=16)
    assert state.screen is Screen.HOME


@pytest.mark.parametrize("call_id,device", [("call-1", "phone-b"), ("call-7", "phone-a")])
def test_open_door_refused_from_a_device_not_in_the_call(call_id, device):
    before = in_call()
    state, effects = run(before, ev.DoorOpenRequested("call", "Mallory", call_id, device))
    assert state == before
    assert effects[0] == fx.LogAccess(False, "call", "Mallory", "not_in_call")
    assert fx.PulseDoor(5) not in effects


def test_open_door_by_call_while_only_ringing_is_refused():
    state, effects = run(calling(), ev.DoorOpenRequested("call", "", "call-1", "phone-a"))
    assert state.screen is Screen.CALLING and fx.PulseDoor(5) not in effects


def test_remote_unlock_from_home_shows_door_open():
    state, effects = run(online(), ev.DoorOpenRequested("app", "Olivia Smith"), RELEASED)
    assert state.screen is Screen.DOOR_OPEN and pulse(effects).seconds == 5
    assert without_outcomes(effects) == [fx.LogAccess(True, "app", "Olivia Smith", release_id="1")]


def test_exit_button_opens_without_changing_the_screen():
    before = at_directory("a")
    state, effects = run(before, ev.DoorOpenRequested("exit"), RELEASED)
    assert state.screen is Screen.DIRECTORY and pulse(effects).seconds == 5
    assert without_outcomes(effects) == [fx.LogAccess(True, "exit", "", release_id="1")]


def test_api_unlock_during_a_call_keeps_the_call_on_screen():
    state, effects = run(in_call(), ev.DoorOpenRequested("api", "HIL rig"), RELEASED)
    assert state.screen is Screen.IN_CALL and pulse(effects).seconds == 5


# -- QR credentials ----------------------------------------------------------------------------
def granted(name="Olivia Smith"):
    return ev.CredentialChecked(True, "", "r01", name, "resident", "cred-1")


def test_valid_credential_opens_and_greets():
    state, effects = run(online(), granted(), RELEASED, now=1)
    assert state.screen is Screen.ACCESS_GRANTED and state.message == "Olivia Smith"
    assert without_outcomes(effects) == [fx.LogAccess(True, "qr", "Olivia Smith", "", "cred-1", release_id="1")]
    state, _ = run(state, ev.Tick(), now=7)
    assert state.screen is Screen.HOME


def test_refused_credential_shows_the_reason():
    state, effects = run(online(), ev.CredentialChecked(False, "expired", "v1", "Guest", "visitor", "cred-2"))
    assert state.screen is Screen.ACCESS_DENIED and state.message == "expired"
    assert effects == [fx.LogAccess(False, "qr", "Guest", "expired", "cred-2")]


def test_refused_credential_during_a_call_is_logged_but_does_not_interrupt():
    before = in_call()
    state, effects = run(before, ev.CredentialChecked(False, "revoked"))
    assert state == before and kinds(effects) == [fx.LogAccess]


def test_valid_credential_while_ringing_cancels_the_call():
    state, effects = run(calling(), granted(), RELEASED)
    assert state.screen is Screen.ACCESS_GRANTED
    assert effects[-1] == fx.StopCall("call-1", "access_granted") and pulse(effects).seconds == 5


def test_valid_credential_while_the_door_is_open_pulses_again():
    state, _ = run(online(), granted("A"), RELEASED)
    state, effects = run(state, granted("B"), now=2)        # released already: nothing new to confirm
    assert state.message == "B" and pulse(effects).seconds == 5 and state.deadline == 8
    assert fx.LogAccess(True, "qr", "B", "", "cred-1", release_id="2") in effects


# -- relay faults and the cloud link ---------------------------------------------------------------
def test_relay_fault_puts_home_out_of_order_and_recovers():
    state, _ = run(online(), hw.RelayFaulted("Modbus board does not answer"))
    assert state.screen is Screen.OUT_OF_ORDER and state.door_fault
    state, _ = run(state, ev.OpenDirectory())
    assert state.screen is Screen.DIRECTORY          # calls keep working
    state, _ = run(state, ev.GoHome())
    assert state.screen is Screen.OUT_OF_ORDER
    state, _ = run(state, hw.RelayRecovered())
    assert state.screen is Screen.HOME and state.door_fault == ""


def test_relay_fault_does_not_interrupt_a_call():
    state, _ = run(in_call(), hw.RelayFaulted("x"))
    assert state.screen is Screen.IN_CALL and state.door_fault == "x"


def test_cloud_link_flag():
    state, _ = run(initial_state(), ev.CloudLink(True))
    assert state.cloud_online
    state, _ = run(state, ev.CloudLink(False))
    assert not state.cloud_online


# -- events in the wrong state ---------------------------------------------------------------------
WRONG_STATE_CASES = [
    (initial_state(), ev.TypeText("a")), (initial_state(), ev.Backspace()), (initial_state(), ev.ClearQuery()),
    (initial_state(), ev.Scroll(1)), (initial_state(), ev.CallResident("r1", "x")), (initial_state(), ev.CancelCall()),
    (initial_state(), ev.EndCall()), (initial_state(), ev.CallAgain()),
    (initial_state(), ev.CallAccepted("call-1", "d")), (initial_state(), ev.CallDeclined("call-1")),
    (initial_state(), ev.CallEnded("call-1")), (initial_state(), ev.CallRinging("call-1")),
    (at_directory(), ev.CancelCall()), (at_directory(), ev.EndCall()), (at_directory(), ev.CallAgain()),
    (calling(), ev.OpenDirectory()), (calling(), ev.TypeText("a")), (calling(), ev.EndCall()),
    (calling(), ev.CallResident("r2", "y")), (calling(), ev.GoHome()),
    (in_call(), ev.CancelCall()), (in_call(), ev.CallAccepted("call-1", "d2")), (in_call(), ev.OpenDirectory()),
    (in_call(), ev.CallAgain()),
]


@pytest.mark.parametrize("state,event", WRONG_STATE_CASES, ids=lambda v: type(v).__name__)
def test_event_in_the_wrong_state_is_ignored_and_reported(state, event):
    after, effects = step(state, event, 1.0, RULES)
    assert after == state
    assert kinds(effects) == [fx.Ignored]


def test_an_unknown_event_type_is_ignored():
    class Strange(ev.Event):
        pass
    state, effects = step(initial_state(), Strange(), 0, RULES)
    assert state == initial_state() and kinds(effects) == [fx.Ignored]


def test_tick_before_any_deadline_does_nothing():
    state, effects = run(initial_state(), ev.Tick(), now=1e6)
    assert state == initial_state() and effects == []
