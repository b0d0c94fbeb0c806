"""The panel's rules: step(state, event, now, rules) -> (state, effects).

Pure: no I/O, no clock of its own (`now` is given, in seconds of a monotonic clock).
Every rule of what the panel does is reached from here: the screens and calls in
this file, the door's (contact, strike, alarms) in door.py, so one engine answers
"what happens when ...". Events that make no sense on the current screen come back
as an Ignored effect and leave the state as it was.

The door outcome is the truth: a release the rules grant (a key, the resident, the
exit button, the API) is decided as a PulseDoor carrying a `Release`, and only the
relay's answer settles it: StrikeReleased -> logged granted, "Door open" on screen, the
resident told ok; ReleaseFailed, or no answer by the release's deadline
(`Rules.confirm_seconds`) -> logged `granted: false, reason: "door_not_released"`, the
door-fault screen, the resident told `relay_fault` (docs/door-release.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from hal import events as hw

from . import door
from . import effects as fx
from . import events as ev
from .routing import APP_ONLY, PlanStep, Target


class Screen(StrEnum):
    HOME = "home"
    DIRECTORY = "directory"
    CALLING = "calling"
    IN_CALL = "in_call"
    CALL_ENDED = "call_ended"       # declined, no answer, unavailable, hung up
    DOOR_OPEN = "door_open"
    ACCESS_GRANTED = "access_granted"
    ACCESS_DENIED = "access_denied"
    DOOR_FAULT = "door_fault"       # granted, but the relay did not confirm the release
    OUT_OF_ORDER = "out_of_order"   # home while the door relay is faulted: calls still work


HOME_SCREENS = (Screen.HOME, Screen.OUT_OF_ORDER)
MESSAGE_SCREENS = (Screen.CALL_ENDED, Screen.DOOR_OPEN, Screen.ACCESS_GRANTED, Screen.ACCESS_DENIED,
                   Screen.DOOR_FAULT)
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
    confirm_seconds: float = 3.0        # the relay has this long to confirm a release


@dataclass(frozen=True)
class Release:
    """A release the rules decided, waiting for the relay to confirm it (until `deadline`)."""
    id: str                             # unique across runs: journal and access log key
    method: str
    who: str = ""
    credential_id: str = ""
    deadline: float = 0.0
    screen: Screen | None = None        # the message screen once the door is open; None: the screen stays
    message: str = ""                   # that screen's message (the holder's name)
    call_id: str = ""                   # the call that asked, or that a key shown during it ends
    device: str = ""                    # the resident's device that asked (call, app)
    leg: str = ""                       # the leg of the call whose device asked (a resident's Open Door)


@dataclass(frozen=True)
class Leg:
    """One target a call rings: its own id towards the call services (the first leg's is
    the call's id, the others `call-N.k`), and what it rings."""
    id: str
    target: Target


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
    plan: tuple[PlanStep, ...] = ()     # the resident's steps (core/routing.py), kept for Call again
    step: int = 0                       # the step ringing now
    legs: tuple[Leg, ...] = ()          # the step's legs still ringing; in a call, the one that answered
    leg_seq: int = 0
    ringing: bool = False
    ring_via: str = ""                  # "app", "sip" or "phone" once ringing
    device: str = ""                    # the device that accepted the call
    message: str = ""                   # reason code or holder name on message screens
    door_fault: str = ""                # non-empty while the relay is unreachable
    cloud_online: bool = False          # the cloud's link: the app (and the cloud's phone line) reachable
    sip_online: bool = False            # a SIP account registered, or one for direct calls
    # The door (core/door.py): what the strike and the contact last said.
    door_released: bool = False
    door_locked_at: float = float("-inf")   # when the strike last relocked after a release
    door_open: bool | None = None           # the contact; None until it reports
    door_open_since: float | None = None
    held_deadline: float | None = None      # "held open" is raised at this time unless closed
    # Releases decided and not yet confirmed by the relay (oldest first).
    releases: tuple[Release, ...] = ()
    release_seq: int = 0
    boot: str = ""                          # this run's prefix of release ids (the shell draws it)

    @property
    def wake_at(self) -> float | None:
        """When the shell must send a Tick: the screen's deadline, the door's, a release's."""
        times = [t for t in (self.deadline, self.held_deadline) if t is not None]
        times += [r.deadline for r in self.releases]
        return min(times) if times else None

    @property
    def calls_available(self) -> bool:
        return self.cloud_online or self.sip_online

    @property
    def links(self) -> frozenset[str]:
        """The links up: which targets can be rung now."""
        return frozenset(k for k, up in (("cloud", self.cloud_online), ("sip", self.sip_online)) if up)

    @property
    def held_leg(self) -> Leg | None:
        """In a call: the leg that answered (only its device may open the door)."""
        return self.legs[0] if self.screen is Screen.IN_CALL and self.legs else None

    @property
    def home(self) -> Screen:
        return Screen.OUT_OF_ORDER if self.door_fault else Screen.HOME


Result = tuple[PanelState, list[fx.Effect]]


def initial_state(now: float = 0.0, boot: str = "") -> PanelState:
    return PanelState(entered_at=now, boot=boot)


def step(state: PanelState, event: ev.Event, now: float, rules: Rules = Rules()) -> Result:
    handler = _HANDLERS.get(type(event))
    if handler is None:
        return _ignore(state, event, "unknown event")
    return handler(state, event, now, rules)


# -- helpers ------------------------------------------------------------------------
def _go(state: PanelState, screen: Screen, now: float, deadline: float | None, **changes) -> PanelState:
    return replace(state, screen=screen, entered_at=now, deadline=deadline, **changes)


def _go_home(state: PanelState, now: float) -> PanelState:
    return _go(state, state.home, now, None, query="", scroll=0, resident_id="", plan=(), legs=(),
               resident_name="", call_id="", ringing=False, ring_via="", device="", message="")


def _message(state: PanelState, screen: Screen, now: float, rules: Rules, message: str) -> PanelState:
    return _go(state, screen, now, now + rules.message_seconds, message=message,
               call_id="", legs=(), ringing=False, ring_via="", device="")


def _stop_legs(state: PanelState, reason: str, keep: str = "") -> list[fx.Effect]:
    return [fx.StopCall(leg.id, reason) for leg in state.legs if leg.id != keep]


def _leg(state: PanelState, event) -> Leg | None:
    """The ringing leg an event from a call service is about (None: not this call's)."""
    if state.screen is not Screen.CALLING:
        return None
    return next((leg for leg in state.legs if leg.id == event.call_id), None)


def _ring_step(state: PanelState, first: int, now: float, rules: Rules) -> Result | None:
    """Ring the first step from `first` on with a target on a link that is up: its legs
    start at once, its ring time runs. None when no step is left."""
    for i in range(first, len(state.plan)):
        targets = [t for t in state.plan[i].targets if t.link in state.links]
        if targets:
            break
    else:
        return None
    n, legs = state.leg_seq, []
    for target in targets:
        n += 1
        legs.append(Leg(state.call_id if n == 1 else f"{state.call_id}.{n}", target))
    seconds = state.plan[i].seconds or rules.ring_timeout_seconds
    new = _go(state, Screen.CALLING, now, now + seconds, step=i, legs=tuple(legs), leg_seq=n,
              ringing=False, ring_via="", device="", message="")
    return new, [fx.StartCall(leg.id, state.resident_id, leg.target) for leg in legs]


def _next_step(state: PanelState, now: float, rules: Rules, reason: str, stops: list[fx.Effect]) -> Result:
    """Nobody answered this step (its time ran out, or every leg failed): the next step, or the end."""
    nxt = _ring_step(state, state.step + 1, now, rules)
    if nxt is None:
        return _message(state, Screen.CALL_ENDED, now, rules, reason), stops
    new, starts = nxt
    return new, [*stops, *starts]


def _ignore(state: PanelState, event: ev.Event, why: str = "not expected on this screen") -> Result:
    return state, [fx.Ignored(type(event).__name__, state.screen.value, why)]


# -- handlers -----------------------------------------------------------------------
def _tick(state: PanelState, event: ev.Tick, now: float, rules: Rules) -> Result:
    state, alarms = door.check_held(state, now)
    late = [r for r in state.releases if now >= r.deadline]
    if late:
        state, settled = _settle(state, late, now, rules, opened=False,
                                 error=f"the relay did not confirm the release within {rules.confirm_seconds:g} s")
        alarms = [*alarms, *settled, *(fx.AbandonRelease(r.id) for r in late)]
    if state.deadline is None or now < state.deadline:
        return state, alarms
    if state.screen is Screen.CALLING:
        new, effects = _next_step(state, now, rules, "no_answer", _stop_legs(state, "no_answer"))
        return new, [*alarms, *effects]
    if state.screen is Screen.IN_CALL:
        return (_message(state, Screen.CALL_ENDED, now, rules, "time_limit"),
                [*alarms, *_stop_legs(state, "time_limit")])
    return _go_home(state, now), alarms


def _touched(state: PanelState, event: ev.Touched, now: float, rules: Rules) -> Result:
    if state.screen is Screen.DIRECTORY:
        return replace(state, deadline=now + rules.idle_seconds), []
    return state, []


def _open_directory(state: PanelState, event: ev.OpenDirectory, now: float, rules: Rules) -> Result:
    if state.screen in HOME_SCREENS or state.screen in MESSAGE_SCREENS:
        keep = state.query if state.screen is Screen.CALL_ENDED else ""
        return _go(state, Screen.DIRECTORY, now, now + rules.idle_seconds, query=keep, scroll=0,
                   message="", call_id="", legs=(), ringing=False, device=""), []
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
    return _place_call(state, event.resident_id, event.name, event.plan or APP_ONLY, now, rules)


def _place_call(state: PanelState, resident_id: str, name: str, plan: tuple[PlanStep, ...], now: float,
                rules: Rules) -> Result:
    """Ring the plan's first step that can be rung now (its targets' links up); none: unavailable."""
    state = replace(state, resident_id=resident_id, resident_name=name, plan=plan)
    seq = state.call_seq + 1
    placed = _ring_step(replace(state, call_id=f"call-{seq}", call_seq=seq, leg_seq=0), 0, now, rules)
    if placed is None:
        return _message(state, Screen.CALL_ENDED, now, rules, "unavailable"), []
    return placed


def _call_again(state: PanelState, event: ev.CallAgain, now: float, rules: Rules) -> Result:
    if state.screen is not Screen.CALL_ENDED or not state.resident_id:
        return _ignore(state, event)
    return _place_call(state, state.resident_id, state.resident_name, state.plan or APP_ONLY, now, rules)


def _cancel_call(state: PanelState, event: ev.CancelCall, now: float, rules: Rules) -> Result:
    if state.screen is not Screen.CALLING:
        return _ignore(state, event)
    back = _go(state, Screen.DIRECTORY, now, now + rules.idle_seconds, call_id="", legs=(),
               ringing=False, device="")
    return back, _stop_legs(state, "cancelled")


def _end_call(state: PanelState, event: ev.EndCall, now: float, rules: Rules) -> Result:
    if state.screen is not Screen.IN_CALL:
        return _ignore(state, event)
    return _go_home(state, now), _stop_legs(state, "visitor_hung_up")


def _call_ringing(state: PanelState, event: ev.CallRinging, now: float, rules: Rules) -> Result:
    if _leg(state, event) is None:
        return _ignore(state, event, "not the call being placed")
    return replace(state, ringing=True, ring_via=event.via), []


def _call_accepted(state: PanelState, event: ev.CallAccepted, now: float, rules: Rules) -> Result:
    """The first to answer takes the call; the step's other legs stop ringing."""
    leg = _leg(state, event)
    if leg is None:
        return _ignore(state, event, "not the call being placed")
    return (_go(state, Screen.IN_CALL, now, now + rules.max_call_seconds, device=event.device, legs=(leg,),
                ringing=False), _stop_legs(state, "answered_elsewhere", keep=leg.id))


def _call_declined(state: PanelState, event: ev.CallDeclined, now: float, rules: Rules) -> Result:
    """The resident said no: the whole call ends, whatever steps were left."""
    leg = _leg(state, event)
    if leg is None:
        return _ignore(state, event, "not the call being placed")
    return _message(state, Screen.CALL_ENDED, now, rules, "declined"), _stop_legs(state, "declined", keep=leg.id)


def _call_gone(state: PanelState, event: ev.CallEnded | ev.CallFailed, now: float, rules: Rules) -> Result:
    held = state.held_leg
    if held is not None and event.call_id == held.id:
        return _message(state, Screen.CALL_ENDED, now, rules, event.reason), []
    leg = _leg(state, event)
    if leg is None:
        return _ignore(state, event, "not the active call")
    # One leg could not ring (no device, not registered, busy line): the others ring on;
    # when none is left the next step rings at once.
    rest = tuple(other for other in state.legs if other.id != leg.id)
    if rest:
        return replace(state, legs=rest), []
    return _next_step(state, now, rules, event.reason, [])


def _door_open_requested(state: PanelState, event: ev.DoorOpenRequested, now: float, rules: Rules) -> Result:
    if event.method == "call":
        # Only the device holding the active call may open the door, and only while it holds it.
        held = state.held_leg
        if not (held is not None and event.call_id == held.id and event.device == state.device):
            return state, [fx.LogAccess(False, "call", event.who, "not_in_call"),
                           fx.Ignored(type(event).__name__, state.screen.value, "device not in the active call")]
        who = event.who or state.resident_name
        # Logged by what answered: the app ("call"), a SIP phone ("sip"), a phone number ("phone").
        return _release(state, now, rules, Release("", held.target.method, who, screen=Screen.DOOR_OPEN,
                                                   message=who, call_id=state.call_id,
                                                   device=event.device or "", leg=held.id))
    if event.method == "exit" or state.screen in CALL_SCREENS:
        # The exit button is inside the building, and a call on screen stays on screen.
        return _release(state, now, rules, Release("", event.method, event.who, device=event.device or ""))
    return _release(state, now, rules, Release("", event.method, event.who, screen=Screen.DOOR_OPEN,
                                               message=event.who, device=event.device or ""))


def _credential_checked(state: PanelState, event: ev.CredentialChecked, now: float, rules: Rules) -> Result:
    if event.ok:
        # A key shown during a call ends the call, once the door is open.
        return _release(state, now, rules, Release(
            "", event.method, event.holder_name or event.holder_id, event.credential_id,
            screen=Screen.ACCESS_GRANTED, message=event.holder_name,
            call_id=state.call_id if state.screen in CALL_SCREENS else ""))
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
    state = _door_out_of_order(state, event.error, now)
    failed = [r for r in state.releases if r.id == event.release_id]
    return _settle(state, failed, now, rules, opened=False, error=event.error)


# -- releases: decided here, settled by the relay's answer ---------------------------
def _release(state: PanelState, now: float, rules: Rules, release: Release) -> Result:
    """Decide a release: journal it and drive the relay (PulseDoor), then wait for the relay."""
    seq = state.release_seq + 1
    release = replace(release, id=f"{state.boot}-{seq}" if state.boot else str(seq),
                      deadline=now + rules.confirm_seconds)
    state = replace(state, release_seq=seq)
    pulse = fx.PulseDoor(rules.pulse_seconds, release)
    if state.door_released and not state.door_fault:
        # Released and confirmed already: the strike extends the window, there is nothing new
        # to confirm (it says nothing more until it relocks).
        state, effects = _opened(state, release, now, rules)
        return state, [pulse, *effects]
    return replace(state, releases=state.releases + (release,)), [pulse]


def _settle(state: PanelState, releases: list[Release], now: float, rules: Rules, *, opened: bool,
            error: str = "") -> Result:
    effects: list[fx.Effect] = []
    for release in releases:
        state = replace(state, releases=tuple(r for r in state.releases if r.id != release.id))
        state, more = _opened(state, release, now, rules) if opened else _not_opened(state, release, now, rules,
                                                                                      error)
        effects += more
    return state, effects


def _opened(state: PanelState, release: Release, now: float, rules: Rules) -> Result:
    r = release
    effects: list[fx.Effect] = [fx.LogAccess(True, r.method, r.who, "", r.credential_id, release_id=r.id),
                                fx.DoorOutcome(r.id, r.method, True, r.leg or r.call_id, r.device)]
    in_call = state.screen in CALL_SCREENS
    if r.screen is None or (in_call and state.call_id != r.call_id):
        return state, effects           # the exit button, or a call placed since: the screen stays
    if in_call:
        effects += _stop_legs(state, "door_opened" if r.leg else "access_granted")
    return _message(state, r.screen, now, rules, r.message), effects


def _not_opened(state: PanelState, release: Release, now: float, rules: Rules, error: str) -> Result:
    r = release
    effects: list[fx.Effect] = [
        fx.LogAccess(False, r.method, r.who, "door_not_released", r.credential_id, detail=error, release_id=r.id),
        fx.DoorOutcome(r.id, r.method, False, r.leg or r.call_id, r.device, error)]
    if r.screen is None:
        return state, effects           # the exit button, or asked during a call: the screen stays
    if state.screen is Screen.IN_CALL and state.call_id == r.call_id:
        return replace(state, message="door_not_released"), effects    # the call goes on, and says so
    if state.screen in CALL_SCREENS:
        return state, effects
    return _message(state, Screen.DOOR_FAULT, now, rules, r.method), effects


def _strike_released(state: PanelState, event: hw.StrikeReleased, now: float, rules: Rules) -> Result:
    state, effects = door.strike_released(state, event, now, rules)
    state, settled = _settle(state, list(state.releases), now, rules, opened=True)
    return state, [*effects, *settled]


def _release_interrupted(state: PanelState, event: ev.ReleaseInterrupted, now: float, rules: Rules) -> Result:
    """A release of an earlier run that did not complete: log what the relay confirmed,
    and say it was interrupted unless the relay had relocked (the door was relocked at start-up)."""
    e = event
    effects: list[fx.Effect] = []
    if not e.logged and e.opened is not None:
        effects.append(fx.LogAccess(e.opened, e.method, e.who, "" if e.opened else "door_not_released",
                                    e.credential_id, release_id=e.release_id, ts=e.ts,
                                    detail="" if e.opened else "recorded at start-up"))
    if not e.reported and not e.relocked and e.opened is not False:
        stage = "while the door was released" if e.opened else "before the relay confirmed the release"
        what = " ".join(x for x in (e.method, e.who) if x)
        effects.append(fx.RaiseAlarm("release_interrupted", "relay",
                                     f"{what}: the panel stopped {stage}; the door was relocked at start-up",
                                     release_id=e.release_id))
    return state, effects


def _relay_recovered(state: PanelState, event: hw.RelayRecovered, now: float, rules: Rules) -> Result:
    new = replace(state, door_fault="")
    if state.screen is Screen.OUT_OF_ORDER:
        new = replace(new, screen=Screen.HOME, entered_at=now)
    return new, []


def _cloud_link(state: PanelState, event: ev.CloudLink, now: float, rules: Rules) -> Result:
    return replace(state, cloud_online=event.online), []


def _sip_link(state: PanelState, event: ev.SipLink, now: float, rules: Rules) -> Result:
    return replace(state, sip_online=event.online), []


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
    ev.ReleaseInterrupted: _release_interrupted,
    hw.RelayFaulted: _relay_faulted,
    hw.RelayRecovered: _relay_recovered,
    ev.CloudLink: _cloud_link,
    ev.SipLink: _sip_link,
    **door.HANDLERS,
    hw.StrikeReleased: _strike_released,        # the door's rule, then the releases it confirms
}
