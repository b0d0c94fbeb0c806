"""A running panel whose door is an OSDP reader (libosdp's PD on a pty): cards held to
the reader are checked on the panel and logged, the reader shows green or red and
beeps, and its own tamper switch is an alarm."""

from __future__ import annotations

import pytest
from osdp import CommandLEDColor

from panel.sim.osdp_device import OsdpDevice
from tests.support import make_config, start_panel, until
from tests.unit.test_access_cards import h10301


@pytest.fixture
async def reader():
    async with OsdpDevice(baudrate=115200) as r:
        yield r


@pytest.fixture
async def panel(tmp_path, reader):
    config = make_config(tmp_path, door={"backend": "osdp", "pulse_seconds": 0.3},
                         osdp={"port": reader.port, "baudrate": 115200})
    running = await start_panel(config)
    try:
        await until(lambda: running.app.strike.backend.online, what="reader online")
        yield running
    finally:
        await running.session.close()
        await running.stop()


async def entries(panel, count: int) -> list[dict]:
    async def fetch():
        events = (await panel.get_json("/events"))["events"]
        return events if len(events) >= count else None
    return await until(fetch, what=f"{count} access log entries")


def card(facility: int, number: int, **kw) -> int:
    return int(h10301(facility, number, **kw), 16) >> 6


async def test_an_enrolled_card_opens_an_unknown_one_is_refused_and_the_reader_says_so(panel, reader):
    reader.present_card(card(42, 1001))                     # Olivia Smith's, in the demo property
    await reader.wait_output(0, True)
    # The greeting follows the reader's confirmation of its output, a moment after the device switched it.
    await until(lambda: panel.app.state.screen.value == "access_granted", what="the greeting")
    await reader.wait_output(0, False)
    await reader.wait_for(lambda: len(reader.leds) >= 1)
    assert reader.leds[-1]["on_color"] == CommandLEDColor.Green

    reader.present_card(card(42, 4242))                     # nobody's
    [granted, refused] = await entries(panel, 2)
    assert (granted["method"], granted["granted"], granted["who"]) == ("card", True, "Olivia Smith")
    assert granted["credential_id"] == "card:42:1001" and granted["has_snapshot"]
    assert (refused["method"], refused["granted"], refused["reason"]) == ("card", False, "unknown_card")
    assert (await panel.get_json("/status"))["screen"] == "access_denied"
    assert (await panel.widget("This card is not registered for this building."))
    await reader.wait_for(lambda: len(reader.buzzes) >= 2)
    assert reader.leds[-1]["on_color"] == CommandLEDColor.Red and reader.buzzes[-1]["rep_count"] == 2
    assert len([t for t in reader.transitions_of(0) if t.state]) == 1    # the door opened once


async def test_a_moved_out_residents_card_and_a_misread_are_refused(panel, reader):
    await panel.app.gate.revoke("holder:r02", "moved out")       # James Smith, card 42:1002
    reader.present_card(card(42, 1002))
    reader.present_card(card(42, 1001, break_parity=True))
    revoked, misread = await entries(panel, 2)
    assert (revoked["reason"], revoked["who"]) == ("revoked", "James Smith")
    assert misread["reason"] == "card_unreadable"
    assert not any(t.state for t in reader.transitions_of(0))


async def test_the_readers_tamper_switch_is_an_alarm_in_the_log(panel, reader):
    reader.set_tamper(True)
    [alarm] = await entries(panel, 1)
    assert (alarm["method"], alarm["reason"], alarm["granted"]) == ("tamper", "reader_tamper", False)


async def test_a_maglock_on_a_reader_that_lost_power_is_locked_again_once_it_answers(tmp_path):
    async with OsdpDevice(baudrate=115200) as reader:
        config = make_config(tmp_path, door={"backend": "osdp", "mode": "fail-safe"},
                             osdp={"port": reader.port, "baudrate": 115200})
        panel = await start_panel(config)
        try:
            await reader.wait_output(0, True)               # energized: the maglock holds
            await reader.stop(power_loss=True)              # the reader's power fails: the maglock lets go
            assert reader.outputs[0] is False
            await reader.start()
            await reader.wait_output(0, True, timeout=10)   # the panel locks it again, unasked
            await until(lambda: not panel.app.strike.unlocked, what="the reader's ACK")
            assert (await panel.get_json("/status"))["door"]["relay"] == "locked"
        finally:
            await panel.session.close()
            await panel.stop()
