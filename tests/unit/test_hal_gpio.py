"""hal.gpio on gpiozero's MockFactory: pin factories, relay polarity, inputs, the mock door."""

import asyncio
import threading

import pytest
from gpiozero.pins.mock import MockFactory

from hal.gpio import GpioInputs, GpioRelay, make_pin_factory, wire_mock_door
from hal.relay import DoorStrike, RelayError

pytestmark = pytest.mark.timeout(10)


class Events:
    def __init__(self):
        self.log: list[tuple[str, dict]] = []
        self.threads: set[int] = set()
        self._changed = asyncio.Event()

    def __call__(self, name, data):
        self.log.append((name, data))
        self.threads.add(threading.get_ident())
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait(self, count, timeout=5.0):
        async with asyncio.timeout(timeout):
            while len(self.log) < count:
                await self._changed.wait()


@pytest.fixture
def factory():
    return MockFactory()


def states(pin):
    return [s.state for s in pin.states]


def test_pin_factories_by_name():
    assert make_pin_factory("mock") is make_pin_factory("mock")    # one GPIO header a process
    with pytest.raises(ValueError, match="lgpio"):
        make_pin_factory("pigpiod")


def test_unavailable_pin_factory_is_a_relay_error(monkeypatch):
    import hal.gpio
    monkeypatch.setitem(hal.gpio.PIN_FACTORIES, "lgpio", "no_such_gpio_module:Factory")
    monkeypatch.delitem(hal.gpio._factories, "lgpio", raising=False)
    with pytest.raises(RelayError, match="'lgpio' is not available"):
        make_pin_factory("lgpio")


async def test_active_low_relay_drives_the_pin_low_to_energize(factory):
    relay = GpioRelay(17, active_high=False, pin_factory=factory)
    pin = relay.pin
    await relay.set(True)
    assert relay.energized and pin.state is False
    await relay.set(False)
    assert pin.state is True
    await relay.close()


async def test_a_pin_left_high_by_a_crashed_process_is_released_at_start(factory):
    crashed = GpioRelay(17, pin_factory=factory)
    await crashed.set(True)
    await crashed.close()                       # the process died: nobody drove it low
    relay = GpioRelay(17, pin_factory=factory)  # finds the pin as it was left
    assert relay.pin.state is True
    strike = DoorStrike(relay)
    await strike.start()
    assert relay.pin.state is False and not strike.unlocked
    assert states(relay.pin)[-2:] == [True, False]
    await strike.close()


async def test_a_closed_device_is_a_fault_not_a_crash(factory):
    relay = GpioRelay(17, pin_factory=factory)
    strike = DoorStrike(relay, retry_interval=0.01)
    await strike.start()
    relay._device.close()                       # the pin was taken away under the strike
    with pytest.raises(RelayError):
        await strike.unlock_for(1)
    assert strike.fault
    await strike.close()


async def test_mock_door_contact_opens_while_the_strike_is_released(factory):
    loop = asyncio.get_running_loop()
    wire_mock_door(factory, 17, 27)
    inputs_events = Events()
    inputs = GpioInputs(27, None, None, pin_factory=factory, bounce_time=0.01, loop=loop,
                        callback=inputs_events)
    assert inputs.door_open is False and inputs.tamper_active is None
    strike = DoorStrike(GpioRelay(17, pin_factory=factory))
    await strike.start()
    await strike.unlock_for(0.1)
    await inputs_events.wait(2)
    assert inputs_events.log == [("door_contact", {"open": True}), ("door_contact", {"open": False})]
    await strike.close()
    inputs.close()


async def test_mock_door_fail_safe(factory):
    loop = asyncio.get_running_loop()
    relay_pin, contact_pin = wire_mock_door(factory, 17, 27, fail_safe=True)
    events = Events()
    inputs = GpioInputs(27, pin_factory=factory, bounce_time=None, loop=loop, callback=events)
    assert inputs.door_open is True                  # a de-energized maglock holds nothing
    strike = DoorStrike(GpioRelay(17, pin_factory=factory), fail_safe=True)
    await strike.start()                             # energized: locked, contact closed
    await strike.unlock_for(0.05)
    await events.wait(3)
    assert [d["open"] for _, d in events.log] == [False, True, False]
    assert relay_pin.state is True and contact_pin.state is False
    await strike.close()
    inputs.close()


def test_wire_mock_door_refuses_pins_already_in_use(factory):
    GpioRelay(17, pin_factory=factory)
    with pytest.raises(ValueError, match="already in use"):
        wire_mock_door(factory, 17, 27)


async def test_inputs_are_debounced(factory):
    loop = asyncio.get_running_loop()
    events = Events()
    inputs = GpioInputs(27, 22, 23, pin_factory=factory, bounce_time=0.02, loop=loop, callback=events)
    contact, button, tamper = (factory.pin(n) for n in (27, 22, 23))
    contact.drive_low()
    button.drive_high()
    tamper.drive_low()                               # the installer closes the case
    await events.wait(2)
    events.log.clear()

    for _ in range(5):                               # a bouncing reed switch: one edge
        contact.drive_high()
        contact.drive_low()
    contact.drive_high()
    for _ in range(3):                               # a bouncing button: one press
        button.drive_low()
        button.drive_high()
    button.drive_low()
    await events.wait(2)
    contact.drive_low()                              # a clean close, to end the sequence
    button.drive_high()                              # a release reports nothing
    tamper.drive_high()                              # case opened
    await events.wait(4)
    assert sorted(events.log[:2], key=str) == [("door_contact", {"open": True}), ("exit_pressed", {})]
    assert events.log[2:] == [("door_contact", {"open": False}), ("tamper", {"active": True})]
    assert inputs.door_open is False and inputs.tamper_active is True
    inputs.close()


async def test_edges_from_another_thread_arrive_on_the_loop(factory):
    loop = asyncio.get_running_loop()
    events = Events()
    inputs = GpioInputs(None, 22, None, pin_factory=factory, bounce_time=None, loop=loop, callback=events)
    button = factory.pin(22)
    worker = threading.Thread(target=button.drive_low)   # gpiozero calls back on its own threads
    worker.start()
    worker.join()
    await events.wait(1)
    assert events.log == [("exit_pressed", {})]
    assert events.threads == {threading.get_ident()}
    inputs.close()


async def test_a_callback_that_raises_is_logged_not_fatal(factory, caplog):
    loop = asyncio.get_running_loop()
    events = Events()

    def callback(name, data):
        events(name, data)
        raise RuntimeError("listener bug")

    inputs = GpioInputs(None, 22, None, pin_factory=factory, bounce_time=None, loop=loop, callback=callback)
    button = factory.pin(22)
    button.drive_low()
    button.drive_high()
    button.drive_low()
    await events.wait(2)                             # the second press still arrives
    assert "listener bug" in caplog.text
    inputs.close()
