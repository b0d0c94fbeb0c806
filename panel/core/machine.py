"""The panel's rules: step(state, event, now, rules) -> (state, effects).

Pure: no I/O, no clock of its own (`now` is given, in seconds of a monotonic clock).
Every rule of what the panel does is reached from here: the screens and calls in
this file, the door's (contact, strike, alarms) in door.py, so one engine answers
"what happens when ...". Events that make no sense on the current screen come back as an Ignored
effect and leave the state as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from hal import events as hw

from . import door
from . import effects as fx
from . import events as ev


class Screen(StrEnum):
    HOME = "home"
    DIRECTORY = "directory"
    CALLING = "calling"
    IN_CALL = "in_call"
    CALL_ENDED = "call_ended"       # declined, no answer, unavailable, hung up
    DOOR_OPEN = "door_open"
    ACCESS_GRANTED = "access_granted"
    ACCESS_DENIED = "access_denied"
    OUT_OF_ORDER = "out_of_order"   # home while the door relay is faulted: calls still work


HOME_SCREENS = (Screen.HOME, Screen.OUT_OF_ORDER)
MESSAGE_SCREENS = (Screen.CALL_ENDED, Screen.DOOR_OPEN, Screen.ACCESS_GRANTED, Screen.ACCESS_DENIED)
CALL_SCREENS = (Screen.CALLING, Screen.IN_CALL)
QUERY_LIMIT = 40


@dataclass(frozen=True)
class Rules:
    """The timings the rules depend on (from config)."""
    idle_seconds: float = 30.0
    message_seconds: float = 6.0
    ring_timeout_seconds: float = 30.0
    max_call_seconds: float = 180.0
    pulse_seconds: float = 5.0
    held_open_seconds: float = 30.0


@dataclass(frozen=True)
class PanelState:
    screen: Screen = Screen.HOME
    entered_at: float = 0.0
    deadline: float | None = None       # when a Tick moves the panel on
    query: str = ""                     # directory search text
    scroll: int = 0                     # first result row shown
    resident_id: str = ""               # the resident being called / in the call
    resident_name: str = ""
    call_id: str = ""
    call_seq: int = 0                   # makes call ids unique within a run
    ringing: bool = False
    ring_via: str = ""                  # "app" or "phone" once ringing
    device: str = ""                    # the device that accepted the call
    message: str = ""                   # reason code or holder name on message screens
    door_fault: str = ""                # non-empty while the relay is unreachable
    cloud_online: bool = False
    # The door (core/door.py): what the strike and the contact last said.
    door_released: bool = False
    door_locked_at: float = float("-inf")   # when the strike last relocked after a release
    door_open: bool | None = None           # the contact; None until it reports
    door_open_since: float | None = None
    held_deadline: float | None = None      # "held open" is raised at this time unless closed

    @property
    def wake_at(self) -> float | None:
        """When the shell must send a Tick: the screen's deadline or the door's."""
        times = [t for t in (self.deadline, self.held_deadline) if t is not None]
        return min(times) if times else None

    @property
    def home(self) -> Screen:
        return Screen.OUT_OF_ORDER if self.door_fault else Screen.HOME


Result = tuple[PanelState, list[fx.Effect]]


def initial_state(now: float = 0.0) -> PanelState:
    return PanelState(entered_at=now)


def step(state: PanelState, event: ev.Event, now: float, rules: Rules = Rules()) -> Result:
    handler = _HANDLERS.get(type(event))
    if handler is None:
        return _ignore(state, event, "unknown event")
    return handler(state, event, now, rules)


# -- helpers ------------------------------------------------------------------------
def _go(state: PanelState, screen: Screen, now: float, deadline: float | None, **changes) -> PanelState:
    return replace(state, screen=screen, entered_at=now, deadline=deadline, **changes)


def _go_home(state: PanelState, now: float) -> PanelState:
    return _go(state, state.home, now, None, query="", scroll=0, resident_id="",
               resident_name="", call_id="", ringing=False, ring_via="", device="", message="")


def _message(state: PanelState, screen: Screen, now: float, rules: Rules, message: str) -> PanelState:
    return _go(state, screen, now, now + rules.message_seconds, message=message,
               call_id="", ringing=False, ring_via="", device="")


def _ignore(state: PanelState, event: ev.Event, why: str = "not expected on this screen") -> Result:
    return state, [fx.Ignored(type(event).__name__, state.screen.value, why)]


def _stop_active_call(state: PanelState, reason: str) -> list[fx.Effect]:
    return [fx.StopCall(state.call_id, reason)] if state.screen in CALL_SCREENS and state.call_id else []


# -- handlers -----------------------------------------------------------------------
def _tick(state: PanelState, event: ev.Tick, now: float, rules: Rules) -> Result:
    state, alarms = door.check_held(state, now)
    if state.deadline is None or now < state.deadline:
        return state, alarms
    if state.screen is Screen.CALLING:
        return (_message(state, Screen.CALL_ENDED, now, rules, "no_answer"),
                [*alarms, fx.StopCall(state.call_id, "no_answer")])
    if state.screen is Screen.IN_CALL:
        return (_message(state, Screen.CALL_ENDED, now, rules, "time_limit"),
                [*alarms, fx.StopCall(state.call_id, "time_limit")])
    return _go_home(state, now), alarms


def _touched(state: PanelState, event: ev.Touched, now: float, rules: Rules) -> Result:
    if state.screen is Screen.DIRECTORY:
        return replace(state, deadline=now + rules.idle_seconds), []
    return state, []


def _open_directory(state: PanelState, event: ev.OpenDirectory, now: float, rules: Rules) -> Result:
    if state.screen in HOME_SCREENS or state.screen in MESSAGE_SCREENS:
        keep = state.query if state.screen is Screen.CALL_ENDED else ""
        return _go(state, Screen.DIRECTORY, now, now + rules.idle_seconds, query=keep, scroll=0,
                   message="", call_id="", ringing=False, device=""), []
    return _ignore(state, event)


def _go_home_event(state: PanelState, event: ev.GoHome, now: float, rules: Rules) -> Result:
    if state.screen in CALL_SCREENS:
        return _ignore(state, event, "a call is in progress: cancel or end it first")
    return _go_home(state, now), []


def _edit_query(state: PanelState, event: ev.Event, now: float, rules: Rules) -> Result:
    if state.screen is not Screen.DIRECTORY:
        return _ignore(state, event)
    if isinstance(event, ev.TypeText):
        query = (state.query + event.text)[:QUERY_LIMIT]
    elif isinstance(event, ev.Backspace):
        query = state.query[:-1]
    else:
        query = ""
    return replace(state, query=query, scroll=0, deadline=now + rules.idle_seconds), []


def _scroll(state: PanelState, event: ev.Scroll, now: float, rules: Rules) -> Result:
    if state.screen is not Screen.DIRECTORY:
        return _ignore(state, event)
    scroll = max(0, min(state.scroll + event.rows, event.last))
    return replace(state, scroll=scroll, deadline=now + rules.idle_seconds), []


def _call_resident(state: PanelState, event: ev.CallResident, now: float, rules: Rules) -> Result:
    if state.screen is not Screen.DIRECTORY:
        return _ignore(state, event)
    return _place_call(state, event.resident_id, event.name, now, rules)


def _place_call(state: PanelState, resident_id: str, name: str, now: float, rules: Rules) -> Result:
    state = replace(state, resident_id=resident_id, resident_name=name)
    if not state.cloud_online:
        return _message(state, Screen.CALL_ENDED, now, rules, "unavailable"), []
    seq = state.call_seq + 1
    call_id = f"call-{seq}"
    new = _go(state, Screen.CALLING, now, now + rules.ring_timeout_seconds,
              call_id=call_id, call_seq=seq, ringing=False, device="", message="")
    return new, [fx.StartCall(call_id, resident_id)]


def _call_again(state: PanelState, event: ev.CallAgain, now: float, rules: Rules) -> Result:
    if state.screen is not Screen.CALL_ENDED or not state.resident_id:
        return _ignore(state, event)
    return _place_call(state, state.resident_id, state.resident_name, now, rules)


def _cancel_call(state: PanelState, event: ev.CancelCall, now: float, rules: Rules) -> Result:
    if state.screen is not Screen.CALLING:
        return _ignore(state, event)
    back = _go(state, Screen.DIRECTORY, now, now + rules.idle_seconds, call_id="",
               ringing=False, device="")
    return back, [fx.StopCall(state.call_id, "cancelled")]


def _end_call(state: PanelState, event: ev.EndCall, now: float, rules: Rules) -> Result:
    if state.screen is not Screen.IN_CALL:
        return _ignore(state, event)
    return _go_home(state, now), [fx.StopCall(state.call_id, "visitor_hung_up")]


def _for_this_call(state: PanelState, event, *screens: Screen) -> bool:
    return state.screen in screens and event.call_id == state.call_id


def _call_ringing(state: PanelState, event: ev.CallRinging, now: float, rules: Rules) -> Result:
    if not _for_this_call(state, event, Screen.CALLING):
        return _ignore(state, event, "not the call being placed")
    return replace(state, ringing=True, ring_via=event.via), []


def _call_accepted(state: PanelState, event: ev.CallAccepted, now: float, rules: Rules) -> Result:
    if not _for_this_call(state, event, Screen.CALLING):
        return _ignore(state, event, "not the call being placed")
    return _go(state, Screen.IN_CALL, now, now + rules.max_call_seconds, device=event.device,
               ringing=False), []


def _call_declined(state: PanelState, event: ev.CallDeclined, now: float, rules: Rules) -> Result:
    if not _for_this_call(state, event, Screen.CALLING):
        return _ignore(state, event, "not the call being placed")
    return _message(state, Screen.CALL_ENDED, now, rules, "declined"), []


def _call_gone(state: PanelState, event: ev.CallEnded | ev.CallFailed, now: float, rules: Rules) -> Result:
    if not _for_this_call(state, event, *CALL_SCREENS):
        return _ignore(state, event, "not the active call")
    return _message(state, Screen.CALL_ENDED, now, rules, event.reason), []


def _door_open_requested(state: PanelState, event: ev.DoorOpenRequested, now: float, rules: Rules) -> Result:
    pulse = fx.PulseDoor(rules.pulse_seconds)
    if event.method == "call":
        # Only the device holding the active call may open the door, and only while it holds it.
        if not (state.screen is Screen.IN_CALL and event.call_id == state.call_id
                and event.device == state.device):
            return state, [fx.LogAccess(False, "call", event.who, "not_in_call"),
                           fx.Ignored(type(event).__name__, state.screen.value, "device not in the active call")]
        who = event.who or state.resident_name
        return (_message(state, Screen.DOOR_OPEN, now, rules, who),
                [pulse, fx.LogAccess(True, "call", who), fx.StopCall(state.call_id, "door_opened")])
    log = fx.LogAccess(True, event.method, event.who)
    if event.method == "exit" or state.screen in CALL_SCREENS:
        # The exit button is inside the building, and a call on screen stays on screen.
        return state, [pulse, log]
    return _message(state, Screen.DOOR_OPEN, now, rules, event.who), [pulse, log]


def _credential_checked(state: PanelState, event: ev.CredentialChecked, now: float, rules: Rules) -> Result:
    if event.ok:
        effects = _stop_active_call(state, "access_granted")
        effects += [fx.PulseDoor(rules.pulse_seconds),
                    fx.LogAccess(True, event.method, event.holder_name or event.holder_id, "", event.credential_id)]
        return _message(state, Screen.ACCESS_GRANTED, now, rules, event.holder_name), effects
    log = fx.LogAccess(False, event.method, event.holder_name or event.holder_id, event.reason, event.credential_id)
    if state.screen in CALL_SCREENS:
        return state, [log]             # a refused code must not interrupt a call
    return _message(state, Screen.ACCESS_DENIED, now, rules, event.reason), [log]


def _door_out_of_order(state: PanelState, error: str, now: float) -> PanelState:
    new = replace(state, door_fault=error or "relay fault")
    if state.screen is Screen.HOME:
        new = replace(new, screen=Screen.OUT_OF_ORDER, entered_at=now)
    return new


def _relay_faulted(state: PanelState, event: hw.RelayFaulted, now: float, rules: Rules) -> Result:
    return _door_out_of_order(state, event.error, now), [fx.RaiseAlarm("relay_fault", "relay", event.error)]


def _release_failed(state: PanelState, event: ev.ReleaseFailed, now: float, rules: Rules) -> Result:
    return _door_out_of_order(state, event.error, now), []


def _relay_recovered(state: PanelState, event: hw.RelayRecovered, now: float, rules: Rules) -> Result:
    new = replace(state, door_fault="")
    if state.screen is Screen.OUT_OF_ORDER:
        new = replace(new, screen=Screen.HOME, entered_at=now)
    return new, []


def _cloud_link(state: PanelState, event: ev.CloudLink, now: float, rules: Rules) -> Result:
    return replace(state, cloud_online=event.online), []


_HANDLERS = {
    ev.Tick: _tick,
    ev.Touched: _touched,
    ev.OpenDirectory: _open_directory,
    ev.GoHome: _go_home_event,
    ev.TypeText: _edit_query,
    ev.Backspace: _edit_query,
    ev.ClearQuery: _edit_query,
    ev.Scroll: _scroll,
    ev.CallResident: _call_resident,
    ev.CallAgain: _call_again,
    ev.CancelCall: _cancel_call,
    ev.EndCall: _end_call,
    ev.CallRinging: _call_ringing,
    ev.CallAccepted: _call_accepted,
    ev.CallDeclined: _call_declined,
    ev.CallEnded: _call_gone,
    ev.CallFailed: _call_gone,
    ev.DoorOpenRequested: _door_open_requested,
    ev.CredentialChecked: _credential_checked,
    ev.ReleaseFailed: _release_failed,
    hw.RelayFaulted: _relay_faulted,
    hw.RelayRecovered: _relay_recovered,
    ev.CloudLink: _cloud_link,
    **door.HANDLERS,
}
