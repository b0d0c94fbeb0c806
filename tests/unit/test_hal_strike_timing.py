"""DoorStrike's timing rules on a virtual clock: exact values, no tolerances.

DoorStrike times everything with the running loop (loop.time(), asyncio timers), so
under looptime (the loop's clock is fast-forwarded to the next timer whenever nothing
is ready) a relock lands at exactly its deadline. The backends here need no threads:

- `FakeRelay`: confirms every command after `transit` seconds of loop time, fails
  on demand after `timeout` seconds (as an unanswered Modbus request does), and, with
  `max_timer`, has a device timer like an OSDP reader's output (`arm_pulse`);
- gpiozero's MockFactory `GpioRelay`, behind a recorder.

Both record (loop time, energized) at every change. looptime's clock counts whole
microseconds, so times are compared rounded to 1 us (the clock's resolution, not a
tolerance: without rounding 0.35 - 0.05 is 0.29999999999999993).
The same behaviour against real peers on ptys (order and content) is in
tests/integration/test_hal_relay.py and test_hal_osdp.py.
"""

import asyncio

import looptime  # noqa: F401  (the plugin behind pytest.mark.looptime: the dev extra)
import pytest
from gpiozero.pins.mock import MockFactory

from hal.events import RelayFaulted, RelayRecovered, RelayStuck, StrikeReleased, StrikeRelocked
from hal.gpio import GpioRelay
from hal.relay import DoorStrike, RelayError
from tests.support import Events

pytestmark = [pytest.mark.looptime, pytest.mark.timeout(10)]


def now() -> float:
    return round(asyncio.get_running_loop().time(), 6)


def span(start: float, end: float) -> float:
    return round(end - start, 6)


class Recorded:
    """The (loop time, energized) record every backend here keeps."""

    def __init__(self):
        self.changes: list[tuple[float, bool]] = []
        self.energized: bool | None = None

    def _record(self, energized: bool) -> None:
        if energized != self.energized:
            self.energized = energized
            self.changes.append((now(), energized))

    def pulses(self) -> list[tuple[float, float]]:
        """(start, length) of every energized period."""
        out, on_at = [], None
        for t, state in self.changes:
            if state and on_at is None:
                on_at = t
            elif not state and on_at is not None:
                out.append((on_at, span(on_at, t)))
                on_at = None
        return out


class FakeRelay(Recorded):
    def __init__(self, *, transit: float = 0.0, timeout: float = 0.0, max_timer: float | None = None):
        super().__init__()
        self.transit, self.timeout = transit, timeout
        self.fail: str | None = None          # set: every command fails with this after `timeout`
        self.commands: list[tuple[float, str, object]] = []   # (sent at, "set"/"arm", value)
        self.lapsed: list[float] = []         # when the device's own timer ran out
        self._permanent = False
        self._timer: asyncio.TimerHandle | None = None
        if max_timer is not None:
            self.max_timer = max_timer
            self.arm_pulse = self._arm_pulse  # only a relay with a device timer has arm_pulse

    async def set(self, energized: bool) -> None:
        await self._command("set", energized)
        self._cancel_timer()
        self._permanent = energized
        self._record(energized)

    async def _arm_pulse(self, seconds: float, *, energized: bool = True) -> float:
        armed = round(min(seconds, self.max_timer), 6)
        await self._command("arm", armed)
        self._cancel_timer()
        self._record(energized)
        self._timer = asyncio.get_running_loop().call_later(armed, self._lapse)
        return armed

    async def close(self) -> None:
        self._cancel_timer()

    async def _command(self, kind: str, value) -> None:
        self.commands.append((now(), kind, value))
        if self.fail:
            await asyncio.sleep(self.timeout)
            raise RelayError(self.fail)
        if self.transit:
            await asyncio.sleep(self.transit)

    def _lapse(self) -> None:
        self._timer = None
        self.lapsed.append(now())
        self._record(self._permanent)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class RecordedGpio(Recorded):
    """gpiozero's MockFactory relay, its changes stamped with loop time (MockPin's own
    stamps are real time)."""

    def __init__(self):
        super().__init__()
        self.relay = GpioRelay(17, pin_factory=MockFactory())

    async def set(self, energized: bool) -> None:
        await self.relay.set(energized)
        self._record(energized)

    async def close(self) -> None:
        await self.relay.close()


class Rig:
    def __init__(self, backend):
        self.backend = backend
        self.events = Events()
        self.strikes: list[DoorStrike] = []

    def strike(self, **kw) -> DoorStrike:
        kw.setdefault("retry_interval", 0.05)
        s = DoorStrike(self.backend, on_event=self.events, **kw)
        self.strikes.append(s)
        return s

    def pulses(self):
        return self.backend.pulses()


@pytest.fixture(params=["fake", "gpio"])
async def rig(request):
    r = Rig(FakeRelay() if request.param == "fake" else RecordedGpio())
    yield r
    for s in r.strikes:
        await s.close()


# -- pulse length, extension, cancellation ----------------------------------------------

