"""The door controller: the strike, the door's inputs and its reader, for the shell.

Opens the hardware the config names (through `panel.hardware`), relocks first, and
turns what the hardware reports into the shell's events: the strike's and the
contact's reports go to `core.step` as they are (the door's rules are there), a card
held to the reader goes to the gatekeeper first. Carries out `PulseDoor` and the
reader's LED and buzzer feedback on `LogAccess`.

Keeps the release journal (panel/store/journal.py): a decided release is journaled
before the relay is driven, and at start-up, after the relock, the releases an earlier
run did not complete go back to the rules as `ReleaseInterrupted`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine

from hal import events as hw
from hal.relay import RelayError

from . import hardware, trace
from .config import Config
from .core import effects as fx
from .core import events as ev
from .store.journal import ReleaseJournal

log = logging.getLogger("panel")

JOURNAL_FILE = "door-journal"          # in the state folder, beside panel.db


class DoorController:
    def __init__(self, config: Config, *, dispatch: Callable[[object], object],
                 check_card: Callable[[hw.CardPresented], ev.CredentialChecked],
                 spawn: Callable[[Coroutine], None], wall: Callable[[], float] = time.time):
        self.config = config
        self.dispatch = dispatch
        self.check_card = check_card
        self.spawn = spawn
        self.wall = wall
        self.gpio = None
        self.strike = None
        self.inputs = None
        self.journal: ReleaseJournal | None = None
        self._pulses: dict[str, asyncio.Task] = {}     # release id -> the task driving it

    async def start(self) -> None:
        """Open the hardware; a relay left energized by a crash is released before anything runs."""
        cfg = self.config
        self.gpio = hardware.open_gpio(cfg)
        self.strike = hardware.open_strike(cfg, self.gpio, on_event=self.on_hardware)
        await self.strike.start()
        try:
            self.journal = ReleaseJournal(cfg.state_dir / JOURNAL_FILE)
        except OSError as e:            # the door works without it; only kill -9 records are at risk
            log.error("door journal in %s: cannot open (%s); releases are not journaled", cfg.state_dir, e)
        self.inputs = hardware.open_inputs(cfg, self.gpio, on_event=self.on_hardware)
        if self.inputs is not None and self.inputs.door_open is not None:
            self.dispatch(ev.DoorContactAtStart(self.inputs.door_open))

    async def recover(self, rows_of: Callable[[list[str]], dict[str, set[str]]]) -> None:
        """Once the store and the access log are up: the releases an earlier run left
        incomplete (killed, crashed) go to the rules, with what the store already holds of them."""
        journal = self.journal
        if journal is None or not (earlier := journal.earlier()):
            return
        try:
            rows = await asyncio.to_thread(rows_of, [r.id for r in earlier])
        except Exception as e:          # a store the disk will not read: log them again rather than lose them
            log.warning("door journal: cannot ask the store which releases it holds (%s)", e)
            rows = {}
        for r in earlier:
            found = rows.get(r.id, set())
            if not (r.relocked and "access" in found):
                log.warning("door release %s (%s %s) of an earlier run did not complete", r.id, r.method, r.who)
            self.dispatch(ev.ReleaseInterrupted(r.id, r.method, r.who, r.credential_id, r.ts, opened=r.opened,
                                                relocked=r.relocked, logged="access" in found,
                                                reported="alarm" in found))
            journal.recovered(r.id)

    async def close(self) -> None:
        if self.strike is not None:
            await asyncio.wait_for(self.strike.close(), 1.5)
        if self.inputs is not None:
            self.inputs.close()
        if self.journal is not None:
            self.journal.close()

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
                if isinstance(event, hw.StrikeRelocked) and self.journal is not None:
                    self.journal.relocked()
                self.dispatch(event)
            case _:
                self.dispatch(event)

    async def _card(self, read: hw.CardPresented) -> None:
        self.dispatch(self.check_card(read))

    # -- effects ---------------------------------------------------------------------------------
    def pulse(self, effect: fx.PulseDoor) -> None:
        """Journal the release (one write(), here on the loop thread), then drive the relay; the
        journal's fdatasync runs in a worker thread beside it, never in front of it."""
        r = effect.release
        journal = self.journal if r is not None else None
        if journal is not None:
            journal.begin(r.id, r.method, r.who, r.credential_id, self.wall())
        self.spawn(self._pulse(effect.seconds, r.id if r is not None else ""))
        if journal is not None:
            self.spawn(asyncio.to_thread(journal.sync))

    async def _pulse(self, seconds: float, release_id: str) -> None:
        if release_id:
            self._pulses[release_id] = asyncio.current_task()
        try:
            await self.strike.unlock_for(seconds)
        except RelayError as e:
            log.error("door could not be opened: %s", e)
            self.dispatch(ev.ReleaseFailed(str(e), release_id))
        except asyncio.CancelledError:
            if release_id not in self._pulses:
                return                  # abandoned: its window ends, the strike relocks
            raise
        finally:
            self._pulses.pop(release_id, None)

    def abandon(self, effect: fx.AbandonRelease) -> None:
        """Too late to open: the rules have told everyone it did not."""
        task = self._pulses.pop(effect.release_id, None)
        if task is not None:
            log.error("door release %s abandoned: the relay did not confirm it in time", effect.release_id)
            task.cancel()

    def record(self, effect: fx.LogAccess | fx.RaiseAlarm) -> None:
        """An entry or alarm of a release is decided: the journal waits for its row."""
        if self.journal is None or not effect.release_id:
            return
        if isinstance(effect, fx.LogAccess):
            self.journal.decided(effect.release_id, effect.granted)
            self.spawn(asyncio.to_thread(self.journal.sync))
        else:
            self.journal.alarm_raised(effect.release_id)

    def written(self, release_id: str, kind: str) -> None:
        """The access log wrote a release's row to panel.db."""
        if self.journal is not None:
            self.journal.written(release_id, kind)

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
