"""The product's acceptance flows, each written once as a function of a rig (and the
flow's record for the report). The test files run them; test_suite_itself.py runs
some against a deliberately broken panel to show how they fail.

A flow uses only the rig: the panel's local API, its event stream, the cloud's staff
API, the resident's browser, and the rig's own eyes on the relay.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from playwright.async_api import expect

from panel.remote.rig import Rig, Tenant
from tests.hil.report import Flow
from tests.hil.resident import Browser, button, call_stats, status


def need(rig: Rig, *needs: str) -> None:
    """Skip this flow, with the reason, when the rig cannot do what it needs."""
    why = rig.lacks(*needs)
    if why:
        pytest.skip(why)


def access(granted: bool, **fields) -> dict:
    return {"kind": "access", "granted": granted, **fields}


def call(state: str, **fields) -> dict:
    return {"kind": "call", "state": state, **fields}


def marks(rig: Rig) -> tuple[int, int]:
    """Where the relay's edges and the event stream are now."""
    return (rig.strike.mark() if rig.strike else 0), rig.events.mark()


async def released_nothing(rig: Rig, strike_mark: int, mark: int, until: dict, what: str) -> dict:
    """Wait for the event `until` and check the door was not released before it, at the
    relay and in the panel's own word."""
    end = await rig.events.wait_not({"kind": "door", "state": "released"}, after=mark, quiet=until,
                                    timeout=rig.wait_for_panel(3), what=what)
    if rig.strike is not None:
        edges = rig.strike.edges_since(strike_mark)
        assert not edges, f"the door was released at the {rig.strike.name} though {what}: {edges}"
    return end


# -- the visitor at the screen ---------------------------------------------------------------

LEAVE = ("OK", "Back", "Cancel", "Done")        # the buttons a visitor taps to get back home


async def to_home(rig: Rig, timeout: float = 10.0) -> None:
    """Tap OK / Back / Cancel until the home screen shows, as a visitor walking away would not
    but the next one would."""
    end = time.monotonic() + rig.wait_for_panel(timeout)
    while True:
        ui = await rig.panel.ui()
        if ui["screen"] in ("home", "out_of_order"):
            return
        leave = next((w for w in ui["widgets"] if w["role"] == "button" and w["label"] in LEAVE), None)
        if leave is not None:
            x, y, w, h = leave["rect"]
            await rig.panel.touch(x + w / 2, y + h / 2)
        elif time.monotonic() > end:
            raise AssertionError(f"expected to get back to the home screen; still on {ui['screen']}: "
                                 f"{[w['label'] for w in ui['widgets']]}")
        else:
            await asyncio.sleep(0.1)

async def find_in_directory(rig: Rig, name: str, last_name: str, *, present: bool = True,
                            timeout: float = 10.0) -> dict | None:
    """Directory, type the first letters of the last name; the resident's button (None
    when `present` is False and they are not listed). Retries while the panel's directory
    catches up with the cloud's."""
    end = time.monotonic() + rig.wait_for_panel(timeout)
    seen: list[str] = []
    while True:
        if (await rig.panel.screen()) != "directory":
            await to_home(rig)
            await rig.panel.press("Directory")
        await clear_search(rig)
        for letter in last_name[:6].upper():
            await rig.panel.press(letter)
        widgets = (await rig.panel.ui())["widgets"]
        seen = [w["label"] for w in widgets if w["id"].startswith("resident:")]
        hit = next((w for w in widgets if w["id"].startswith("resident:") and w["label"] == name), None)
        if (hit is not None) == present:
            return hit
        if time.monotonic() > end:
            raise AssertionError(f"expected {name!r} {'listed' if present else 'gone'} in the panel's directory "
                                 f"after typing {last_name[:6].upper()!r}; listed: {seen}")
        await asyncio.sleep(0.2)        # the cloud's directory push is on its way


async def clear_search(rig: Rig) -> None:
    widgets = {w["id"]: w for w in (await rig.panel.ui())["widgets"]}
    if widgets.get("search", {}).get("label") and "key:clear" in widgets:
        x, y, w, h = widgets["key:clear"]["rect"]
        await rig.panel.touch(x + w / 2, y + h / 2)


