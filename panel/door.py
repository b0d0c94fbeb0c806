"""The door controller: the strike, the door's inputs and its reader, for the shell.

Opens the hardware the config names (through `panel.hardware`), relocks first, and
turns what the hardware reports into the shell's events: the strike's and the
contact's reports go to `core.step` as they are (the door's rules are there), a card
held to the reader goes to the gatekeeper first. Carries out `PulseDoor` and the
reader's LED and buzzer feedback on `LogAccess`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine

from hal import events as hw
from hal.relay import RelayError

from . import hardware, trace
from .config import Config
from .core import effects as fx
from .core import events as ev

log = logging.getLogger("panel")


class DoorController:
    def __init__(self, config: Config, *, dispatch: Callable[[object], object],
                 check_card: Callable[[hw.CardPresented], ev.CredentialChecked],
                 spawn: Callable[[Coroutine], None]):
        self.config = config
        self.dispatch = dispatch
        self.check_card = check_card
        self.spawn = spawn
        self.gpio = None
        self.strike = None
        self.inputs = None

    async def start(self) -> None:
        """Open the hardware; a relay left energized by a crash is released before anything runs."""
        cfg = self.config
        self.gpio = hardware.open_gpio(cfg)
        self.strike = hardware.open_strike(cfg, self.gpio, on_event=self.on_hardware)
        await self.strike.start()
        self.inputs = hardware.open_inputs(cfg, self.gpio, on_event=self.on_hardware)
        if self.inputs is not None and self.inputs.door_open is not None:
            self.dispatch(ev.DoorContactAtStart(self.inputs.door_open))

    async def close(self) -> None:
        if self.strike is not None:
            await asyncio.wait_for(self.strike.close(), 1.5)
        if self.inputs is not None:
            self.inputs.close()

    # -- what the hardware says (event-loop thread) -----------------------------------------
    def on_hardware(self, event: hw.HardwareEvent) -> None:
        match event:
            case hw.CardPresented():
                # Checked once the panel is up: the revocations may not be loaded yet.
                self.spawn(self._card(event))
            case hw.ReaderOnline():
                log.info("door reader online%s", " (secure channel)" if event.secure else "")
                self.strike.resync()        # a reader that rebooted has forgotten the output's state
            case hw.ReaderOffline():
                log.warning("door reader offline")
            case hw.KeysPressed():
                log.debug("reader keys: %r", event.keys)
            case hw.ExitPressed():
                self.dispatch(ev.DoorOpenRequested("exit"))
            case hw.StrikeReleased() | hw.StrikeRelocked():
                trace.point("strike.released" if isinstance(event, hw.StrikeReleased) else "strike.relocked")
                self.dispatch(event)
            case _:
                self.dispatch(event)

    async def _card(self, read: hw.CardPresented) -> None:
        self.dispatch(self.check_card(read))

    # -- effects ---------------------------------------------------------------------------------
    def pulse(self, effect: fx.PulseDoor) -> None:
        self.spawn(self._pulse(effect.seconds))

    async def _pulse(self, seconds: float) -> None:
        try:
            await self.strike.unlock_for(seconds)
        except RelayError as e:
            log.error("door could not be opened: %s", e)
            self.dispatch(ev.ReleaseFailed(str(e)))

    def feedback(self, entry: fx.LogAccess) -> None:
        """Green and a beep on the door's reader when it opens; red and two beeps when a
        key or card shown there is refused. Only readers with LEDs (OSDP) have these."""
        backend = self.strike.backend if self.strike is not None else None
        if entry.granted and hasattr(backend, "granted"):
            self.spawn(backend.granted(self.config.door.pulse_seconds))
        elif not entry.granted and entry.method in ("qr", "card") and hasattr(backend, "refused"):
            self.spawn(backend.refused())

    # -- for status ----------------------------------------------------------------------------
    def relay_status(self) -> dict:
        s = self.strike
        return {"relay": s.state if s else "unknown", "fault": (s.fault if s else None) or None,
                "backend": self.config.door.backend}
