"""What the hardware reports, as frozen dataclasses.

Every HAL part hands these to one `on_event(event)` callback, on the event loop's
thread. Names say what happened at the door, not which driver saw it: a reader's
tamper switch and the case's tamper switch are both `TamperChanged`, told apart by
`source`. The panel turns them into `panel.core` events; nothing here knows the panel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "HardwareEvent", "OnEvent", "deliver",
    "StrikeReleased", "StrikeRelocked", "RelayFaulted", "RelayRecovered", "RelayStuck",
    "DoorContactChanged", "ExitPressed", "TamperChanged",
    "CardPresented", "KeysPressed", "ReaderPowerChanged", "ReaderOnline", "ReaderOffline",
]


class HardwareEvent:
    """Base class of everything the HAL reports."""


OnEvent = Callable[[HardwareEvent], None]


def deliver(on_event: OnEvent | None, event: HardwareEvent, log: logging.Logger) -> None:
    """Hand `event` to the listener; a listener's bug is logged and never reaches the hardware."""
    if on_event is None:
        return
    try:
        on_event(event)
    except Exception:
        log.exception("on_event(%r) raised", event)


# -- the door strike (hal.relay) ---------------------------------------------------------
@dataclass(frozen=True)
class StrikeReleased(HardwareEvent):
    """The relay confirmed the door released."""


@dataclass(frozen=True)
class StrikeRelocked(HardwareEvent):
    """The relay confirmed the door locked."""


@dataclass(frozen=True)
class RelayFaulted(HardwareEvent):
    """The relay stopped answering or did not confirm a command (first failure of an episode)."""
    error: str


@dataclass(frozen=True)
class RelayRecovered(HardwareEvent):
    """The relay answers again after a fault."""


@dataclass(frozen=True)
class RelayStuck(HardwareEvent):
    """The relock has failed for `seconds`: the door may be standing unlocked."""
    error: str
    seconds: float


# -- inputs (hal.gpio, and an OSDP reader's own switches) -----------------------------------
@dataclass(frozen=True)
class DoorContactChanged(HardwareEvent):
    open: bool


@dataclass(frozen=True)
class ExitPressed(HardwareEvent):
    """The request-to-exit button inside the door."""


@dataclass(frozen=True)
class TamperChanged(HardwareEvent):
    active: bool
    source: str = "panel"           # "panel": the case's switch; "reader": the OSDP reader's


# -- an OSDP reader (hal.osdp) -----------------------------------------------------------------
@dataclass(frozen=True)
class CardPresented(HardwareEvent):
    format: str                     # "raw", "wiegand", "ascii"
    bits: int
    data: str                       # hex
    reader: int = 0


@dataclass(frozen=True)
class KeysPressed(HardwareEvent):
    keys: str
    reader: int = 0


@dataclass(frozen=True)
class ReaderPowerChanged(HardwareEvent):
    ok: bool


@dataclass(frozen=True)
class ReaderOnline(HardwareEvent):
    secure: bool = False


@dataclass(frozen=True)
class ReaderOffline(HardwareEvent):
    pass
