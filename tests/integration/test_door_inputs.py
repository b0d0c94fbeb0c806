"""The door's inputs on a running panel with gpiozero's mock pins: the exit button,
a forced door, a door held open, the tamper switch. Each ends up in the access log."""

from __future__ import annotations

from tests.support import make_config, start_panel, until


async def run_panel(tmp_path, **door):
    config = make_config(tmp_path, door=door, gpio={"tamper_pin": 23})
    return await start_panel(config)


async def log_reasons(panel) -> list[tuple[str, str]]:
    return [(e["method"], e["reason"]) for e in (await panel.get_json("/events"))["events"]]


async def test_exit_button_opens_the_door_and_is_logged(tmp_path):
    panel = await run_panel(tmp_path)
    try:
        button = panel.app.gpio.pin(22)
        button.drive_low()                  # pressed (normally open, to ground)
        await until(lambda: panel.app.strike.unlocked, what="relay energized")
        button.drive_high()
        async def logged():
            return [e for e in (await panel.get_json("/events"))["events"] if e["method"] == "exit"]
        [entry] = await until(logged, what="exit logged")
        assert entry["granted"]
        assert (await panel.get_json("/status"))["screen"] == "home"    # the visitor's screen is not disturbed
    finally:
        await panel.session.close()
        await panel.stop()


async def test_door_forced_open_is_an_alarm(tmp_path):
    panel = await run_panel(tmp_path)
    try:
        panel.app.gpio.pin(27).drive_high()     # the contact opens with the strike locked
        async def alarm():
            return ("contact", "door_forced") in await log_reasons(panel)
        await until(alarm, what="door forced logged")
        assert not panel.app.strike.unlocked
    finally:
        await panel.session.close()
        await panel.stop()


async def test_door_held_open_too_long_is_an_alarm(tmp_path):
    panel = await run_panel(tmp_path, pulse_seconds=3, held_open_seconds=1)
    try:
        await panel.post_json("/door/open", {"who": "delivery"})   # the mock door swings open with the strike
        async def alarm():
            return ("contact", "door_held_open") in await log_reasons(panel)
        await until(alarm, what="door held open logged")
        assert ("contact", "door_forced") not in await log_reasons(panel)
    finally:
        await panel.session.close()
        await panel.stop()


async def test_tamper_switch_is_an_alarm(tmp_path):
    panel = await run_panel(tmp_path)
    try:
        tamper = panel.app.gpio.pin(23)
        tamper.drive_low()                  # loop closed: case shut
        await until(lambda: panel.app.door.inputs.tamper_active is False, what="tamper loop closed (debounced)")
        tamper.drive_high()                 # opened, or the wire cut
        async def alarm():
            return ("tamper", "tamper") in await log_reasons(panel)
        await until(alarm, what="tamper logged")
    finally:
        await panel.session.close()
        await panel.stop()
