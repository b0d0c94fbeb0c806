"""The hardware rig's drivers, here on gpiozero's mock pins: rig.toml read, the rig's
GPIO input following the relay contact, its screen showing a key the camera can read."""

from __future__ import annotations

import asyncio

import pytest
from gpiozero.pins.mock import MockFactory

from tests.hil import flows
from tests.hil.report import Flow
from tests.hil.rigs import remote_rig

RIG_TOML = """
[panel]
pulse_seconds = {pulse}
ring_timeout_seconds = 6

[rig]
relay_input_pin = 5          # the rig's GPIO5 <- the panel relay's NO contact
contact_output_pin = 6       # the rig's relay in the panel's door contact loop
exit_output_pin = 13         # the rig's relay across the panel's exit button
"""


async def test_a_hardware_rig_sees_the_door_at_its_own_gpio(rig, tmp_path):
    """rig.toml makes a rig whose eyes are its GPIO input; the emulator's relay board is
    wired to it here (each coil change drives the mock pin), as the relay contact would be."""
    if rig.lacks("office", "strike"):
        pytest.skip(rig.lacks("office", "strike"))
    (tmp_path / "rig.toml").write_text(RIG_TOML.format(pulse=rig.timing.pulse_seconds))
    pins = MockFactory()
    hw = await remote_rig(rig.panel.url, rig.panel.token, fingerprint=rig.fingerprint, cloud=rig.office.url,
                          staff_token=rig.office.staff_token, rig_toml=str(tmp_path / "rig.toml"), pin_factory=pins)
    wire = asyncio.create_task(_wire(rig, pins.pin(5)))
    try:
        assert hw.kind == "hardware" and hw.door_sensing and hw.exit_button is not None
        key = await hw.office.invite()
        await flows.key_opens(hw, Flow("hardware", hw), key, what="a visitor's key")
        await flows.to_home(hw)
        hw.strike.unplug = None         # (a real rig cannot pull the panel's cable either)
        assert "unplug" in hw.lacks("relay_unplug")
    finally:
        wire.cancel()
        await hw.close()


async def _wire(rig, pin) -> None:
    """The relay's contact to the rig's input: the board's coil drives the pin."""
    seen = rig.strike.mark()
    while True:
        edge = await rig.strike.wait(not pin.state, after=seen, timeout=3600)
        seen = rig.strike.edges.index(edge) + 1
        pin.drive_high() if edge.energized else pin.drive_low()


async def test_the_key_screen_shows_a_key_the_camera_can_read(tmp_path, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    import pygame
    import zxingcpp

    from panel.access import write_qr_png
    from panel.remote.keyscreen import KeyScreen
    write_qr_png("HIL-KEY-TEST", tmp_path / "key.png")
    screen = KeyScreen(fullscreen=False, size=(640, 480))
    try:
        await screen.show((tmp_path / "key.png").read_bytes())
        image = pygame.surfarray.array3d(screen.surface).swapaxes(0, 1)
        assert [r.text for r in zxingcpp.read_barcodes(image)] == ["HIL-KEY-TEST"]
        await screen.hide()
        image = pygame.surfarray.array3d(screen.surface).swapaxes(0, 1)
        assert zxingcpp.read_barcodes(image) == []
    finally:
        await screen.close()
