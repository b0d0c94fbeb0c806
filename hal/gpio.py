"""GPIO through gpiozero: the door relay output, and door contact, exit button, tamper inputs.

Pins come from a gpiozero pin factory chosen by name (`make_pin_factory`): lgpio on
a Pi, gpiozero's own MockFactory on a desktop and in tests. MockPin records every
state change with a timestamp (`pin.states`), so tests assert what the relay did.

Input wiring (all with the Pi's pull-ups, switches to ground):
- door contact: a normally-closed reed switch; the pin reads high while the door is open.
- tamper: a normally-closed loop; high while the case is open (or the wire is cut).
- exit button: normally open; low while pressed.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable

from gpiozero import DigitalInputDevice, DigitalOutputDevice, GPIOZeroError
from gpiozero.pins import Factory
from gpiozero.pins.mock import MockFactory, MockPin

from .events import deliver, DoorContactChanged, ExitPressed, HardwareEvent, OnEvent, TamperChanged
from .relay import RelayError

log = logging.getLogger(__name__)

__all__ = ["GpioRelay", "GpioInputs", "make_pin_factory", "wire_mock_door", "PIN_FACTORIES"]

PIN_FACTORIES = {
    "mock": "gpiozero.pins.mock:MockFactory",
    "lgpio": "gpiozero.pins.lgpio:LGPIOFactory",
    "native": "gpiozero.pins.native:NativeFactory",
    "rpigpio": "gpiozero.pins.rpigpio:RPiGPIOFactory",
}
_factories: dict[str, Factory] = {}


def make_pin_factory(name: str) -> Factory:
    """The pin factory called `name`, one per process (there is one GPIO header).

    Sharing matters for "mock" too: the relay and the door contact must live on the
    same mock board to be wired together. Tests wanting isolation pass MockFactory().
    """
    if name not in PIN_FACTORIES:
        raise ValueError(f"unknown GPIO pin factory {name!r} (use one of: {', '.join(PIN_FACTORIES)})")
    if name not in _factories:
        module, cls = PIN_FACTORIES[name].split(":")
        try:
            _factories[name] = getattr(importlib.import_module(module), cls)()
        except Exception as e:            # missing library, not a Pi, no /dev/gpiochip...
            raise RelayError(f"GPIO pin factory {name!r} is not available here: {e}") from e
    return _factories[name]


class GpioRelay:
    """A relay on one GPIO output. `active_high=False` for boards that energize on low."""

    def __init__(self, pin: int | str, *, active_high: bool = True, pin_factory: Factory | None = None):
        try:
            # initial_value=None: leave the pin as found; DoorStrike.start() decides.
            self._device = DigitalOutputDevice(pin, active_high=active_high, initial_value=None,
                                               pin_factory=pin_factory)
        except GPIOZeroError as e:
            raise RelayError(f"GPIO relay on pin {pin}: {e}") from e
        self.name = f"GPIO relay on {self._device.pin}"

    @property
    def pin(self):
        """The gpiozero pin (a MockPin under MockFactory: its `states` is the record)."""
        return self._device.pin

    @property
    def energized(self) -> bool:
        return bool(self._device.value)

    async def set(self, energized: bool) -> None:
        try:
            self._device.value = energized
            confirmed = bool(self._device.value)
        except GPIOZeroError as e:
            raise RelayError(f"{self.name}: {e}") from e
        if confirmed != energized:
            raise RelayError(f"{self.name} reads {'on' if confirmed else 'off'} after being set "
                             f"{'on' if energized else 'off'}")

    async def close(self) -> None:
        self._device.close()


class GpioInputs:
    """Debounced input events, delivered on `loop` as on_event(event): `DoorContactChanged`,
    `ExitPressed` and `TamperChanged` (source "panel").

    gpiozero calls back from its own threads; every edge is handed to the loop with
    call_soon_threadsafe and debounced there: a level is reported once it has held
    for `bounce_time` seconds (MockPin ignores gpiozero's bounce_time, so the
    debouncing is ours and the same on every factory).
    """

    def __init__(self, contact_pin: int | str | None = None, exit_pin: int | str | None = None,
                 tamper_pin: int | str | None = None, *, pin_factory: Factory | None = None,
                 bounce_time: float | None = 0.02, loop: asyncio.AbstractEventLoop,
                 on_event: OnEvent):
        self._loop = loop
        self._on_event = on_event
        self._bounce = bounce_time or 0.0
        self._devices: dict[str, DigitalInputDevice] = {}
        self._reported: dict[str, bool] = {}      # name -> last reported is_active
        self._level: dict[str, bool] = {}         # name -> is_active at the latest edge
        self._timers: dict[str, asyncio.TimerHandle] = {}
        try:
            for name, pin in (("door_contact", contact_pin), ("exit", exit_pin), ("tamper", tamper_pin)):
                if pin is None:
                    continue
                dev = DigitalInputDevice(pin, pull_up=True, pin_factory=pin_factory)
                self._devices[name] = dev
                self._reported[name] = self._level[name] = dev.is_active
                dev.when_activated = self._edge_callback(name, True)
                dev.when_deactivated = self._edge_callback(name, False)
        except GPIOZeroError as e:
            self.close()
            raise RelayError(f"GPIO input on pin {pin}: {e}") from e

    @property
    def door_open(self) -> bool | None:
        """The door contact's debounced state; None without a contact."""
        return None if "door_contact" not in self._reported else not self._reported["door_contact"]

    @property
    def tamper_active(self) -> bool | None:
        return None if "tamper" not in self._reported else not self._reported["tamper"]

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        for dev in self._devices.values():
            dev.close()
        self._devices.clear()

    def _edge_callback(self, name: str, active: bool) -> Callable[[], None]:
        # Runs on a gpiozero thread (or the caller's thread for MockPin): hop to the loop.
        return lambda: self._loop.call_soon_threadsafe(self._edge, name, active)

    def _edge(self, name: str, active: bool) -> None:
        if name not in self._devices:
            return                        # closed meanwhile
        self._level[name] = active
        if (timer := self._timers.pop(name, None)) is not None:
            timer.cancel()                # still bouncing: restart the hold time
        if self._bounce > 0:
            self._timers[name] = self._loop.call_later(self._bounce, self._settle, name)
        else:
            self._settle(name)

    def _settle(self, name: str) -> None:
        self._timers.pop(name, None)
        if name not in self._devices or self._level[name] == self._reported[name]:
            return
        active = self._reported[name] = self._level[name]
        if name == "door_contact":
            self._emit(DoorContactChanged(open=not active))
        elif name == "tamper":
            self._emit(TamperChanged(active=not active, source="panel"))
        elif active:
            self._emit(ExitPressed())

    def _emit(self, event: HardwareEvent) -> None:
        deliver(self._on_event, event, log)       # a listener's bug must never reach the door


