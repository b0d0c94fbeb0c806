"""The door's rules, as handlers of `core.step`: what the strike, the contact and the
switches report, and the alarms that follow. Pure, clock given.

The strike says when the door is released and relocked, the contact when the door is
open. A door that opens while locked (after a short grace for a visitor who pushes as
the strike relocks) was forced; a door open longer than `held_open_seconds` is held
open, noticed by a Tick at the state's `held_deadline`. Each alarm is raised once per
opening. Tamper switches, a relay that stops answering or stays stuck, and a reader's
power failure are alarms too. Relay faults also change the home screen: that rule is
in machine.py with the other screen rules.
"""

from __future__ import annotations

from dataclasses import replace

from hal import events as hw

from . import effects as fx
from . import events as ev

GRACE_SECONDS = 2.0


def strike_released(state, event: hw.StrikeReleased, now: float, rules):
    return replace(state, door_released=True), []


def strike_relocked(state, event: hw.StrikeRelocked, now: float, rules):
    # Only a relock after a release starts the grace; locking at start-up does not.
    locked_at = now if state.door_released else state.door_locked_at
    return replace(state, door_released=False, door_locked_at=locked_at), []


def contact_at_start(state, event: ev.DoorContactAtStart, now: float, rules):
    return replace(state, door_open=event.open), []


def contact_changed(state, event: hw.DoorContactChanged, now: float, rules):
    if not event.open:
        return replace(state, door_open=False, door_open_since=None, held_deadline=None), []
    if state.door_open_since is not None:
        return replace(state, door_open=True), []       # the same opening, reported again
    forced = not state.door_released and now - state.door_locked_at > GRACE_SECONDS
    new = replace(state, door_open=True, door_open_since=now, held_deadline=now + rules.held_open_seconds)
    return new, [fx.RaiseAlarm("door_forced", "contact")] if forced else []


def check_held(state, now: float) -> tuple[object, list[fx.Effect]]:
    """On a Tick: the door has stood open past the limit (once per opening)."""
    if state.held_deadline is None or now < state.held_deadline:
        return state, []
    return replace(state, held_deadline=None), [fx.RaiseAlarm("door_held_open", "contact")]


def tamper_changed(state, event: hw.TamperChanged, now: float, rules):
    if not event.active:
        return state, [fx.Note(f"{event.source} tamper switch restored")]
    if event.source == "reader":
        return state, [fx.RaiseAlarm("reader_tamper", "tamper", "the reader's cover is open")]
    return state, [fx.RaiseAlarm("tamper", "tamper")]


def relay_stuck(state, event: hw.RelayStuck, now: float, rules):
    return state, [fx.RaiseAlarm("relay_alarm", "relay", event.error)]


def reader_power(state, event: hw.ReaderPowerChanged, now: float, rules):
    if event.ok:
        return state, []
    return state, [fx.RaiseAlarm("reader_power", "reader", "the reader reports a power failure")]


HANDLERS = {
    hw.StrikeReleased: strike_released,
    hw.StrikeRelocked: strike_relocked,
    hw.DoorContactChanged: contact_changed,
    ev.DoorContactAtStart: contact_at_start,
    hw.TamperChanged: tamper_changed,
    hw.RelayStuck: relay_stuck,
    hw.ReaderPowerChanged: reader_power,
}
