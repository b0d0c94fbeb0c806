"""Events: everything that can happen to the panel, as plain immutable values.

The touchscreen, the scanner, the call service and the local API turn what they see
into one of these and hand it to the state machine. The door's hardware reports
(`hal.events`: strike, contact, switches, relay faults) go to `core.step` as they are.
"""

from __future__ import annotations

from dataclasses import dataclass


class Event:
    """Base class, so type hints and `isinstance` checks read well."""


# -- time ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Tick(Event):
    """The shell's clock reached the state's deadline (or any later moment)."""


# -- the visitor at the screen ------------------------------------------------------
@dataclass(frozen=True)
class Touched(Event):
    """Any touch: keeps the current screen from timing out."""


@dataclass(frozen=True)
class OpenDirectory(Event):
    pass


@dataclass(frozen=True)
class GoHome(Event):
    pass


@dataclass(frozen=True)
class TypeText(Event):
    text: str


@dataclass(frozen=True)
class Backspace(Event):
    pass


@dataclass(frozen=True)
class ClearQuery(Event):
    pass


@dataclass(frozen=True)
class Scroll(Event):
    rows: int               # positive: further down the result list
    last: int = 1 << 30     # the furthest first row the list allows (the UI knows the count)


@dataclass(frozen=True)
class CallResident(Event):
    resident_id: str
    name: str               # as shown to the visitor
    plan: tuple = ()        # core.routing.PlanStep's: whom to ring, in what order (the directory's
                            # Directory.plan); empty: the resident's app


@dataclass(frozen=True)
class CancelCall(Event):
    """The visitor gave up while the resident's devices ring."""


@dataclass(frozen=True)
class EndCall(Event):
    """The visitor ended a call in progress."""


@dataclass(frozen=True)
class CallAgain(Event):
    pass


# -- the call service ---------------------------------------------------------------
@dataclass(frozen=True)
class CallRinging(Event):
    """A leg of the call rings (call_id: the leg's id, core.machine.Leg)."""
    call_id: str
    via: str = "app"        # "app": the resident's devices ring; "sip": their SIP phone; "phone": their number


@dataclass(frozen=True)
class CallAccepted(Event):
    call_id: str
    device: str             # the device that took the call; only it may open the door


@dataclass(frozen=True)
class CallDeclined(Event):
    call_id: str


@dataclass(frozen=True)
class CallEnded(Event):
    """The resident hung up, or the connection went away."""
    call_id: str
    reason: str = "hung_up"


@dataclass(frozen=True)
class CallFailed(Event):
    """The call could not be placed or went unanswered on the cloud's side."""
    call_id: str
    reason: str = "unavailable"     # unavailable | no_answer | error


# -- the door -----------------------------------------------------------------------
@dataclass(frozen=True)
class DoorOpenRequested(Event):
    """Somebody asks to release the door without a credential scan.

    method: "call" (resident in the call), "app" (remote unlock), "api" (local API,
    integrators), "exit" (request-to-exit button inside).
    """
    method: str
    who: str = ""
    call_id: str | None = None
    device: str | None = None


@dataclass(frozen=True)
class CredentialChecked(Event):
    """A code was read and verified on the panel (panel.access decides validity)."""
    ok: bool
    reason: str = ""                # refusal reason code when not ok
    holder_id: str = ""
    holder_name: str = ""
    kind: str = ""                  # resident | visitor
    credential_id: str = ""
    method: str = "qr"              # qr (the camera) | card (an OSDP reader)


@dataclass(frozen=True)
class DoorContactAtStart(Event):
    """The contact as found at start-up: no alarm (the door may have stood open before)."""
    open: bool


@dataclass(frozen=True)
class ReleaseFailed(Event):
    """A release was asked for and the relay did not do it (the strike reports the
    fault itself as hal.events.RelayFaulted): the door is out of order, and the release
    `release_id` (if still waiting for the relay) was not released."""
    error: str
    release_id: str = ""


@dataclass(frozen=True)
class ReleaseInterrupted(Event):
    """At start-up: a release of an earlier run that the journal (panel/store/journal.py)
    holds as not completed. `opened`: the relay had confirmed it (None: it never said);
    `relocked`: the relay relocked it before the panel stopped; `logged` / `reported`:
    the store already holds its access entry / its release_interrupted alarm."""
    release_id: str
    method: str
    who: str = ""
    credential_id: str = ""
    ts: float = 0.0                 # wall time it was decided
    opened: bool | None = None
    relocked: bool = False
    logged: bool = False
    reported: bool = False


@dataclass(frozen=True)
class CloudLink(Event):
    online: bool


@dataclass(frozen=True)
class SipLink(Event):
    """SIP calls can be placed (an account registered, or one for direct calls), or not."""
    online: bool
