"""DoorStrike against real peers: gpiozero's MockFactory pins, a pymodbus RTU board on a
pty, and a libosdp reader (peripheral device) on a pty.

The peers run real threads and serial I/O on real time, so these tests assert what
happened and in which order (released then relocked, one pulse, which side relocked),
read from what the peer recorded (MockPin.states, ModbusBoard.transitions,
OsdpDevice.transitions), never how long it took: the timing rules themselves are
asserted exactly on a virtual clock in tests/unit/test_hal_strike_timing.py. The
tests wait on events, never on sleeps. OSDP-only behaviour is in test_hal_osdp.py.
"""

import asyncio
import logging

import pytest
from gpiozero.pins.mock import MockFactory

from hal.events import RelayFaulted, RelayRecovered, RelayStuck, StrikeReleased, StrikeRelocked
from hal.gpio import GpioRelay
from hal.modbus import ModbusRelay
from hal.osdp import OsdpReader
from hal.relay import DoorStrike, RelayError
from panel.sim.modbus_board import ModbusBoard
from panel.sim.osdp_device import OsdpDevice
from tests.support import Events

pytestmark = pytest.mark.timeout(20)


@pytest.fixture(autouse=True)
def quiet_pymodbus():
    # pymodbus logs every timeout with a frame dump; the strike reports faults itself.
    logger = logging.getLogger("pymodbus")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


class Rig:
    """A relay backend plus the peer's record of what it did: [(time, energized)]."""

    def __init__(self, kind, backend, transitions, board=None):
        self.kind, self.backend, self.transitions, self.board = kind, backend, transitions, board
        self.events = Events()
        self.strikes = []

    def strike(self, **kw):
        kw.setdefault("retry_interval", 0.05)
        s = DoorStrike(self.backend, on_event=self.events, **kw)
        self.strikes.append(s)
        return s

    def pulses(self):
        """(start, duration) of every energized period, from the recorded transitions."""
        out, on_at = [], None
        for t, state in self.transitions():
            if state and on_at is None:
                on_at = t
            elif not state and on_at is not None:
                out.append((on_at, t - on_at))
                on_at = None
        return out

    def energized(self):
        return self.transitions()[-1][1] if self.transitions() else False


def pin_transitions(pin):
    # MockPin.states holds (seconds since the previous change, state); make it absolute.
    out, t = [], 0.0
    for stamp, state in pin.states[1:]:
        t += stamp
        out.append((t, state))
    return out


@pytest.fixture(params=["gpio", "modbus", "osdp"])
async def rig(request):
    if request.param == "gpio":
        relay = GpioRelay(17, pin_factory=MockFactory())
        pin = relay.pin                     # the record outlives the device
        r = Rig("gpio", relay, lambda: pin_transitions(pin))
        yield r
    elif request.param == "osdp":
        async with OsdpDevice(baudrate=115200) as reader:
            relay = OsdpReader(reader.port, baudrate=115200, timeout=0.3, reconnect_seconds=0.2)
            r = Rig("osdp", relay, lambda: [(t.time, t.state) for t in reader.transitions_of(0)], reader)
            yield r
            for s in r.strikes:             # before the reader goes away
                await s.close()
            await relay.close()
    else:
        async with ModbusBoard(baudrate=115200) as board:
            relay = ModbusRelay(board.port, baudrate=115200, timeout=0.2)
            r = Rig("modbus", relay, lambda: [(t.time, t.state) for t in board.transitions_of(0)], board)
            yield r
            for s in r.strikes:             # before the board goes away
                await s.close()
    for s in r.strikes:
        await s.close()


@pytest.fixture
async def board():
    async with ModbusBoard(baudrate=115200) as b:
        yield b


# -- behaviour common to every backend --------------------------------------------------

async def test_pulse_is_on_for_the_configured_time(rig):
    strike = rig.strike()
    await strike.start()
    await strike.unlock_for(0.3)
    assert not strike.unlocked and not rig.energized()
    [_] = rig.pulses()                                      # released once, then relocked
    assert rig.events.kinds == [StrikeRelocked, StrikeReleased, StrikeRelocked]


async def test_second_call_while_open_extends_the_window(rig):
    strike = rig.strike()
    await strike.start()
    first = asyncio.create_task(strike.unlock_for(0.3))
    await rig.events.wait(StrikeReleased)
    second = asyncio.create_task(strike.unlock_for(0.5))   # ends later: extends
    third = asyncio.create_task(strike.unlock_for(0.05))   # ends sooner: changes nothing
    await asyncio.gather(first, second, third)
    [_] = rig.pulses()                                      # one pulse, never re-energized
    # Every caller returned after the relock.
    assert not strike.unlocked and rig.events.kinds == [StrikeRelocked, StrikeReleased, StrikeRelocked]


