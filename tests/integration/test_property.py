"""Property management against a running panel and the dev cloud: move-in, move-out,
contact preference, visitor invitations by e-mail, the visitor time limit, and the
access log reaching the cloud exactly once, in order, across an outage."""

from __future__ import annotations

import base64
import io
import re
import time
from datetime import datetime, timedelta

import aiohttp
import cv2
import numpy as np
import pytest

from panel.access import qr_code
from panel.scanner.decoders import default_decoder
from panel.sim.softphone import Softphone
from tests.integration.test_calls import OLIVIA
from tests.support import LOOPBACK, start_cloud_and_panel, stop_world, until


class Staff:
    """The property manager, through the dev cloud's JSON API."""

    def __init__(self, cloud, session: aiohttp.ClientSession):
        self.cloud, self.session = cloud, session

    async def call(self, method: str, path: str, body=None, expect: int = 200):
        async with self.session.request(method, self.cloud.url + path, json=body,
                                        headers={"Authorization": f"Bearer {self.cloud.staff_token}"}) as r:
            data = await r.json()
            assert r.status == expect, data
            return data


@pytest.fixture
async def world(tmp_path):
    cloud, panel = await start_cloud_and_panel(tmp_path)
    session = aiohttp.ClientSession()
    phones = []

    async def phone(device: str, resident: str = OLIVIA) -> Softphone:
        p = Softphone(cloud.device_url(resident, device), device, ice_addresses=LOOPBACK)
        await p.connect()
        phones.append(p)
        return p

    try:
        yield cloud, panel, Staff(cloud, session), phone
    finally:
        await session.close()
        await stop_world(cloud, panel, phones)


def qr_png_of(credential: str) -> bytes:
    buf = io.BytesIO()
    qr_code(credential).save(buf, kind="png", scale=6, border=4)
    return buf.getvalue()


async def show(panel, png: bytes) -> None:
    async with panel.request("POST", "/camera/frame", data=png) as r:
        assert r.status == 200


async def last_event(panel, after: int = 0) -> dict:
    async def fetch():
        events = (await panel.get_json(f"/events?after={after}"))["events"]
        return events[-1] if events else None
    return await until(fetch, what="an access log entry")


async def test_move_in_appears_in_the_directory_within_a_second(world):
    cloud, panel, staff, phone = world
    tenant = await staff.call("POST", "/api/admin/residents", {"first_name": "Ingrid", "last_name": "Thorvaldsen",
                                                                "unit": "14C"}, expect=201)
    await until(lambda: panel.app.gate.directory.get(tenant["id"]) is not None, timeout=1.0, what="directory update")
    await panel.press("Directory")
    for key in "THOR":
        await panel.press(key)
    rows = [w for w in (await panel.get_json("/ui"))["widgets"] if w["id"].startswith("resident:")]
    assert rows[0]["label"] == "Ingrid Thorvaldsen"
    # And the panel keeps the directory across a restart without the cloud.
    assert any(r.id == tenant["id"] for r in panel.app.store.residents())


async def test_move_in_with_an_access_card_reaches_the_panel_and_a_bad_number_is_refused(world):
    cloud, panel, staff, phone = world
    tenant = await staff.call("POST", "/api/admin/residents", {"last_name": "Okafor", "unit": "2B",
                                                                "cards": "42:3001, 42:3002"}, expect=201)
    assert tenant["cards"] == ["42:3001", "42:3002"]
    await until(lambda: panel.app.gate.directory.card_owner("42:3002") is not None, what="cards on the panel")
    assert panel.app.gate.directory.card_owner("42:3002").id == tenant["id"]
    bad = await staff.call("POST", "/api/admin/residents", {"last_name": "Ng", "unit": "3A", "cards": ["1234"]},
                           expect=400)
    assert "FACILITY:NUMBER" in bad["error"]
    taken = await staff.call("POST", "/api/admin/residents", {"last_name": "Ng", "unit": "3A",
                                                               "cards": ["42:3001"]}, expect=409)
    assert "already" in taken["error"]


async def test_move_out_revokes_credentials_and_devices_at_once(world):
    cloud, panel, staff, phone = world
    a = await phone("phone-a")
    credential = cloud.issuer.issue(holder_id=OLIVIA, holder_name="Olivia Smith", doors=["main"],
                                    credential_id="olivia-key")
    await staff.call("DELETE", f"/api/admin/residents/{OLIVIA}")
    await until(lambda: panel.app.gate.directory.get(OLIVIA) is None, what="gone from the directory")
    await until(lambda: f"holder:{OLIVIA}" in panel.app.gate.revoked, what="revocation on the panel")
    await show(panel, qr_png_of(credential))
    entry = await last_event(panel)
    assert not entry["granted"] and entry["reason"] == "revoked"
    # Her phone is signed out; signing in again is refused, so its Open Door cannot reach the panel.
    assert (await a.expect("closed"))["type"] == "closed"
    again = Softphone(cloud.device_url(OLIVIA, "phone-a"), "phone-a")
    with pytest.raises(Exception):
        await again.connect()
    await again.close()
    # Even a device the cloud did not cut off is refused by the panel itself.
    assert not panel.app.gate.may_unlock(OLIVIA, "phone-z")


