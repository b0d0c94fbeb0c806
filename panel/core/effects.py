"""Effects: what the state machine asks the shell (panel.shell) to do."""

from __future__ import annotations

from dataclasses import dataclass


class Effect:
    pass


@dataclass(frozen=True)
class PulseDoor(Effect):
    seconds: float


@dataclass(frozen=True)
class LogAccess(Effect):
    """One access-log entry; the shell adds the time, the door and a camera snapshot."""
    granted: bool
    method: str                 # qr | call | app | api | exit
    who: str = ""
    reason: str = ""            # refusal reason code, empty when granted
    credential_id: str = ""


@dataclass(frozen=True)
class RaiseAlarm(Effect):
    """An alarm: written to the access log as its own kind ("alarm"), with a snapshot."""
    reason: str                 # door_forced | door_held_open | tamper | reader_tamper | relay_fault | ...
    source: str                 # contact | tamper | relay | reader
    detail: str = ""


@dataclass(frozen=True)
class StartCall(Effect):
    call_id: str
    resident_id: str


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