async def test_cancelling_the_caller_relocks_at_once(rig):
    strike = rig.strike()
    await strike.start()
    caller = asyncio.create_task(strike.unlock_for(10))
    await rig.events.wait(StrikeReleased)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await rig.events.wait(StrikeRelocked, count=2)         # long before the 10 s window
    [_] = rig.pulses()
    assert not rig.energized()


async def test_cancelled_caller_leaves_the_door_to_a_caller_still_holding_it(rig):
    strike = rig.strike()
    await strike.start()
    long = asyncio.create_task(strike.unlock_for(10))
    await rig.events.wait(StrikeReleased)
    short = asyncio.create_task(strike.unlock_for(0.3))
    long.cancel()           # asyncio runs ready tasks in order: short registers its window first
    await short                                             # relocks at the short window's end
    [_] = rig.pulses()                                      # not relocked in between
    assert long.cancelled() and not strike.unlocked and not rig.energized()


async def test_an_exception_in_the_caller_relocks_at_once(rig):
    strike = rig.strike()
    await strike.start()

    async def fails_while_the_door_is_open():
        await rig.events.wait(StrikeReleased)
        raise ValueError("the caller broke")

    with pytest.raises(ExceptionGroup):
        async with asyncio.TaskGroup() as tg:
            tg.create_task(strike.unlock_for(10))
            tg.create_task(fails_while_the_door_is_open())
    await rig.events.wait(StrikeRelocked, count=2)         # long before the 10 s window
    [_] = rig.pulses()

    with pytest.raises(TimeoutError):                       # the same through asyncio.timeout
        async with asyncio.timeout(0.2):
            await strike.unlock_for(10)
    await rig.events.wait(StrikeRelocked, count=3)
    assert len(rig.pulses()) == 2 and not rig.energized()


async def test_start_releases_a_relay_left_energized(rig):
    await rig.backend.set(True)                             # a crash left the door released
    strike = rig.strike()
    await strike.start()
    assert not rig.energized() and not strike.unlocked and strike.fault is None
    assert rig.events.kinds == [StrikeRelocked]


async def test_fail_safe_inverts_the_wiring(rig):
    strike = rig.strike(fail_safe=True)
    await strike.start()
    assert rig.energized() and not strike.unlocked           # a maglock holds while powered
    await strike.unlock_for(0.2)
    assert rig.energized()
    # de-energized once (released), energized again after it (relocked)
    assert [state for _, state in rig.transitions()][-2:] == [False, True]
    assert [state for _, state in rig.transitions()].count(False) == 1
    assert rig.events.kinds == [StrikeRelocked, StrikeReleased, StrikeRelocked]


async def test_a_listener_that_raises_does_not_reach_the_door(rig, caplog):
    def bad_listener(event):
        raise RuntimeError("listener bug")

    strike = DoorStrike(rig.backend, on_event=bad_listener)
    rig.strikes.append(strike)
    await strike.start()
    await strike.unlock_for(0.05)
    assert not strike.unlocked and not rig.energized() and len(rig.pulses()) == 1
    assert "listener bug" in caplog.text


async def test_close_relocks_and_is_idempotent(rig):
    strike = rig.strike()
    await strike.start()
    caller = asyncio.create_task(strike.unlock_for(10))
    await rig.events.wait(StrikeReleased)
    await strike.close()
    await strike.close()
    await caller                                            # released by the relock on close
    assert not rig.energized()
    with pytest.raises(RelayError):
        await strike.unlock_for(1)


# -- Modbus: a board that dies, a port that vanishes ------------------------------------

def modbus_rig(board, **relay_kw):
    relay = ModbusRelay(board.port, baudrate=115200, timeout=0.2, **relay_kw)
    return Rig("modbus", relay, lambda: [(t.time, t.state) for t in board.transitions_of(0)], board)


