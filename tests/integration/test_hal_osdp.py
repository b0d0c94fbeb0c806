"""The OSDP backend against a real peer: libosdp's own PD (panel.sim.osdp_device) on a pty.

The behaviour every relay backend shares (pulse length, extension, cancellation,
start-up relock, fail-safe) runs for OSDP in test_hal_relay.py; here is what only
OSDP has: the reader's timer, feedback, card reads, tamper, the secure channel, and
a reader that dies and comes back (libosdp would wait 300 s; we re-enable it).
The reader runs on real threads and a real pty, so these tests assert order and
content: what the reader did (OsdpDevice.transitions, with their cause: the panel's
command or the reader's own timer) and the exact commands it received (the timer
value of an osdp_OUT, in tenths of a second); never a measured duration. The
strike's timing rules, the device timer's included, are asserted exactly on a
virtual clock in tests/unit/test_hal_strike_timing.py. Waits are on events.
"""

import asyncio
import threading

import pytest
from osdp import Command, CommandLEDColor

from hal.events import (CardPresented, ReaderOffline, ReaderOnline, RelayFaulted, RelayRecovered, RelayStuck,
                        StrikeReleased, StrikeRelocked, TamperChanged)
from hal.osdp import MAX_PULSE, OsdpReader
from hal.relay import DoorStrike, RelayError
from panel.remote import PanelProcess
from panel.sim.osdp_device import OsdpDevice
from tests.support import Events

pytestmark = pytest.mark.timeout(20)

KEY = "00112233445566778899aabbccddeeff"


@pytest.fixture
async def reader():
    async with OsdpDevice(baudrate=115200) as r:
        yield r


@pytest.fixture
async def relay(reader):
    events = Events()
    r = OsdpReader(reader.port, baudrate=115200, timeout=0.3, reconnect_seconds=0.2, on_event=events)
    r.events = events
    yield r
    await r.close()


def pulses(reader, output=0):
    out, on_at = [], None
    for t in reader.transitions_of(output):
        if t.state and on_at is None:
            on_at = t.time
        elif not t.state and on_at is not None:
            out.append((on_at, t.time - on_at))
            on_at = None
    return out


def output_commands(reader):
    return [(r.command["control_code"], r.command["timer_count"]) for r in reader.received_of(Command.Output)]


async def test_set_drives_the_output_with_permanent_commands(reader, relay):
    await relay.set(True)
    assert reader.outputs[0] is True
    await relay.set(False)
    assert reader.outputs[0] is False
    codes = [r.command["control_code"] for r in reader.received_of(Command.Output)]
    assert codes == [2, 1]                                  # permanent on / off, aborting any timer
    assert relay.online and relay.events.events[0] == ReaderOnline(secure=False)


async def test_the_reader_times_an_armed_pulse_even_if_the_panel_dies(reader, relay):
    await relay.set(False)
    assert await relay.arm_pulse(0.3) == 0.3
    await relay.close()                                     # the panel process is gone: no relock command
    await reader.wait_output(0, False, timeout=3)
    [_] = pulses(reader)
    assert [t.cause for t in reader.transitions_of(0)] == ["command", "timer"]   # the reader relocked
    assert output_commands(reader) == [(1, 0), (5, 3)]      # 0.3 s = 3 tenths; nothing after it


async def test_a_relock_aborts_the_armed_timer(reader, relay):
    await relay.set(False)
    await relay.arm_pulse(5)
    await relay.set(False)
    assert reader.outputs[0] is False and not reader.timer_running(0)
    assert len(pulses(reader)) == 1


async def test_arm_pulse_is_capped_at_what_the_binding_can_carry(reader, relay):
    await relay.set(False)
    assert await relay.arm_pulse(60) == MAX_PULSE
    assert reader.received_of(Command.Output)[-1].command["timer_count"] == 255
    await relay.set(False)


async def test_the_strike_releases_on_the_reader_timer_and_relocks_first(reader, relay):
    strike = DoorStrike(relay, device_guard=0.5)
    try:
        await strike.start()
        await strike.unlock_for(0.3)
        [_] = pulses(reader)
        # start-up relock, then on for 0.3 s + 0.5 s guard timed by the reader, then off
        assert output_commands(reader) == [(1, 0), (5, 8), (1, 0)]
        off = reader.transitions_of(0)[-1]
        assert off.cause == "command" and off.time == reader.received_of(Command.Output)[-1].time
        # (the strike's own relock came first: the reader's timer never ran out)
        assert not reader.timer_running(0)
    finally:
        await strike.close()