async def test_the_relock_lands_exactly_at_the_end_of_the_window(rig):
    strike = rig.strike()
    await strike.start()
    t0 = now()
    await strike.unlock_for(0.3)
    assert now() == span(0, t0 + 0.3)                      # the caller returns at the relock
    assert rig.pulses() == [(t0, 0.3)]
    assert rig.events.kinds == [StrikeRelocked, StrikeReleased, StrikeRelocked]
    assert [span(t0, t) for t in rig.events.times()] == [0, 0, 0.3]


async def test_a_later_deadline_extends_the_window_and_an_earlier_one_changes_nothing(rig):
    strike = rig.strike()
    await strike.start()
    first = asyncio.create_task(strike.unlock_for(0.3))
    await rig.events.wait(StrikeReleased)
    t0 = now()
    await asyncio.sleep(0.1)
    second = asyncio.create_task(strike.unlock_for(0.5))   # ends at 0.6: extends
    third = asyncio.create_task(strike.unlock_for(0.05))   # ends at 0.15: changes nothing
    await asyncio.gather(first, second, third)
    assert rig.pulses() == [(t0, 0.6)]                      # one pulse, never re-energized
    assert now() == span(0, t0 + 0.6)                       # every caller returned at the relock
    assert rig.events.kinds[-1] is StrikeRelocked and not strike.unlocked


async def test_cancelling_the_caller_relocks_at_the_same_instant(rig):
    strike = rig.strike()
    await strike.start()
    caller = asyncio.create_task(strike.unlock_for(10))
    await rig.events.wait(StrikeReleased)
    await asyncio.sleep(0.25)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await rig.events.wait(StrikeRelocked, count=2)
    [(_, on)] = rig.pulses()
    assert on == 0.25 and not rig.backend.energized


async def test_a_cancelled_caller_leaves_the_door_to_the_one_still_holding_it(rig):
    strike = rig.strike()
    await strike.start()
    long = asyncio.create_task(strike.unlock_for(10))
    await rig.events.wait(StrikeReleased)
    short = asyncio.create_task(strike.unlock_for(0.3))
    long.cancel()           # asyncio runs ready tasks in order: short registers its window first
    await short
    [(_, on)] = rig.pulses()
    assert on == 0.3                                        # relocked at the short window's end
    assert long.cancelled() and not strike.unlocked


async def test_an_exception_or_a_timeout_in_the_caller_relocks_at_once(rig):
    strike = rig.strike()
    await strike.start()

    async def fails_while_the_door_is_open():
        await rig.events.wait(StrikeReleased)
        await asyncio.sleep(0.1)
        raise ValueError("the caller broke")

    with pytest.raises(ExceptionGroup):
        async with asyncio.TaskGroup() as tg:
            tg.create_task(strike.unlock_for(10))
            tg.create_task(fails_while_the_door_is_open())
    await rig.events.wait(StrikeRelocked, count=2)
    assert [on for _, on in rig.pulses()] == [0.1]

    with pytest.raises(TimeoutError):                       # the same through asyncio.timeout
        async with asyncio.timeout(0.2):
            await strike.unlock_for(10)
    await rig.events.wait(StrikeRelocked, count=3)
    assert [on for _, on in rig.pulses()] == [0.1, 0.2]


async def test_fail_safe_de_energizes_for_exactly_the_window(rig):
    strike = rig.strike(fail_safe=True)
    await strike.start()
    assert rig.backend.energized and not strike.unlocked    # a maglock holds while powered
    t0 = now()
    await strike.unlock_for(0.2)
    assert rig.backend.changes == [(t0, True), (t0, False), (span(0, t0 + 0.2), True)]
    assert rig.events.kinds == [StrikeRelocked, StrikeReleased, StrikeRelocked]


async def test_the_window_counts_from_the_confirmed_release():
    relay = FakeRelay(transit=0.01)          # each command is confirmed 10 ms after it is sent
    strike = DoorStrike(relay)
    try:
        await strike.start()
        sent = now()
        await strike.unlock_for(0.3)
        # release sent at `sent`, confirmed at +0.01; relock sent 0.3 s after that, confirmed at +0.01
        assert [(span(sent, t), kind, v) for t, kind, v in relay.commands[1:]] == [
            (0, "set", True), (0.31, "set", False)]
        assert [on for _, on in relay.pulses()] == [0.3 + 0.01]
    finally:
        await strike.close()


# -- a relay that stops answering: fault, retry interval, alarm, recovery ---------------

