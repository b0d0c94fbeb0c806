"""Whom a call rings, in order, with real peers on 127.0.0.1: the dev cloud and a stock
aiortc softphone as the resident's app, Kamailio as registrar/proxy (and as the trunk
for phone numbers), baresip as the resident's SIP phone and as the phone at the number.
The contact comes from the property file or the office, as a resident's would."""

from __future__ import annotations

import aiohttp
import pytest

from panel.config import SipAccount
from panel.sim.cloud import DevCloud
from panel.sim.softphone import Softphone
from tests.sip_peers import Baresip, Kamailio
from tests.support import LOOPBACK, make_config, start_panel, until

PANEL_PASSWORD, OLIVIA_PASSWORD, LINE_PASSWORD = "panel-secret", "olivia-secret", "line-secret"
NUMBER = "02079460000"              # Walter's phone, as Kamailio routes it (the trunk)


def property_file(tmp_path, kamailio: Kamailio, olivia_contact: str) -> str:
    path = tmp_path / "property.toml"
    path.write_text(f'[property]\nid = "p"\nname = "Test Court"\n\n'
                    f'[[residents]]\nid = "r01"\nfirst_name = "Olivia"\nlast_name = "Smith"\nunit = "1A"\n'
                    f'sip = "sip:olivia@{kamailio.host}"\ncontact = "{olivia_contact}"\n\n'
                    f'[[residents]]\nid = "r02"\nfirst_name = "Walter"\nlast_name = "Oyelaran"\nunit = "2D"\n'
                    f'phone = "020 7946 0000"\ncontact = "phone"\n')
    return str(path)


@pytest.fixture
async def world(tmp_path):
    """start(contact, cloud=True): Kamailio up; the dev cloud (with the same property) and a
    panel registered at Kamailio, its trunk dialling numbers through Kamailio."""
    kamailio = await Kamailio(tmp_path / "kamailio", {"panel": PANEL_PASSWORD, "olivia": OLIVIA_PASSWORD,
                                                      NUMBER: LINE_PASSWORD}).start()
    things = {"phones": [], "softphones": [], "panels": [], "cloud": None}

    async def start(contact: str = "", cloud: bool = True, ring: float = 30.0):
        prop = property_file(tmp_path, kamailio, contact)
        sections = {"directory": {"property_file": prop}, "call": {"ring_timeout_seconds": ring,
                                                                  "ice_addresses": list(LOOPBACK)}}
        if cloud and things["cloud"] is None:
            things["cloud"] = DevCloud(prop, panel_token="panel-token-for-tests")
            await things["cloud"].start()
        if cloud:
            sections["cloud"] = {"url": things["cloud"].panel_url, "token": things["cloud"].panel_token}
        config = make_config(tmp_path, **sections).replace(
            "sip", accounts=[SipAccount(uri=f"sip:panel@{kamailio.host}", password=PANEL_PASSWORD,
                                        registrar=kamailio.host)],
            listen="127.0.0.1:0", door_code="9", trunk=f"sip:{{number}}@{kamailio.host}")
        panel = await start_panel(config)
        things["panels"].append(panel)
        await until(lambda: panel.app.state.sip_online and (panel.app.state.cloud_online or not cloud),
                    what="panel registered (and linked to the cloud)")
        return panel

    async def phone(user: str = "olivia", password: str = OLIVIA_PASSWORD) -> Baresip:
        b = await Baresip(tmp_path / f"baresip-{user}-{len(things['phones'])}", user, registrar=kamailio.host,
                          password=password).start()
        things["phones"].append(b)
        async def registered():
            return "OK" in (await b.command("reginfo"))["data"]
        await until(registered, timeout=10, what=f"baresip {user} registered")
        return b

    async def softphone(device: str = "phone-a") -> Softphone:
        p = Softphone(things["cloud"].device_url("r01", device), device, ice_addresses=LOOPBACK)
        await p.connect()
        things["softphones"].append(p)
        return p

    try:
        yield start, phone, softphone, kamailio, things
    finally:
        for p in things["softphones"]:
            await p.close()
        for b in things["phones"]:
            await b.stop()
        for p in things["panels"]:
            await p.client.close()
            if not p.task.done():
                await p.stop()
        if things["cloud"] is not None:
            await things["cloud"].stop()
        await kamailio.stop()


async def call(panel, letters: str, name: str) -> None:
    await panel.press("Directory")
    for key in letters:
        await panel.press(key)
    assert (await panel.press(name))["screen"] == "calling"


def calling_on(panel, words: str):
    """The Calling screen says whom it rings now."""
    async def check():
        ui = await panel.ui()
        return any(w["id"] == "via" and w["label"] == words for w in ui["widgets"])
    return check


async def opened_by_key(panel, phone: Baresip) -> dict:
    """The resident presses 9 on the phone: the door opens, the panel hangs up; the log entry."""
    after = (await panel.get_json("/events"))["last_id"]
    await phone.command("sndcode", "9")
    await until(lambda: panel.app.strike.unlocked, what="relay energized")
    await until(lambda: panel.app.state.screen.value == "door_open", what="Door open")
    await phone.expect("CALL_CLOSED")
    async def logged():
        return (await panel.get_json(f"/events?after={after}"))["events"]
    [entry] = await until(logged, what="the opening logged")
    return entry


