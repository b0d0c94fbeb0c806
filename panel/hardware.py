"""Config -> HAL objects. The one place that knows both panel.config and hal."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from hal.camera import Camera, CameraError, open_camera as _open_camera
from hal.events import OnEvent
from hal.relay import DoorStrike, RelayError

from .config import Config, ConfigError

__all__ = ["open_gpio", "open_strike", "open_inputs", "open_camera", "RelayError"]


def open_strike(cfg: Config, gpio, on_event: OnEvent) -> DoorStrike:
    """The door strike on the configured relay. An OSDP reader's own reports (cards,
    keys, its tamper switch and power, online / offline) come through the same on_event."""
    door = cfg.door
    if door.backend == "gpio":
        from hal.gpio import GpioRelay
        backend = GpioRelay(cfg.gpio.relay_pin, active_high=cfg.gpio.relay_active_high,
                            pin_factory=gpio)
    elif door.backend == "modbus":
        from hal.modbus import ModbusRelay
        m = cfg.modbus
        _check_serial_port(cfg, "modbus.port", m.port)
        backend = ModbusRelay(m.port, baudrate=m.baudrate, unit=m.unit, coil=m.coil, timeout=m.timeout_seconds)
    elif door.backend == "osdp":
        from hal.osdp import OsdpReader
        o = cfg.osdp
        _check_serial_port(cfg, "osdp.port", o.port)
        backend = OsdpReader(o.port, baudrate=o.baudrate, address=o.address, output=o.output,
                             scbk=o.scbk or None, on_event=on_event)
    else:
        raise ConfigError(f"{cfg.source}: 'door.backend' = \"{door.backend}\" is not available in this build "
                          f"(use \"gpio\", \"modbus\" or \"osdp\")")
    return DoorStrike(backend, fail_safe=door.mode == "fail-safe", alarm_after=door.alarm_after_seconds,
                      on_event=on_event)


def _check_serial_port(cfg: Config, key: str, port: str) -> None:
    """A serial port that is not there at start-up is a set-up mistake: say so and stop.

    (One that vanishes later is a run-time fault: the strike reports it and retries.)
    pyserial URLs such as socket:// or rfc2217:// are not paths and are not checked."""
    if "://" in port or os.path.exists(port):
        return
    raise ConfigError(f"{cfg.source}: '{key}' = \"{port}\": serial port not found "
                      f"(is the adapter plugged in? see ls /dev/serial/by-id/)")


def open_inputs(cfg: Config, gpio, on_event: OnEvent):
    """Door contact, exit button and tamper switch on GPIO (any door backend), or None."""
    g = cfg.gpio
    pins = [p if p >= 0 else None for p in (g.contact_pin, g.exit_pin, g.tamper_pin)]
    if all(p is None for p in pins):
        return None
    from hal.gpio import GpioInputs
    return GpioInputs(*pins, pin_factory=gpio, bounce_time=g.bounce_seconds,
                      loop=asyncio.get_running_loop(), on_event=on_event)


def open_gpio(cfg: Config):
    """The GPIO pin factory for this panel, made once and shared by relay and inputs.

    "mock" is a fresh gpiozero MockFactory with the relay output wired to the door
    contact, so the emulator's door reads "open" while the strike releases it."""
    from hal.gpio import make_pin_factory
    if cfg.gpio.pin_factory != "mock":
        return make_pin_factory(cfg.gpio.pin_factory)
    from gpiozero.pins.mock import MockFactory

    from hal.gpio import wire_mock_door
    factory = MockFactory()
    if cfg.gpio.contact_pin >= 0 and cfg.door.backend == "gpio":
        wire_mock_door(factory, cfg.gpio.relay_pin, cfg.gpio.contact_pin, fail_safe=cfg.door.mode == "fail-safe")
    return factory


def open_camera(cfg: Config, on_fault: Callable[[str | None], None] | None = None) -> Camera:
    c = cfg.camera
    try:
        return _open_camera(c.source, c.width, c.height, c.fps, on_fault=on_fault)
    except CameraError as e:
        raise ConfigError(f"{cfg.source}: 'camera.source': {e}") from None