class ShortTimerRelay(OsdpReader):
    """A reader whose output timer holds at most 0.4 s a command (libosdp's binding: 25.5 s)."""

    async def arm_pulse(self, seconds, *, energized=True):
        return await super().arm_pulse(min(seconds, 0.4), energized=energized)


async def test_a_window_longer_than_the_reader_timer_is_re_armed_without_a_gap(reader):
    relay = ShortTimerRelay(reader.port, baudrate=115200, timeout=0.3)
    strike = DoorStrike(relay, device_guard=0.2)
    try:
        await strike.start()
        await strike.unlock_for(1.2)
        [_] = pulses(reader)                                # one unbroken release
        assert [t.cause for t in reader.transitions_of(0)] == ["command", "command"]   # no timer ran out
        commands = output_commands(reader)
        assert [code for code, _ in commands].count(5) >= 4
        assert commands[0] == (1, 0) and commands[-1] == (1, 0)
        arms = [ticks for code, ticks in commands if code == 5]
        assert arms[0] == 4 and all(0 < ticks <= 4 for ticks in arms)   # never more than the 0.4 s it takes
    finally:
        await strike.close()
        await relay.close()


async def test_the_door_relocks_by_itself_when_the_panel_process_is_killed_mid_pulse(reader, tmp_path):
    config = tmp_path / "panel.toml"
    config.write_text(f"""
[panel]
state_dir = "{tmp_path}/state"
[api]
port = 0
token = "hil-token-for-this-test"
[door]
backend = "osdp"
pulse_seconds = 0.5
[osdp]
port = "{reader.port}"
[gpio]
pin_factory = "mock"
[camera]
source = "synthetic"
[audio]
microphone = "tone"
speaker = "sink"
""")
    panel = await PanelProcess.run(config).astart()
    try:
        async with panel.client() as api:
            await api.open_door("hil")
        await reader.wait_output(0, True)
        await panel.akill()                                 # kill -9: no relock command will come
        await reader.wait_output(0, False, timeout=5)
    finally:
        await panel.akill()
    [_] = pulses(reader)
    assert [t.cause for t in reader.transitions_of(0)] == ["command", "timer"]   # the reader's timer relocked
    assert output_commands(reader)[-1] == (5, 15)           # pulse_seconds 0.5 + the 1 s guard, in tenths


async def test_granted_and_refused_feedback(reader, relay):
    assert await relay.granted()
    assert await relay.refused()
    green, red = reader.leds
    assert green["on_color"] == CommandLEDColor.Green and green["temporary"] and green["timer_count"] == 30
    assert red["on_color"] == CommandLEDColor.Red and red["temporary"]
    short, double = reader.buzzes
    assert short["rep_count"] == 1 and double["rep_count"] == 2 and double["off_count"] > 0


async def test_feedback_to_a_reader_that_is_down_returns_false(reader, relay):
    await relay.set(False)
    await reader.stop()
    assert await relay.granted() is False                   # does not raise


async def test_card_read_is_delivered_on_the_loop_thread(reader, relay):
    await relay.set(False)
    reader.present_card(0x2A5F3C1, bits=26)
    await relay.events.wait(CardPresented)
    [card] = relay.events.of(CardPresented)
    assert card == CardPresented(format="wiegand", bits=26, data=(0x2A5F3C1 << 6).to_bytes(4, "big").hex(), reader=0)
    assert relay.events.threads == {threading.get_ident()}


async def test_reader_tamper_is_reported(reader, relay):
    await relay.set(False)
    reader.set_tamper(True)
    await relay.events.wait(TamperChanged)
    reader.set_tamper(False)
    await relay.events.wait(TamperChanged, count=2)
    assert relay.events.of(TamperChanged) == [TamperChanged(True, "reader"), TamperChanged(False, "reader")]