async def office_reached_panel(rig: Rig) -> None:
    """Everything the office sent the panel so far has been applied. The cloud sends on one
    socket, in order: a resident moved in after it and listed on the panel's screen
    proves the panel took in what came before (settings, revocations)."""
    probe = await rig.office.move_in(first_name="Probe")
    try:
        await find_in_directory(rig, probe.name, probe.last_name)
    finally:
        await rig.office.move_out(probe.id)
    await to_home(rig)


async def call_from_directory(rig: Rig, flow: Flow, tenant: Tenant) -> dict:
    """A visitor finds the resident in the directory and taps them: the panel rings them."""
    hit = await find_in_directory(rig, tenant.name, tenant.last_name)
    await flow.step(f"directory: {tenant.name} found")
    mark = rig.events.mark()
    x, y, w, h = hit["rect"]
    answer = await rig.panel.touch(x + w / 2, y + h / 2)
    assert answer["screen"] == "calling", f"tapping {tenant.name} showed {answer['screen']}, not calling"
    ringing = await rig.events.wait(call("ringing"), after=mark, timeout=rig.wait_for_panel(5),
                                    what=f"the panel ringing {tenant.name}")
    await flow.step("ringing")
    return ringing


# -- flows -------------------------------------------------------------------------------------

async def call_answered_opens_door(rig: Rig, flow: Flow, browser: Browser, tenant: Tenant) -> None:
    phone = await browser.phone(tenant.app_link)
    await flow.step("home")
    ringing = await call_from_directory(rig, flow, tenant)
    await expect(button(phone, "Accept")).to_be_visible()
    mark = rig.events.mark()
    await button(phone, "Accept").click()
    await rig.events.wait(call("answered", call_id=ringing["call_id"]), after=mark, timeout=rig.wait_for_panel(5),
                          what="the call answered on the panel")

    seen = {}

    async def media():
        seen.update(await call_stats(phone))
        return seen["videoFrames"] >= 3 and seen["audioEnergy"] > 0
    await until(media, rig.wait_for_panel(15), "the panel's video and sound in the resident's browser",
                seen=lambda: seen)
    await flow.step("in the call")
    log_mark = rig.events.mark()
    await rig.door_released_by(lambda: button(phone, "Open Door").click(), what="Open Door in the call")
    await expect(status(phone)).to_contain_text("Door opened")
    entry = await rig.events.wait(access(True, method="call"), after=log_mark, timeout=rig.wait_for_panel(2),
                                  what="the access log entry of the door opened in the call")
    assert entry["who"] == tenant.name, f"the log names {entry['who']!r}, not {tenant.name!r}"
    await rig.events.wait(call("ended"), after=mark, timeout=rig.wait_for_panel(3), what="the call ended")
    await flow.step("door opened")
    await phone.context.close()


async def ring(rig: Rig, flow: Flow, browser: Browser, tenant: Tenant):
    """The resident's phone signed in, the visitor calls them, it rings: (phone, marks...)."""
    phone = await browser.phone(tenant.app_link)
    strike_mark, mark = marks(rig)
    await call_from_directory(rig, flow, tenant)
    await expect(button(phone, "Accept")).to_be_visible()
    return phone, strike_mark, mark


async def decline_then_call_again(rig: Rig, flow: Flow, browser: Browser, tenant: Tenant) -> None:
    phone, strike_mark, mark = await ring(rig, flow, browser, tenant)
    await button(phone, "Decline").click()
    await released_nothing(rig, strike_mark, mark, call("ended", reason="declined"), "the resident declined")
    await flow.step("declined")
    mark = rig.events.mark()
    await rig.panel.press("Call again")
    ringing = await rig.events.wait(call("ringing"), after=mark, timeout=rig.wait_for_panel(5),
                                    what="ringing again after Call again")
    await button(phone, "Accept").click()
    await rig.events.wait(call("answered", call_id=ringing["call_id"]), after=mark, timeout=rig.wait_for_panel(5),
                          what="the second call answered")
    await flow.step("answered the second time")
    await button(phone, "Hang up").click()
    await released_nothing(rig, strike_mark, mark, call("ended", reason="hung_up"), "the resident hung up")
    await flow.step("hung up")
    await phone.context.close()