async def test_board_killed_mid_pulse_alarms_and_relocks_when_it_answers_again(board):
    rig = modbus_rig(board)
    strike = rig.strike(alarm_after=0.6, retry_interval=0.05)
    try:
        await strike.start()
        caller = asyncio.create_task(strike.unlock_for(0.3))
        await rig.events.wait(StrikeReleased)
        await board.stop()                                  # hung: the relay stays energized
        with pytest.raises(RelayError, match="no answer"):
            await caller                                    # the first relock attempt failed
        assert strike.unlocked and strike.fault and "no answer" in strike.fault
        await rig.events.wait(RelayStuck)
        [fault] = rig.events.of(RelayFaulted)
        [alarm] = rig.events.of(RelayStuck)
        assert "no answer" in fault.error and "no answer" in alarm.error and alarm.seconds == 0.6
        assert board.coils[0] is True                       # still released: why we alarmed
        assert [state for _, state in rig.transitions()] == [True]

        await board.start()
        await rig.events.wait(StrikeRelocked, count=2)
        assert not board.coils[0] and not strike.unlocked and strike.fault is None
        assert [state for _, state in rig.transitions()] == [True, False]   # relocked once it answered
        assert rig.events.kinds == [StrikeRelocked, StrikeReleased, RelayFaulted, RelayStuck,
                                    RelayRecovered, StrikeRelocked]
    finally:
        await strike.close()


async def test_unlock_while_the_board_is_down_raises_and_stays_locked(board):
    rig = modbus_rig(board)
    strike = rig.strike(alarm_after=30)
    try:
        await strike.start()
        await board.stop()
        with pytest.raises(RelayError, match="no answer"):
            await strike.unlock_for(1)
        assert StrikeReleased not in rig.events.kinds and rig.events.kinds.count(RelayFaulted) == 1
        assert strike.unlocked                              # unconfirmed: it may have landed
        await board.start()                                 # the strike was retrying to lock
        await rig.events.wait(RelayRecovered)
        await rig.events.wait(StrikeRelocked, count=2)
        assert not board.coils[0] and rig.pulses() == [] and strike.fault is None
    finally:
        await strike.close()


async def test_a_release_the_board_applied_but_never_confirmed_is_relocked(board):
    rig = modbus_rig(board)
    strike = rig.strike(alarm_after=30)
    try:
        await strike.start()
        caller = asyncio.create_task(strike.unlock_for(5))
        await board.wait_coil(0, True)
        await board.stop()                                  # dies before answering the write
        with pytest.raises(RelayError, match="no answer"):
            await caller
        assert strike.unlocked and StrikeReleased not in rig.events.kinds
        await board.start()
        await rig.events.wait(StrikeRelocked, count=2)
        assert not board.coils[0] and not strike.unlocked
    finally:
        await strike.close()


async def test_board_off_at_start_up_is_a_fault_not_a_crash(board):
    await board.stop()
    rig = modbus_rig(board)
    strike = rig.strike()
    try:
        await strike.start()                                # does not raise
        assert strike.fault and strike.unlocked             # unknown: assume the worst
        await board.start()
        await rig.events.wait(StrikeRelocked)
        assert strike.fault is None and not strike.unlocked
    finally:
        await strike.close()


async def test_serial_port_vanishing_and_returning(board):
    rig = modbus_rig(board)
    strike = rig.strike(alarm_after=30)
    try:
        await strike.start()
        caller = asyncio.create_task(strike.unlock_for(0.3))
        await rig.events.wait(StrikeReleased)
        board.unplug_port()                                 # USB adapter pulled mid-pulse
        with pytest.raises(RelayError, match="serial port"):
            await caller
        await rig.events.wait(RelayFaulted)
        assert board.coils[0] is True
        board.plug_port()
        await rig.events.wait(RelayRecovered)
        await board.wait_coil(0, False, timeout=2)
        await strike.unlock_for(0.1)                        # and it works as before
        assert len(rig.pulses()) == 2 and strike.fault is None
    finally:
        await strike.close()


async def test_pulse_at_9600_baud():
    async with ModbusBoard(baudrate=9600) as board:
        relay = ModbusRelay(board.port, baudrate=9600)
        strike = DoorStrike(relay)
        await strike.start()
        await strike.unlock_for(0.3)
        await strike.close()
        [on, off] = board.transitions_of(0)                 # released once, then relocked
        assert on.state and not off.state
        # (That the window counts from the confirmed release, so the read-back and the relock
        # frames lengthen the pulse, is test_the_window_counts_from_the_confirmed_release.)


async def test_clear_errors_for_a_missing_port_and_a_wrong_unit(board, tmp_path):
    with pytest.raises(RelayError, match="not found"):
        await ModbusRelay(str(tmp_path / "ttyUSB9")).set(True)
    wrong = ModbusRelay(board.port, baudrate=115200, unit=9, timeout=0.2)
    with pytest.raises(RelayError, match="no answer.*unit id"):
        await wrong.set(True)
    await wrong.close()
    bad_coil = ModbusRelay(board.port, baudrate=115200, coil=99, timeout=0.2)
    with pytest.raises(RelayError, match="refused"):
        await bad_coil.set(True)
    await bad_coil.close()
    assert board.transitions == []
