"""Effects: what the state machine asks the shell (panel.shell) to do."""

from __future__ import annotations

from dataclasses import dataclass

from .routing import Target


class Effect:
    pass


@dataclass(frozen=True)
class PulseDoor(Effect):
    """Energize the strike for `seconds`. `release` (a decided release) is journaled before
    the relay is driven; the rules wait for the relay to confirm it (core.machine)."""
    seconds: float
    release: object = None          # core.machine.Release, or None (no outcome awaited)


@dataclass(frozen=True)
class LogAccess(Effect):
    """One access-log entry; the shell adds the time, the door and a camera snapshot."""
    granted: bool
    method: str                 # qr | card | call (the app in a call) | sip | phone | app | api | exit
    who: str = ""
    reason: str = ""            # refusal reason code, empty when granted; door_not_released:
                                #   granted by the rules, the relay did not confirm the release
    credential_id: str = ""
    detail: str = ""            # what the relay said, for door_not_released
    release_id: str = ""        # the release this entry is the outcome of
    ts: float | None = None     # wall time of the release (a recovered entry); None: now


@dataclass(frozen=True)
class RaiseAlarm(Effect):
    """An alarm: written to the access log as its own kind ("alarm"), with a snapshot."""
    reason: str                 # door_forced | door_held_open | tamper | reader_tamper | relay_fault | ...
    source: str                 # contact | tamper | relay | reader
    detail: str = ""
    release_id: str = ""        # release_interrupted: the release it is about


@dataclass(frozen=True)
class AbandonRelease(Effect):
    """The relay did not confirm the release in time and it is logged as not released:
    stop driving it, so the door does not open later, unannounced."""
    release_id: str


@dataclass(frozen=True)
class DoorOutcome(Effect):
    """A decided release ended: the relay confirmed it (opened) or did not. The call
    service tells the resident's device that asked (`door` reply)."""
    release_id: str
    method: str
    opened: bool
    call_id: str = ""
    device: str = ""
    error: str = ""


@dataclass(frozen=True)
class StartCall(Effect):
    """Ring one target (one leg of a call: call_id is the leg's id)."""
    call_id: str
    resident_id: str
    target: Target = Target()       # the app by default


@dataclass(frozen=True)
class StopCall(Effect):
    """Cancel a ringing call or hang up a call in progress."""
    call_id: str
    reason: str


@dataclass(frozen=True)
class Ignored(Effect):
    """An event that makes no sense in this state; the shell logs it at debug level."""
    event: str
    screen: str
    why: str = "not expected on this screen"


@dataclass(frozen=True)
class Note(Effect):
    """Something worth a line in the panel's log, nothing more."""
    message: str