async def no_answer(rig: Rig, flow: Flow, browser: Browser, tenant: Tenant) -> None:
    phone, strike_mark, mark = await ring(rig, flow, browser, tenant)
    end = await rig.events.wait(call("ended"), after=mark,
                                timeout=rig.wait_for_panel(rig.timing.ring_timeout_seconds),
                                what=f"the call given up after the ring timeout ({rig.timing.ring_timeout_seconds:g} s)")
    assert end["reason"] == "no_answer", f"the call ended with {end['reason']!r}, not no_answer"
    await released_nothing(rig, strike_mark, mark, call("ended"), "nobody answered")
    await expect(status(phone)).to_have_text("Missed call.")
    await flow.step("no answer")
    await phone.context.close()


async def remote_unlock(rig: Rig, flow: Flow, browser: Browser, tenant: Tenant) -> None:
    phone = await browser.phone(tenant.app_link)
    mark = rig.events.mark()
    await button(phone, "Open Door").click()            # without a call the app asks first
    await rig.door_released_by(lambda: button(phone.get_by_role("dialog", name="Open the door?"), "Yes, open").click(),
                               what="Open Door in the app")
    await expect(status(phone)).to_have_text("Door opened.")
    entry = await rig.events.wait(access(True, method="app"), after=mark, timeout=rig.wait_for_panel(2),
                                  what="the access log entry of the remote unlock")
    assert entry["who"] == tenant.name
    await flow.step("opened from the app")
    await phone.context.close()


async def key_opens(rig: Rig, flow: Flow, png: bytes, *, what: str = "a valid key") -> dict:
    """Show the key; the door is released at the relay and relocks; the log says granted."""
    mark = rig.events.mark()
    await rig.door_released_by(lambda: rig.show_key(png), what=what, then=rig.hide_key)
    entry = await rig.events.wait(access(True, method="qr"), after=mark, timeout=rig.wait_for_panel(2),
                                  what=f"the access log granting {what}")
    await flow.step(f"{what}: opened")
    return entry


async def key_refused(rig: Rig, flow: Flow, png: bytes, reason: str, *, what: str) -> dict:
    """Show the key; the log refuses it for `reason` and the relay never moved."""
    strike_mark, mark = marks(rig)
    await rig.show_key(png)
    try:
        entry = await rig.events.wait({"kind": "access", "method": "qr"}, after=mark, timeout=rig.wait_for_panel(3),
                                      what=f"the panel's decision on {what}")
    finally:
        await rig.hide_key()
    assert not entry["granted"], f"{what}: the panel let it in (expected refused for {reason!r}): {entry}"
    assert entry["reason"] == reason, f"{what}: refused for {entry['reason']!r}, expected {reason!r} ({entry})"
    await released_nothing(rig, strike_mark, mark, access(False, method="qr"), f"{what} was shown")
    await flow.step(f"{what}: refused ({reason})")
    return entry


async def until(condition, timeout: float, what: str, seen=lambda: None):
    """A bounded wait on the browser (Playwright answers only when asked); `seen()`: what
    the failure message shows as last seen."""
    end = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > end:
            last = seen()
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}"
                                 + (f"; last seen: {last}" if last is not None else ""))
        await asyncio.sleep(0.1)


# -- faults -------------------------------------------------------------------------------------

def alarm(reason: str) -> dict:
    return {"kind": "alarm", "reason": reason}


def door(state: str) -> dict:
    return {"kind": "door", "state": state}


async def relay_fault_out_of_order_recovery(rig: Rig, flow: Flow) -> None:
    """The relay board's cable is pulled: an open request is not released and logged so,
    the panel says it is out of order; the cable back: the fault clears, the door opens."""
    mark, strike_mark = rig.events.mark(), rig.strike.mark()
    rig.strike.unplug()
    try:
        await rig.panel.open_door("HIL rig")
        await rig.events.wait(door("fault"), after=mark, timeout=rig.wait_for_panel(3),
                              what="the panel reporting the relay fault")
        entry = await rig.events.wait(access(False, method="api"), after=mark, timeout=rig.wait_for_panel(3),
                                      what="the access log saying the door was not released")
        assert entry["reason"] == "door_not_released", entry
        await rig.panel.until_status(lambda s: s["screen"] == "out_of_order", timeout=rig.wait_for_panel(10),
                                     what="the out-of-order screen")
        await flow.step("relay unplugged: out of order")
    finally:
        rig.strike.plug()
    await rig.events.wait(door("fault_cleared"), after=mark, timeout=rig.wait_for_panel(5),
                          what="the fault cleared once the relay board is back")
    assert not [e for e in rig.strike.edges_since(strike_mark) if e.energized], \
        "the door was released while the panel reported a fault"
    await rig.panel.until_status(lambda s: s["screen"] == "home", timeout=rig.wait_for_panel(5),
                                 what="the home screen again after the fault cleared")
    await flow.step("relay back: in order")
    await rig.door_released_by(lambda: rig.panel.open_door("HIL rig"), what="an open request after the recovery")
    await flow.step("opens again")


