"""Whom a call rings and in what order (panel/core/routing.py), and the state machine
ringing a plan step by step with a fake clock."""

from dataclasses import replace

import pytest

from panel.core import effects as fx
from panel.core import events as ev
from panel.core import routing
from panel.core.machine import Rules, Screen, initial_state, step
from panel.core.routing import ContactError, PlanStep, Step, Target

RULES = Rules(ring_timeout_seconds=30, message_seconds=6)
APP = Target()
OLIVIA_SIP = Target("sip", "sip:olivia@pbx", "sip")
OLIVIA_PHONE = Target("phone", "+442079460000", "sip")


# -- contacts as written ---------------------------------------------------------------
def test_text_and_json_forms_mean_the_same_steps():
    steps = routing.parse("app & sip 20, phone 30s")
    assert steps == (Step(("app", "sip"), 20.0), Step(("phone",), 30.0))
    assert routing.parse([{"ring": ["app", "sip"], "seconds": 20}, {"ring": "phone", "seconds": 30}]) == steps
    assert routing.parse(routing.text(steps)) == steps
    assert routing.parse(routing.to_json(steps)) == steps
    assert routing.parse("") == routing.parse([]) == ()


def test_explicit_targets_and_numbers_are_cleaned():
    assert routing.parse("sip:front@10.0.0.5:5060 & tel:+44(20)7946-0000") == (
        Step(("sip:front@10.0.0.5:5060", "tel:+442079460000")),)


@pytest.mark.parametrize("bad, says", [
    ("app, , phone", "rings nothing"), ("email 20", "not something to ring"), ("app 0", "ring time"),
    ("app 9000", "ring time"), ("tel:call-me", "not a phone number"), (42, "not int"),
    ([{"ring": []}], "needs \"ring\""), ([{"ring": ["app"], "secs": 3}], "'secs'"),
    (", ".join(["app"] * 7), "at most 6"), ("app & sip & phone & tel:123 & sip:a@b", "at most 4"),
])
def test_a_bad_contact_says_what_is_wrong(bad, says):
    with pytest.raises(ContactError, match=says.replace("(", r"\(").replace("[", r"\[")):
        routing.parse(bad)


# -- the plan for a resident ----------------------------------------------------------------
def test_the_plan_names_concrete_targets_and_the_link_that_carries_each():
    contact = routing.parse("app & sip 20, phone")
    assert routing.plan(contact, sip="sip:olivia@pbx", phone="+44 20 7946 0000", sip_calls=True, trunk=True) == (
        PlanStep((APP, OLIVIA_SIP), 20.0), PlanStep((OLIVIA_PHONE,)))
    # No trunk: the number goes to the cloud; no SIP URI: that target is left out.
    assert routing.plan(contact, phone="+44 20 7946 0000") == (
        PlanStep((APP,), 20.0), PlanStep((Target("phone", "+442079460000", "cloud"),)))
    # A step with nothing the resident has is left out altogether.
    assert routing.plan(routing.parse("sip 20, app")) == (PlanStep((APP,)),)


def test_the_residents_contact_wins_then_the_propertys_then_the_built_in():
    default = routing.parse("app 15, phone")
    mine = routing.parse("sip")
    assert routing.plan(mine, default, sip="sip:o@p", phone="123456", sip_calls=True) == (
        PlanStep((Target("sip", "sip:o@p", "sip"),)),)
    assert routing.plan((), default, phone="123456") == (PlanStep((APP,), 15.0),
                                                           PlanStep((Target("phone", "123456", "cloud"),)))
    # Built in: a resident with a SIP URI on a panel that makes SIP calls rings it, the others the app.
    assert routing.plan((), (), sip="sip:o@p", sip_calls=True) == (PlanStep((Target("sip", "sip:o@p", "sip"),)),)
    assert routing.plan((), (), sip="sip:o@p", sip_calls=False) == (PlanStep((APP,)),)


# -- the state machine ringing a plan --------------------------------------------------------
PLAN = (PlanStep((APP,), 20.0), PlanStep((OLIVIA_PHONE,), 40.0))


def run(state, *events, now=0.0):
    effects = []
    for e in events:
        state, out = step(state, e, now, RULES)
        effects += out
    return state, effects


def calling(plan=PLAN, cloud=True, sip=True):
    state = replace(initial_state(0), cloud_online=cloud, sip_online=sip)
    return run(state, ev.OpenDirectory(), ev.CallResident("r01", "Olivia Smith", plan))


