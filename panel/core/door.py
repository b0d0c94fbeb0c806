"""The door contact's rules: forced open, held open too long. Pure, clock given.

The strike tells when the door is released and relocked, the contact when the door
is open. A door that opens while locked (after a short grace for a visitor who
pushes as the strike relocks) was forced; a door open longer than the limit is held
open. Each alarm is raised once per opening.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class DoorWatch:
    released: bool = False
    locked_at: float = float("-inf")        # when the strike last relocked
    open_since: float | None = None         # the contact has been open since then
    held_alarm: bool = False                # "held open" already raised for this opening


def released(w: DoorWatch, now: float) -> DoorWatch:
    return replace(w, released=True)


def relocked(w: DoorWatch, now: float) -> DoorWatch:
    # Only a relock after a release starts the grace; locking at start-up does not.
    return replace(w, released=False, locked_at=now if w.released else w.locked_at)


def contact(w: DoorWatch, is_open: bool, now: float) -> tuple[DoorWatch, list[str]]:
    if not is_open:
        return replace(w, open_since=None, held_alarm=False), []
    if w.open_since is not None:
        return w, []
    alarms = [] if w.released or now - w.locked_at <= GRACE_SECONDS else ["door_forced"]
    return replace(w, open_since=now), alarms


def check_held(w: DoorWatch, now: float, limit: float) -> tuple[DoorWatch, list[str]]:
    """Call at (or after) open_since + limit."""
    if w.open_since is None or w.held_alarm or now - w.open_since < limit:
        return w, []
    return replace(w, held_alarm=True), ["door_held_open"]