async def cloud_down_key_still_opens(rig: Rig, flow: Flow, key: bytes) -> None:
    mark = rig.events.mark()
    await rig.stop_cloud()
    try:
        await rig.events.wait({"kind": "link", "state": "down"}, after=mark, timeout=rig.wait_for_panel(15),
                              what="the panel noticing the cloud is gone")
        await flow.step("cloud down")
        await key_opens(rig, flow, key, what="a key while the cloud is down")
    finally:
        mark = rig.events.mark()
        await rig.start_cloud()
    await rig.events.wait({"kind": "link", "state": "up"}, after=mark, timeout=rig.wait_for_panel(30),
                          what="the panel linked to the cloud again")
    await flow.step("cloud back")


async def restart_mid_release(rig: Rig, flow: Flow) -> None:
    """The panel dies (kill -9) with the door released: once back, the door is relocked at
    the relay and the log still holds the release."""
    mark, strike_mark = rig.events.mark(), rig.strike.mark()
    asked = await rig.panel.open_door("HIL restart")
    await rig.strike.wait(True, after=strike_mark, timeout=rig.wait_for_panel(2),
                          what=f"the door released at the {rig.strike.name}")
    await flow.step("released")
    killed_at = time.monotonic()
    await rig.restart_panel(True)
    off = await rig.strike.wait(False, after=strike_mark, timeout=rig.wait_for_panel(10),
                                what=f"the door relocked at the {rig.strike.name} after the restart")
    await rig.events.wait(door("relocked"), after=mark, timeout=rig.wait_for_panel(10),
                          what="the restarted panel telling the door relocked")
    assert off.time > killed_at, (f"the door relocked {killed_at - off.time:.2f} s before the panel was killed: "
                                  f"the pulse is too short for this flow")
    await flow.step("restarted: relocked")
    log = (await rig.panel.events())["events"]
    mine = [e for e in log if e.get("release_id") == asked["release_id"] or e.get("who") == "HIL restart"]
    assert mine, f"the release asked for before the restart is not in the log: last entries {log[-5:]}"
    granted = [e for e in mine if e.get("kind", "access") == "access" and e.get("granted")]
    assert len(granted) <= 1, f"the release is logged twice: {granted}"


async def door_forced(rig: Rig, flow: Flow) -> None:
    mark = rig.events.mark()
    await rig.open_door_by_hand()
    try:
        await rig.events.wait(alarm("door_forced"), after=mark, timeout=rig.wait_for_panel(3),
                              what="the door-forced alarm")
        await flow.step("door forced")
    finally:
        await rig.close_door_by_hand()


async def door_held_open(rig: Rig, flow: Flow, held_open_seconds: float) -> None:
    mark = rig.events.mark()
    await rig.door_released_by(lambda: rig.panel.open_door("HIL held"), what="an open request")
    await rig.open_door_by_hand()
    try:
        await rig.events.wait(alarm("door_held_open"), after=mark, timeout=rig.wait_for_panel(held_open_seconds),
                              what=f"the held-open alarm ({held_open_seconds:g} s)")
        await flow.step("door held open")
    finally:
        await rig.close_door_by_hand()


async def exit_button_opens(rig: Rig, flow: Flow) -> None:
    async def press():
        await rig.exit_button.on()
        await asyncio.sleep(0.2)            # a finger's press: held, then let go
        await rig.exit_button.off()
    mark = rig.events.mark()
    await rig.door_released_by(press, what="the exit button")
    await rig.events.wait(access(True, method="exit"), after=mark, timeout=rig.wait_for_panel(2),
                          what="the access log entry of the exit button")
    await flow.step("exit button: opened")
