"""The shell's timers on a virtual clock (looptime): each Tick lands exactly when the
state asks for it. The rules themselves are tested with plain numbers in
test_core_machine.py and test_core_door.py; this is the part that waits."""

import asyncio

import pytest

from hal import events as hw
from hal.clock import Clock, VirtualClock
from panel.core import effects as fx
from panel.core import events as ev
from panel.core.machine import Rules, Screen
from panel.shell import Shell, Spawner

pytestmark = [pytest.mark.looptime, pytest.mark.timeout(10)]

RULES = Rules(idle_seconds=30, message_seconds=6, ring_timeout_seconds=20, held_open_seconds=45)


def now() -> float:
    return round(asyncio.get_running_loop().time(), 6)      # looptime counts whole microseconds


class Recorder:
    """(loop time, what) for every screen change and effect of interest; waitable."""

    def __init__(self, shell: Shell):
        self.log: list[tuple[float, object]] = []
        self._changed = asyncio.Event()
        shell.watch(lambda before, after: after.screen != before.screen and self._add(after.screen))
        shell.carry(fx.RaiseAlarm, lambda e: self._add(e.reason))
        shell.carry(fx.StopCall, lambda e: self._add(("stop", e.reason)))

    def _add(self, what) -> None:
        self.log.append((now(), what))
        self._changed.set()

    async def wait_for(self, what) -> float:
        while not any(w == what for _, w in self.log):
            self._changed.clear()
            await self._changed.wait()
        return next(t for t, w in self.log if w == what)


async def running_shell(rules=RULES, clock=None):
    shell = Shell(rules, clock or Clock())
    return shell, Recorder(shell), asyncio.create_task(shell.run_deadlines())


async def test_the_directory_goes_home_exactly_after_the_idle_time():
    shell, rec, task = await running_shell()
    t0 = now()
    shell.dispatch(ev.OpenDirectory())
    await asyncio.sleep(10)
    shell.dispatch(ev.TypeText("sm"))                 # typing keeps it open: 30 s from here
    assert await rec.wait_for(Screen.HOME) == t0 + 40
    task.cancel()


async def test_an_unanswered_call_ends_exactly_at_the_ring_timeout_and_its_message_lasts_exactly():
    shell, rec, task = await running_shell()
    shell.dispatch(ev.CloudLink(True))
    shell.dispatch(ev.OpenDirectory())
    t0 = now()
    shell.dispatch(ev.CallResident("r1", "Ada"))
    assert await rec.wait_for(("stop", "no_answer")) == t0 + 20
    assert await rec.wait_for(Screen.HOME) == t0 + 20 + 6
    assert [w for _, w in rec.log] == [Screen.DIRECTORY, Screen.CALLING, ("stop", "no_answer"),
                                       Screen.CALL_ENDED, Screen.HOME]
    task.cancel()


async def test_held_open_is_raised_exactly_at_the_limit_while_a_screen_deadline_runs_too():
    shell, rec, task = await running_shell()
    shell.dispatch(hw.StrikeReleased())
    t0 = now()
    shell.dispatch(hw.DoorContactChanged(open=True))
    shell.dispatch(ev.OpenDirectory())                # its own deadline, 30 s: the earlier one first
    assert await rec.wait_for(Screen.HOME) == t0 + 30
    assert await rec.wait_for("door_held_open") == t0 + 45
    assert [w for _, w in rec.log].count("door_held_open") == 1
    task.cancel()


async def test_a_door_closed_in_time_raises_nothing():
    shell, rec, task = await running_shell()
    shell.dispatch(hw.StrikeReleased())
    shell.dispatch(hw.DoorContactChanged(open=True))
    await asyncio.sleep(44.999)
    shell.dispatch(hw.DoorContactChanged(open=False))
    await asyncio.sleep(100)
    assert rec.log == []
    task.cancel()


async def test_the_virtual_clock_stamps_wall_time_with_the_loops_time():
    clock = VirtualClock(wall_at_zero=1_800_000_000.0)
    start = clock.wall()
    await asyncio.sleep(3600)
    assert round(clock.wall() - start, 6) == 3600


async def test_work_asked_for_before_the_task_group_runs_waits_for_it():
    spawner, ran = Spawner(), []

    async def job(name):
        ran.append(name)
    spawner.spawn(job("early"))
    assert ran == []
    async with asyncio.TaskGroup() as tg:
        spawner.attach(tg)
        spawner.spawn(job("late"))
    assert ran == ["early", "late"]
    spawner.close()
    spawner.spawn(job("after close"))                 # dropped, and closed: no "never awaited" warning
    assert ran == ["early", "late"]