async def test_revocations_hold_offline_and_across_restart(world, tmp_path):
    cloud, panel, staff, phone = world
    await staff.call("DELETE", f"/api/admin/residents/{OLIVIA}")
    await until(lambda: f"holder:{OLIVIA}" in panel.app.gate.revoked, what="revocation on the panel")
    await panel.stop()
    await cloud.stop()
    from tests.support import make_config, start_panel
    config = make_config(tmp_path, access={"trusted_keys": cloud.issuer.trusted_keys()})
    restarted = await start_panel(config)          # no cloud this time
    try:
        assert f"holder:{OLIVIA}" in restarted.app.gate.revoked
        credential = cloud.issuer.issue(holder_id=OLIVIA, holder_name="Olivia Smith", doors=["main"])
        await show(restarted, qr_png_of(credential))
        entry = await last_event(restarted, after=0)
        assert entry["reason"] == "revoked"
    finally:
        await restarted.session.close()
        await restarted.stop()


async def test_phone_contact_preference_calls_the_phone_line(world):
    cloud, panel, staff, phone = world
    tenant = await staff.call("POST", "/api/admin/residents", {
        "first_name": "Walter", "last_name": "Oyelaran", "unit": "2D", "contact": "phone",
        "phone": "+44 20 7946 0000"}, expect=201)
    await until(lambda: panel.app.gate.directory.get(tenant["id"]) is not None, what="directory update")
    await panel.press("Directory")
    for key in "OYEL":
        await panel.press(key)
    assert (await panel.press("Walter Oyelaran"))["screen"] == "calling"
    await until(lambda: panel.app.state.ring_via == "phone", what="ringing the phone line")
    assert (await panel.get_json("/status"))["call"]["via"] == "phone"
    line = await staff.call("GET", "/api/admin/phone")
    assert line[0]["phone"] == "+442079460000" and line[0]["resident_id"] == tenant["id"]     # the number as dialled


async def invite(staff, hours: float, start: datetime | None = None, expect: int = 201, **extra):
    start = start or datetime.now() - timedelta(minutes=1)
    body = {"name": "Ada Guest", "email": "ada@example.test", "from": start.isoformat(timespec="seconds"),
            "until": (start + timedelta(hours=hours)).isoformat(timespec="seconds"), **extra}
    return await staff.call("POST", "/api/admin/invitations", body, expect=expect)


async def activation_qr(cloud, session, to: str) -> tuple[bytes, str]:
    """Follow the e-mailed link as the visitor would; return the QR PNG and its text."""
    mail = await cloud.mail_sink.wait_for(to)
    link = re.search(r"http://\S+/invite/\S+", mail.get_body(("plain",)).get_content()).group(0)
    async with session.get(link) as r:
        assert r.status == 200
        page = await r.text()
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1))
    gray = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    [text] = default_decoder().decode(gray)       # read it back, as the panel camera will
    return png, text


async def test_invitation_email_and_its_qr_opens_the_door(world):
    cloud, panel, staff, phone = world
    result = await invite(staff, hours=4)
    assert result["mailed"] and not result["invitation"]["cut_to_limit"]
    png, text = await activation_qr(cloud, staff.session, "ada@example.test")
    await show(panel, png)
    entry = await last_event(panel)
    assert entry["granted"] and entry["who"] == "Ada Guest"


async def test_invitation_outside_its_window_is_refused(world):
    cloud, panel, staff, phone = world
    await invite(staff, hours=2, start=datetime.now() + timedelta(hours=3))
    png, _ = await activation_qr(cloud, staff.session, "ada@example.test")
    await show(panel, png)
    entry = await last_event(panel)
    assert not entry["granted"] and entry["reason"] == "not_yet_valid"


async def test_48_hour_invitation_is_cut_to_a_24_hour_limit(world):
    cloud, panel, staff, phone = world
    await staff.call("PUT", "/api/admin/settings", {"visitor_limit_hours": 24})
    result = await invite(staff, hours=48)
    inv = result["invitation"]
    assert inv["cut_to_limit"] and inv["not_after"] - inv["not_before"] == pytest.approx(24 * 3600)
    assert "shortened to the property's visitor limit of 24 hours" in result["message"]


