"""kill -9 during a door release, and what the panel says after the restart.

A panel process (`panel run`, panel.remote.PanelProcess) drives a door relay on a
Modbus board on a pty (panel.sim.modbus_board) served from this process, so the
board's record of its coil outlives the panel. `KillNineRig.release_and_kill(point)`
asks the panel to open the door, kills it with SIGKILL at `point`, restarts it on the
same state folder and reads what the restarted panel logged:

    "energized"  as soon as the board has switched the coil on
    "window"     once the panel reports the release confirmed (status relay "unlocked")
    "relocked"   once the board has switched the coil off again and the panel has its read-back
    a float      that many seconds after the request (the benchmark's random points)

Used by tests/integration/test_door_killnine.py (a few runs) and
scripts/bench_killnine.py (a hundred, at random points).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from panel.door import JOURNAL_FILE
from panel.remote import PanelProcess
from panel.sim.modbus_board import ModbusBoard
from tests.configs import with_simulated_parts

TOKEN = "killnine-token-0123456789"
PULSE_SECONDS = 2.0


@dataclass
class Run:
    point: str
    energized: bool = False         # the board switched the coil on for this release
    open_at_kill: bool = False      # the coil was still on when the panel was killed
    relocked: bool = False          # the coil was off after the restart
    logged: bool = False            # the release is in the access log (granted, or an interruption alarm)
    reported: bool = False          # a release_interrupted alarm names it
    granted_entries: int = 0        # never more than one

    @property
    def lost(self) -> bool:
        return self.energized and not self.logged


class KillNineRig:
    def __init__(self, directory: Path, board: ModbusBoard):
        self.directory, self.board = Path(directory), board
        self.state = self.directory / "state"
        self.config = self.directory / "panel.toml"
        self.config.write_text(with_simulated_parts(
            f'[panel]\nstate_dir = "{self.state}"\n[api]\nport = 0\ntoken = "{TOKEN}"\n'
            f'[door]\nbackend = "modbus"\npulse_seconds = {PULSE_SECONDS}\n'
            f'[modbus]\nport = "{board.port}"\nbaudrate = {board.baudrate}\ntimeout_seconds = 0.2\n'))
        self.panel: PanelProcess | None = None
        self.runs = 0

    async def start(self) -> None:
        self.panel = await PanelProcess.run(self.config).astart()

    async def stop(self) -> None:
        if self.panel is not None:
            await self.panel.astop()
            self.panel = None

    async def release_and_kill(self, point: str | float) -> Run:
        """One release killed at `point`; the panel is running again (restarted) on return."""
        self.runs += 1
        tag = f"kill-run-{self.runs}"
        run = Run(str(point))
        board = self.board
        ons_before = self._ons()
        async with self.panel.client() as api:
            await api.open_door(tag)
            if point == "energized":
                await board.wait_coil(0, True)
            elif point == "window":
                await board.wait_coil(0, True)
                await api.until_status(lambda s: s["door"]["relay"] == "unlocked", what="the release confirmed")
            elif point == "relocked":
                await board.wait_for(lambda: self._ons() > ons_before and not board.coils[0])
                await api.until_status(lambda s: s["door"]["relay"] == "locked", what="the relock confirmed")
            else:
                await asyncio.sleep(float(point))       # a random moment (the benchmark), not a wait for it
        await self.panel.akill()
        run.energized = self._ons() > ons_before
        run.open_at_kill = board.coils[0]
        await self.start()
        try:
            await board.wait_coil(0, False, timeout=5)
            run.relocked = True
        except TimeoutError:
            pass
        events = await self._recovered_events()
        granted = [e for e in events if e["kind"] == "access" and e["who"] == tag and e["granted"]]
        alarms = [e for e in events if e["kind"] == "alarm" and e["reason"] == "release_interrupted"
                  and tag in e["detail"]]
        run.granted_entries = len(granted)
        run.reported = bool(alarms)
        run.logged = bool(granted or alarms)
        return run

    def _ons(self) -> int:
        return sum(1 for t in self.board.transitions_of(0) if t.state)

    async def _recovered_events(self) -> list[dict]:
        """The access log once the restarted panel has written what its journal recovered
        (the journal file is emptied once every release in it is on disk)."""
        journal = self.state / JOURNAL_FILE
        async with self.panel.client() as api:
            await api.until_status(lambda s: s["store"]["queued"] == 0 and journal.stat().st_size == 0,
                                   what="the recovered releases written")
            return (await api.get_json("/events?limit=1000"))["events"]