# -- the mock door: emulator and tests -------------------------------------------------

class _DoorContactPin(MockPin):
    """Mock door-contact input: the door swings open whenever the strike releases it."""

    released = False

    def follow(self, released: bool) -> None:
        self.released = released
        if self._function == "input":
            self.drive_high() if released else self.drive_low()

    def _set_pull(self, value):
        super()._set_pull(value)
        self.follow(self.released)        # the door drives the line, not the pull-up


class _StrikeOutputPin(MockPin):
    """Mock relay output wired to a _DoorContactPin (like gpiozero's MockConnectedPin)."""

    def __init__(self, factory, info, contact: _DoorContactPin | None = None, fail_safe: bool = False):
        super().__init__(factory, info)
        self.contact = contact
        self.fail_safe = fail_safe

    def _change_state(self, value):
        changed = super()._change_state(value)
        if self.contact is not None:
            self.contact.follow(value != self.fail_safe)
        return changed


def wire_mock_door(factory: MockFactory, relay_pin: int | str, contact_pin: int | str, *,
                   fail_safe: bool = False) -> tuple[MockPin, MockPin]:
    """Wire a mock relay output to a mock door contact: the contact reads "open"
    while the strike is released (energized for fail-secure, de-energized for
    fail-safe). Call before creating GpioRelay / GpioInputs on these pins.
    Returns (relay pin, contact pin).
    """
    contact = factory.pin(contact_pin, pin_class=_DoorContactPin)
    relay = factory.pin(relay_pin, pin_class=_StrikeOutputPin, contact=contact, fail_safe=fail_safe)
    if not isinstance(contact, _DoorContactPin) or not isinstance(relay, _StrikeOutputPin):
        raise ValueError(f"pins {relay_pin} / {contact_pin} were already in use before wire_mock_door()")
    contact.follow(relay.state != fail_safe)
    return relay, contact