async def test_retries_every_interval_alarms_after_n_seconds_and_relocks_on_the_first_answer():
    relay = FakeRelay(timeout=0.2)           # a dead board answers nothing for 0.2 s, then RelayError
    events = Events()
    strike = DoorStrike(relay, alarm_after=0.6, retry_interval=0.05, on_event=events)
    try:
        await strike.start()
        caller = asyncio.create_task(strike.unlock_for(0.3))
        await events.wait(StrikeReleased)
        t0 = now()
        relay.fail = "no answer"
        with pytest.raises(RelayError, match="no answer"):
            await caller                     # the first relock attempt failed
        assert now() == span(0, t0 + 0.5)    # sent at the window's end, failed 0.2 s later
        assert strike.unlocked and strike.fault == "no answer"

        await events.wait(RelayStuck)
        [fault] = events.of(RelayFaulted)
        [stuck] = events.of(RelayStuck)
        assert fault.error == "no answer" and stuck == RelayStuck("no answer", 0.6)
        [fault_at], [stuck_at] = events.times(RelayFaulted), events.times(RelayStuck)
        assert span(t0, fault_at) == 0.5 and span(fault_at, stuck_at) == 0.6   # alarm N s after the fault
        assert relay.energized                                                  # why we alarmed

        relay.fail = None                    # the board answers again (at t0 + 1.1)
        await events.wait(StrikeRelocked, count=2)
        # Relock attempts: at the window's end, then every timeout + retry_interval; the one
        # sent after the board came back (t0 + 1.3) is confirmed at once.
        attempts = [span(t0, t) for t, kind, v in relay.commands if (kind, v) == ("set", False)][1:]
        assert attempts == [0.3, 0.55, 0.8, 1.05, 1.3]
        assert relay.changes[-1] == (span(0, t0 + 1.3), False)
        assert not strike.unlocked and strike.fault is None
        assert events.kinds == [StrikeRelocked, StrikeReleased, RelayFaulted, RelayStuck,
                                RelayRecovered, StrikeRelocked]
        assert events.times(RelayRecovered) == [span(0, t0 + 1.3)]
    finally:
        await strike.close()


async def test_an_episode_shorter_than_alarm_after_raises_no_alarm():
    relay = FakeRelay()
    events = Events()
    strike = DoorStrike(relay, alarm_after=0.6, retry_interval=0.05, on_event=events)
    try:
        await strike.start()
        relay.fail = "no answer"
        with pytest.raises(RelayError):
            await strike.unlock_for(1)       # the release itself fails: the door stays locked
        t0 = now()
        await asyncio.sleep(0.5)             # back before alarm_after (0.6 s)
        relay.fail = None
        await events.wait(RelayRecovered)
        await asyncio.sleep(1)               # past when the alarm would have fired
        assert RelayStuck not in events.kinds and StrikeReleased not in events.kinds
        relocks = [span(t0, t) for t, kind, v in relay.commands if (kind, v) == ("set", False)][1:]
        assert relocks == [round(0.05 * k, 6) for k in range(11)]   # every retry_interval; the 11th confirmed
    finally:
        await strike.close()


# -- a relay with its own timer (an OSDP reader's output) -------------------------------

async def test_a_device_timer_is_armed_for_the_window_plus_the_guard_and_the_strike_relocks_first():
    relay = FakeRelay(max_timer=25.5)
    strike = DoorStrike(relay, device_guard=0.5)
    try:
        await strike.start()
        t0 = now()
        await strike.unlock_for(0.3)
        assert [(span(t0, t), kind, v) for t, kind, v in relay.commands] == [
            (0, "set", False), (0, "arm", 0.8), (0.3, "set", False)]
        assert relay.pulses() == [(t0, 0.3)] and relay.lapsed == []    # our relock, not the timer
        await asyncio.sleep(1)
        assert relay.lapsed == [] and not relay.energized              # the relock aborted the timer
    finally:
        await strike.close()


async def test_a_window_longer_than_the_device_timer_is_re_armed_a_guard_before_it_runs_out():
    relay = FakeRelay(max_timer=0.4)         # a device that times at most 0.4 s a command
    strike = DoorStrike(relay, device_guard=0.2)
    try:
        await strike.start()
        t0 = now()
        await strike.unlock_for(1.2)
        assert [(span(t0, t), kind, v) for t, kind, v in relay.commands[1:]] == [
            (0, "arm", 0.4), (0.2, "arm", 0.4), (0.4, "arm", 0.4), (0.6, "arm", 0.4),
            (0.8, "arm", 0.4), (1.0, "arm", 0.4), (1.2, "set", False)]
        assert relay.pulses() == [(t0, 1.2)] and relay.lapsed == []   # one unbroken release
    finally:
        await strike.close()


async def test_a_reader_the_panel_cannot_reach_relocks_on_its_own_timer_at_window_plus_guard():
    relay = FakeRelay(max_timer=25.5)
    events = Events()
    strike = DoorStrike(relay, device_guard=1.0, alarm_after=30, on_event=events)
    try:
        await strike.start()
        t0 = now()
        caller = asyncio.create_task(strike.unlock_for(0.5))
        await events.wait(StrikeReleased)
        relay.fail = "serial port disappeared"     # the panel can no longer reach the reader
        with pytest.raises(RelayError, match="serial port"):
            await caller
        await asyncio.sleep(1.01)
        assert relay.commands[1][1:] == ("arm", 1.5)                # 0.5 s + the 1 s guard
        assert relay.lapsed == [span(0, t0 + 1.5)] and relay.pulses() == [(t0, 1.5)]
        relay.fail = None
        await events.wait(RelayRecovered)
        assert not strike.unlocked and not relay.energized
    finally:
        await strike.close()