async def test_reader_killed_mid_pulse_faults_and_relocks_when_it_boots_again(reader, relay):
    events = relay.events
    strike = DoorStrike(relay, alarm_after=0.6, retry_interval=0.05, on_event=events)
    try:
        await strike.start()
        caller = asyncio.create_task(strike.unlock_for(0.3))
        await events.wait(StrikeReleased)
        await reader.stop()                                 # hung: the output stays on
        with pytest.raises(RelayError, match="no answer"):
            await caller
        assert strike.unlocked and strike.fault
        await events.wait(RelayStuck)
        assert reader.outputs[0] is True                    # still released: why we alarmed
        assert events.of(RelayStuck)[0].seconds == 0.6

        await reader.start()                                # boots afresh: libosdp would wait 300 s
        await events.wait(StrikeRelocked, count=2, timeout=8)
        assert reader.outputs[0] is False and not strike.unlocked and strike.fault is None
        kinds = events.kinds
        assert kinds.count(RelayFaulted) == 1 and kinds.index(RelayRecovered) > kinds.index(RelayStuck)
        assert ReaderOffline in kinds and kinds.count(ReaderOnline) == 2
        await strike.unlock_for(0.1)                        # and it works as before
        assert len(pulses(reader)) == 2
    finally:
        await strike.close()


async def test_reader_that_lost_power_is_relocked_by_the_panel_after_boot(reader, relay):
    await relay.set(True)
    await reader.stop(power_loss=True)
    assert reader.outputs[0] is False
    await reader.start()
    await relay.events.wait(ReaderOnline, count=2, timeout=8)
    await relay.set(False)
    assert reader.outputs[0] is False


async def test_secure_channel_with_a_key():
    async with OsdpDevice(scbk=KEY) as reader:
        events = Events()
        relay = OsdpReader(reader.port, scbk=KEY, timeout=0.5, on_event=events)
        strike = DoorStrike(relay, on_event=events)
        try:
            await strike.start()
            assert relay.secure and reader.secure
            assert events.of(ReaderOnline) == [ReaderOnline(secure=True)]
            await strike.unlock_for(0.2)
            [_] = pulses(reader)
            assert output_commands(reader) == [(1, 0), (5, 12), (1, 0)]     # 0.2 s + the 1 s guard
            assert events.kinds[-3:] == [StrikeRelocked, StrikeReleased, StrikeRelocked]
        finally:
            await strike.close()


async def test_a_wrong_key_keeps_the_reader_offline_and_says_why():
    async with OsdpDevice(scbk=KEY) as reader:
        relay = OsdpReader(reader.port, scbk="ff" * 16, timeout=0.5)
        try:
            with pytest.raises(RelayError, match="secure channel key"):
                await relay.set(True)
            assert reader.received_of(Command.Output) == [] and not relay.secure
        finally:
            await relay.close()


async def test_pulse_at_9600_baud():
    async with OsdpDevice(baudrate=9600) as reader:
        relay = OsdpReader(reader.port, baudrate=9600)
        strike = DoorStrike(relay)
        await strike.start()
        await strike.unlock_for(0.3)
        await strike.close()
        [_] = pulses(reader)                                # released once, relocked by the strike
        # start-up relock, on for 0.3 s + the 1 s guard, the strike's relock, close()'s relock
        assert output_commands(reader) == [(1, 0), (5, 13), (1, 0), (1, 0)]
        assert reader.transitions_of(0)[-1].cause == "command"


async def test_serial_port_vanishing_and_returning(reader, relay):
    events = relay.events
    strike = DoorStrike(relay, alarm_after=30, retry_interval=0.05, on_event=events)
    try:
        await strike.start()
        caller = asyncio.create_task(strike.unlock_for(0.3))
        await events.wait(StrikeReleased)
        reader.unplug_port()                                # USB adapter pulled mid-pulse
        with pytest.raises(RelayError, match="serial port"):
            await caller
        assert reader.outputs[0] is True
        reader.plug_port()
        await events.wait(RelayRecovered, timeout=8)
        await reader.wait_output(0, False, timeout=2)
        await strike.unlock_for(0.1)
        assert len(pulses(reader)) == 2 and strike.fault is None
    finally:
        await strike.close()


async def test_clear_errors_for_a_missing_port_and_a_wrong_address(reader, tmp_path):
    with pytest.raises(RelayError, match="not found"):
        await OsdpReader(str(tmp_path / "ttyUSB9")).set(True)
    wrong = OsdpReader(reader.port, address=9, timeout=0.3)
    try:
        with pytest.raises(RelayError, match="reader offline.*wrong address"):
            await wrong.set(True)
    finally:
        await wrong.close()
    assert reader.received == []
