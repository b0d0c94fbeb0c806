"""hal.gpio on gpiozero's MockFactory: pin factories, relay polarity, inputs, the mock door.

GpioInputs debounces on the running loop (call_later), so its timing is asserted
exactly on looptime's virtual clock (the tests marked looptime)."""

import asyncio
import threading

import looptime  # noqa: F401  (the plugin behind pytest.mark.looptime: the dev extra)
import pytest
from gpiozero.pins.mock import MockFactory

from hal.events import DoorContactChanged, ExitPressed, TamperChanged
from hal.gpio import GpioInputs, GpioRelay, make_pin_factory, wire_mock_door
from hal.relay import DoorStrike, RelayError
from tests.support import Events

pytestmark = pytest.mark.timeout(10)


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
                        on_event=inputs_events)
    assert inputs.door_open is False and inputs.tamper_active is None
    strike = DoorStrike(GpioRelay(17, pin_factory=factory))
    await strike.start()
    await strike.unlock_for(0.1)
    await inputs_events.wait(count=2)
    assert inputs_events.events == [DoorContactChanged(open=True), DoorContactChanged(open=False)]
    await strike.close()
    inputs.close()


async def test_mock_door_fail_safe(factory):
    loop = asyncio.get_running_loop()
    relay_pin, contact_pin = wire_mock_door(factory, 17, 27, fail_safe=True)
    events = Events()
    inputs = GpioInputs(27, pin_factory=factory, bounce_time=None, loop=loop, on_event=events)
    assert inputs.door_open is True                  # a de-energized maglock holds nothing
    strike = DoorStrike(GpioRelay(17, pin_factory=factory), fail_safe=True)
    await strike.start()                             # energized: locked, contact closed
    await strike.unlock_for(0.05)
    await events.wait(count=3)
    assert [e.open for e in events.of(DoorContactChanged)] == [False, True, False]
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
    inputs = GpioInputs(27, 22, 23, pin_factory=factory, bounce_time=0.02, loop=loop, on_event=events)
    contact, button, tamper = (factory.pin(n) for n in (27, 22, 23))
    contact.drive_low()
    button.drive_high()
    tamper.drive_low()                               # the installer closes the case
    await events.wait(count=2)
    events.log.clear()

    for _ in range(5):                               # a bouncing reed switch: one edge
        contact.drive_high()
        contact.drive_low()
    contact.drive_high()
    for _ in range(3):                               # a bouncing button: one press
        button.drive_low()
        button.drive_high()
    button.drive_low()
    await events.wait(count=2)
    contact.drive_low()                              # a clean close, to end the sequence
    button.drive_high()                              # a release reports nothing
    tamper.drive_high()                              # case opened
    await events.wait(count=4)
    assert sorted(events.events[:2], key=repr) == [DoorContactChanged(open=True), ExitPressed()]
    assert events.events[2:] == [DoorContactChanged(open=False), TamperChanged(active=True, source="panel")]
    assert inputs.door_open is False and inputs.tamper_active is True
    inputs.close()


async def test_edges_from_another_thread_arrive_on_the_loop(factory):
    loop = asyncio.get_running_loop()
    events = Events()
    inputs = GpioInputs(None, 22, None, pin_factory=factory, bounce_time=None, loop=loop, on_event=events)
    button = factory.pin(22)
    worker = threading.Thread(target=button.drive_low)   # gpiozero calls back on its own threads
    worker.start()
    worker.join()
    await events.wait(ExitPressed)
    assert events.events == [ExitPressed()]
    assert events.threads == {threading.get_ident()}
    inputs.close()


async def test_a_listener_that_raises_is_logged_not_fatal(factory, caplog):
    loop = asyncio.get_running_loop()
    events = Events()

    def listener(event):
        events(event)
        raise RuntimeError("listener bug")

    inputs = GpioInputs(None, 22, None, pin_factory=factory, bounce_time=None, loop=loop, on_event=listener)
    button = factory.pin(22)
    button.drive_low()
    button.drive_high()
    button.drive_low()
    await events.wait(ExitPressed, count=2)          # the second press still arrives
    assert "listener bug" in caplog.text
    inputs.close()


# -- debounce timing, exact on the virtual clock -------------------------------------------

def now():
    return round(asyncio.get_running_loop().time(), 6)


@pytest.mark.looptime
async def test_a_level_is_reported_exactly_bounce_time_after_its_last_edge(factory):
    events = Events()
    inputs = GpioInputs(27, 22, None, pin_factory=factory, bounce_time=0.02, loop=asyncio.get_running_loop(),
                        on_event=events)
    contact, button = factory.pin(27), factory.pin(22)
    contact.drive_low()                              # the door is closed
    await events.wait(DoorContactChanged)
    events.log.clear()

    t0 = now()
    contact.drive_high()                             # opens, bounces back 15 ms later, opens again
    await asyncio.sleep(0.015)
    contact.drive_low()
    await asyncio.sleep(0.015)
    contact.drive_high()                             # the last edge: t0 + 0.03
    await events.wait(DoorContactChanged)
    assert events.events == [DoorContactChanged(open=True)]
    assert events.times() == [round(t0 + 0.03 + 0.02, 6)]

    t1 = now()
    button.drive_low()                               # a 19 ms blip: shorter than bounce_time
    await asyncio.sleep(0.019)
    button.drive_high()
    await asyncio.sleep(1)
    assert ExitPressed not in events.kinds
    t2 = now()
    button.drive_low()                               # held: reported 20 ms after the edge
    await events.wait(ExitPressed)
    assert events.times(ExitPressed) == [round(t2 + 0.02, 6)] and t2 == round(t1 + 1.019, 6)
    inputs.close()


@pytest.mark.looptime
async def test_without_bounce_time_an_edge_is_reported_at_the_same_instant(factory):
    events = Events()
    inputs = GpioInputs(None, 22, 23, pin_factory=factory, bounce_time=None, loop=asyncio.get_running_loop(),
                        on_event=events)
    await asyncio.sleep(0.5)
    t0 = now()
    factory.pin(23).drive_low()                      # the case is closed
    factory.pin(22).drive_low()                      # and the button pressed
    await events.wait(count=2)
    assert events.events == [TamperChanged(active=False, source="panel"), ExitPressed()]
    assert events.times() == [t0, t0]
    inputs.close()