def test_no_answer_on_the_app_then_the_phone_rings_and_its_key_opens_logged_as_phone():
    state, effects = calling()
    assert effects == [fx.StartCall("call-1", "r01", APP)]
    assert state.deadline == 20.0
    state, effects = run(state, ev.CallRinging("call-1", "app"), now=1)
    assert state.ringing and state.ring_via == "app"
    state, effects = run(state, ev.Tick(), now=20)            # the app's 20 s are up
    assert effects == [fx.StopCall("call-1", "no_answer"), fx.StartCall("call-1.2", "r01", OLIVIA_PHONE)]
    assert (state.screen, state.step, state.ringing, state.deadline) == (Screen.CALLING, 1, False, 60.0)
    assert state.call_id == "call-1"                          # the same call, on its next step
    state, _ = run(state, ev.CallRinging("call-1", "app"), now=21)     # late news of the first leg
    assert not state.ringing
    state, _ = run(state, ev.CallRinging("call-1.2", "phone"), ev.CallAccepted("call-1.2", "sip:me@phone"), now=22)
    assert state.screen is Screen.IN_CALL
    # Only the leg that answered opens: not the first leg's id, not another device.
    for call_id, device in (("call-1", "sip:me@phone"), ("call-1.2", "phone-a")):
        _, effects = run(state, ev.DoorOpenRequested("call", "", call_id, device), now=23)
        assert not [e for e in effects if isinstance(e, fx.PulseDoor)]
    state, effects = run(state, ev.DoorOpenRequested("call", "", "call-1.2", "sip:me@phone"), now=23)
    [pulse] = [e for e in effects if isinstance(e, fx.PulseDoor)]
    assert (pulse.release.method, pulse.release.leg) == ("phone", "call-1.2")


def test_a_step_whose_legs_all_fail_gives_way_to_the_next_at_once():
    state, _ = calling()
    state, effects = run(state, ev.CallFailed("call-1", "unavailable"), now=2)     # no device signed in
    assert effects == [fx.StartCall("call-1.2", "r01", OLIVIA_PHONE)]
    assert state.deadline == 42.0
    state, effects = run(state, ev.CallFailed("call-1.2", "unavailable"), now=3)
    assert (state.screen, state.message, effects) == (Screen.CALL_ENDED, "unavailable", [])


def test_parallel_ring_first_answer_wins_the_others_are_stopped():
    state, effects = calling((PlanStep((APP, OLIVIA_SIP)),))
    assert effects == [fx.StartCall("call-1", "r01", APP), fx.StartCall("call-1.2", "r01", OLIVIA_SIP)]
    state, _ = run(state, ev.CallFailed("call-1", "unavailable"))       # one leg gone: the other rings on
    assert state.screen is Screen.CALLING and [leg.id for leg in state.legs] == ["call-1.2"]
    state, effects = calling((PlanStep((APP, OLIVIA_SIP)),))
    state, effects = run(state, ev.CallAccepted("call-1.2", "sip:olivia@desk"), now=3)
    assert effects == [fx.StopCall("call-1", "answered_elsewhere")]
    state, effects = run(state, ev.CallAccepted("call-1", "phone-a"), now=4)     # too late
    assert state.device == "sip:olivia@desk" and isinstance(effects[0], fx.Ignored)
    state, effects = run(state, ev.DoorOpenRequested("call", "", "call-1.2", "sip:olivia@desk"), now=5)
    assert [e.release.method for e in effects if isinstance(e, fx.PulseDoor)] == ["sip"]


def test_cancel_and_decline_stop_every_leg():
    state, _ = calling((PlanStep((APP, OLIVIA_SIP)),))
    _, effects = run(state, ev.CancelCall())
    assert effects == [fx.StopCall("call-1", "cancelled"), fx.StopCall("call-1.2", "cancelled")]
    state, effects = run(state, ev.CallDeclined("call-1"))
    assert (state.message, effects) == ("declined", [fx.StopCall("call-1.2", "declined")])


def test_only_targets_on_a_link_that_is_up_ring():
    state, effects = calling(cloud=False)       # the cloud is down: straight to the phone
    assert effects == [fx.StartCall("call-1", "r01", OLIVIA_PHONE)] and state.step == 1
    state, effects = calling((PlanStep((APP,)),), cloud=False, sip=True)
    assert (state.screen, state.message, effects) == (Screen.CALL_ENDED, "unavailable", [])
    assert replace(initial_state(), sip_online=True).calls_available


def test_call_again_rings_the_plan_from_its_first_step():
    state, _ = calling()
    state, _ = run(state, ev.CallDeclined("call-1"), ev.CallAgain(), now=5)
    assert state.screen is Screen.CALLING and state.step == 0 and state.call_id == "call-2"
