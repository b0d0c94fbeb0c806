"""kill -9 at several points of a door release (tests/killnine.py): after the restart
the door is relocked, every release the relay energized is in the access log (once),
and one the panel died in the middle of is reported as release_interrupted.
scripts/bench_killnine.py runs a hundred of these at random points."""

from __future__ import annotations

import pytest

from panel.sim.modbus_board import ModbusBoard
from tests.integration.test_hal_relay import quiet_pymodbus  # noqa: F401 (autouse)
from tests.killnine import KillNineRig

pytestmark = pytest.mark.timeout(120)


async def test_kill_nine_during_a_release_loses_no_release_and_reports_the_interrupted_one(tmp_path):
    async with ModbusBoard(baudrate=115200) as board:
        rig = KillNineRig(tmp_path, board)
        await rig.start()
        try:
            runs = [await rig.release_and_kill(point) for point in ("energized", "window", "relocked")]
        finally:
            await rig.stop()
    for run in runs:
        assert run.energized and run.relocked and run.logged and run.granted_entries <= 1, run
    energized, window, relocked = runs
    assert energized.open_at_kill and energized.reported          # died with the door released
    assert window.open_at_kill and window.reported and window.granted_entries == 1
    assert not relocked.open_at_kill and not relocked.reported and relocked.granted_entries == 1