async def test_no_answer_on_the_app_then_the_sip_phone_rings_and_its_key_opens(world):
    start, phone, softphone, kamailio, _ = world
    olivia_desk = await phone()
    panel = await start(contact="app 2, sip")
    app = await softphone()
    await call(panel, "OLI", "Olivia Smith")
    await app.expect("incoming")                    # the app rings first, and nobody answers it
    await until(calling_on(panel, "on the app"), what="Calling ... on the app")
    assert not olivia_desk.of("CALL_INCOMING")
    assert (await app.expect("cancelled"))["reason"] == "no_answer"
    await olivia_desk.expect("CALL_INCOMING")       # then the SIP phone
    await until(calling_on(panel, f"on olivia@{kamailio.host}"), what="Calling ... on the SIP phone")
    status = (await panel.get_json("/status"))["call"]
    assert (status["step"], status["targets"]) == (2, [{"kind": "sip", "address": f"sip:olivia@{kamailio.host}"}])
    await olivia_desk.answer()
    await until(lambda: panel.app.state.screen.value == "in_call", what="In call")
    entry = await opened_by_key(panel, olivia_desk)
    assert (entry["granted"], entry["method"], entry["who"]) == (True, "sip", "Olivia Smith")


async def test_a_phone_number_rings_through_the_trunk_and_its_key_opens_logged_as_phone(world):
    start, phone, _, _, _ = world
    line = await phone(NUMBER, LINE_PASSWORD)       # the phone at Walter's number, behind the trunk
    panel = await start(cloud=False)
    await call(panel, "OYEL", "Walter Oyelaran")
    incoming = await line.expect("CALL_INCOMING")
    assert "sip:panel@" in incoming["param"]
    await until(lambda: panel.app.state.ring_via == "phone", what="ringing the phone")
    await until(calling_on(panel, f"on the phone {NUMBER}"), what="Calling ... on the phone")
    await line.answer()
    await until(lambda: panel.app.state.screen.value == "in_call", what="In call")
    await line.command("sndcode", "4")              # a wrong code first
    async def refused():
        return [e for e in (await panel.get_json("/events"))["events"] if not e["granted"]]
    [wrong] = await until(refused, what="the wrong code logged")
    assert (wrong["method"], wrong["reason"]) == ("phone", "wrong_door_code")
    entry = await opened_by_key(panel, line)
    assert (entry["granted"], entry["method"], entry["who"]) == (True, "phone", "Walter Oyelaran")


@pytest.mark.parametrize("first", ["sip", "app"])
async def test_app_and_sip_ring_together_the_first_answer_wins_the_other_stops(world, first):
    start, phone, softphone, kamailio, _ = world
    desk = await phone()
    panel = await start(contact="app & sip")
    app = await softphone()
    await call(panel, "OLI", "Olivia Smith")
    incoming = await app.expect("incoming")
    await desk.expect("CALL_INCOMING")
    await until(calling_on(panel, f"on the app and on olivia@{kamailio.host}"), what="both shown")
    if first == "sip":
        await desk.answer()
        await until(lambda: panel.app.state.screen.value == "in_call", what="In call")
        assert (await app.expect("cancelled"))["reason"] == "answered_elsewhere"
        assert panel.app.state.device.startswith("sip:olivia")      # the SIP phone's contact holds the call
        entry = await opened_by_key(panel, desk)
        assert (entry["method"], entry["granted"]) == ("sip", True)
    else:
        await app.accept(incoming["call_id"])
        await until(lambda: panel.app.state.screen.value == "in_call", what="In call")
        await desk.expect("CALL_CLOSED")            # the SIP leg is cancelled
        assert panel.app.state.device == "phone-a"
        assert (await app.open_door(incoming["call_id"]))["ok"] is True
        events = (await panel.get_json("/events"))["events"]
        assert [(e["method"], e["granted"]) for e in events] == [("call", True)]


async def test_routing_set_in_the_office_reaches_the_panel_store_and_survives_a_restart(world, tmp_path):
    start, phone, _, _, things = world
    panel = await start()
    cloud = things["cloud"]
    async with aiohttp.ClientSession() as session:
        async with session.patch(f"{cloud.url}/api/admin/residents/r01", headers={
                "Authorization": f"Bearer {cloud.staff_token}"},
                json={"contact": "app 5, phone", "phone": "020 7946 0000"}) as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["contact"] == "app 5, phone"
        async with session.patch(f"{cloud.url}/api/admin/residents/r01", headers={
                "Authorization": f"Bearer {cloud.staff_token}"}, json={"contact": "fax 5"}) as r:
            assert r.status == 400 and "'fax' is not something to ring" in (await r.json())["error"]

    def stored():
        return {r.id: (r.contact, r.phone) for r in panel.app.store.residents()}.get("r01")
    await until(lambda: stored() == ("app 5, phone", "020 7946 0000"), what="the contact in the panel's store")
    await panel.stop()
    await cloud.stop()
    things["cloud"] = None
    line = await phone(NUMBER, LINE_PASSWORD)
    restarted = await start(cloud=False)            # offline now: the store is all it has
    await call(restarted, "OLI", "Olivia Smith")    # the app is out of reach: the phone at once
    await line.expect("CALL_INCOMING")
    await until(calling_on(restarted, f"on the phone {NUMBER}"), what="Calling ... on the phone")