async def test_panel_refuses_a_visitor_credential_past_the_limit_even_if_it_claims_longer(world):
    cloud, panel, staff, phone = world
    await staff.call("PUT", "/api/admin/settings", {"visitor_limit_hours": 24})
    await until(lambda: panel.app.gate.visitor_limit_hours == 24, what="settings on the panel")
    # Issued straight from the key (not through the office), claiming 48 hours, now 30 h in.
    credential = cloud.issuer.issue(holder_id="v-1", holder_name="Long Stay", kind="visitor", doors=["main"],
                                    hours=48, not_before=time.time() - 30 * 3600)
    await show(panel, qr_png_of(credential))
    entry = await last_event(panel)
    assert not entry["granted"] and entry["reason"] == "visitor_limit"


async def test_visitor_access_switched_off_refuses_every_visitor_key(world):
    cloud, panel, staff, phone = world
    await invite(staff, hours=4)
    png, _ = await activation_qr(cloud, staff.session, "ada@example.test")
    await staff.call("PUT", "/api/admin/settings", {"allow_visitors": False})
    await until(lambda: panel.app.gate.allow_visitors is False, what="settings on the panel")
    await show(panel, png)
    entry = await last_event(panel)
    assert not entry["granted"] and entry["reason"] == "visitors_disabled"
    error = await invite(staff, hours=1, expect=409)
    assert "switched off" in error["error"]


async def test_access_log_reaches_the_cloud_once_and_in_order_across_an_outage(world):
    cloud, panel, staff, phone = world
    await panel.post_json("/door/open", {"who": "before"})
    await until(lambda: len(cloud.office.log) == 1, what="first entry uploaded")
    port = cloud.port
    await cloud.stop()
    await until(lambda: not panel.app.state.cloud_online, what="link down")
    for i in range(5):
        await panel.post_json("/door/open", {"who": f"offline {i}"})
    await until(lambda: len(panel.app.store.outbox_pending()) == 5, what="five entries queued")
    cloud.port = port
    await cloud.start()
    await until(lambda: len(cloud.office.log) == 6, timeout=20, what="queued entries uploaded")
    assert [e["who"] for e in cloud.office.log] == ["before"] + [f"offline {i}" for i in range(5)]
    # The last acknowledgement is on its way back: every entry is then marked sent, none resent.
    await until(lambda: panel.app.store.outbox_pending() == [], what="every entry acknowledged")
    assert len(cloud.office.log) == 6
    log = await staff.call("GET", "/api/admin/log?door=main")
    assert [e["who"] for e in log][:2] == ["offline 4", "offline 3"]        # newest first
    assert log[0]["snapshot"] is not None


async def test_a_resent_entry_is_kept_once(world):
    cloud, panel, staff, phone = world
    assert cloud.office.record("panel", 7, {"who": "x"}) is True
    assert cloud.office.record("panel", 7, {"who": "x"}) is False
    assert [e["who"] for e in cloud.office.log] == ["x"]


async def test_staff_api_needs_the_staff_token_and_explains_bad_input(world):
    cloud, panel, staff, phone = world
    async with staff.session.get(cloud.url + "/api/admin/residents") as r:
        assert r.status == 401
    error = await staff.call("POST", "/api/admin/residents", {"first_name": "No", "unit": "1"}, expect=400)
    assert "last name" in error["error"]
    error = await staff.call("POST", "/api/admin/invitations", {"name": "X", "email": "not-an-address",
                                                               "from": "2026-12-01T10:00",
                                                               "until": "2026-12-01T12:00"}, expect=400)
    assert "not an e-mail address" in error["error"]
    error = await staff.call("POST", "/api/admin/invitations", {"name": "X", "email": "x@y.test",
                                                               "from": "tomorrow", "until": "later"}, expect=400)
    assert "'from' must be a date and time" in error["error"]


async def test_a_resident_invites_a_visitor_from_their_app(world):
    cloud, panel, staff, phone = world
    start = datetime.now() - timedelta(minutes=1)
    body = {"name": "Cousin Bea", "email": "bea@example.test", "from": start.isoformat(timespec="seconds"),
            "until": (start + timedelta(hours=2)).isoformat(timespec="seconds")}
    url = f"{cloud.url}/api/resident/invitations?resident={OLIVIA}&token={cloud.device_token(OLIVIA)}"
    async with staff.session.post(url, json=body) as r:
        assert r.status == 201
        assert (await r.json())["invitation"]["invited_by"] == "Olivia Smith"
    mail = await cloud.mail_sink.wait_for("bea@example.test")
    assert "Olivia Smith invited you" in mail.get_body(("plain",)).get_content()
    async with staff.session.post(url.replace(cloud.device_token(OLIVIA), "wrong"), json=body) as r:
        assert r.status == 401
