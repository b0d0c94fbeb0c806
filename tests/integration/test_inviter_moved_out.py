"""Move-out withdraws the visitor keys the resident handed out: the panel refuses a
visitor key whose inviter is revoked (holder:<inviter>), offline, from the key alone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import aiohttp
import pytest

from tests.integration.test_calls import OLIVIA
from tests.integration.test_property import Staff, activation_qr, last_event, show
from tests.support import start_cloud_and_panel, stop_world, until


@pytest.fixture
async def world(tmp_path):
    # dedupe 0: the same key shown again is decided again (before and after the move-out)
    cloud, panel = await start_cloud_and_panel(tmp_path, access={"dedupe_seconds": 0})
    session = aiohttp.ClientSession()
    try:
        yield cloud, panel, Staff(cloud, session)
    finally:
        await session.close()
        await stop_world(cloud, panel)


async def resident_invites(cloud, session, email: str, start: datetime, hours: float = 2) -> dict:
    body = {"name": "Cousin Bea", "email": email, "from": start.isoformat(timespec="seconds"),
            "until": (start + timedelta(hours=hours)).isoformat(timespec="seconds")}
    url = f"{cloud.url}/api/resident/invitations?resident={OLIVIA}&token={cloud.device_token(OLIVIA)}"
    async with session.post(url, json=body) as r:
        assert r.status == 201, await r.text()
        return await r.json()


async def test_move_out_withdraws_the_visitor_keys_the_resident_issued(world):
    cloud, panel, staff = world
    await resident_invites(cloud, staff.session, "bea@example.test", datetime.now() - timedelta(minutes=1))
    png, _ = await activation_qr(cloud, staff.session, "bea@example.test")
    await show(panel, png)
    assert (await last_event(panel))["granted"]

    await staff.call("DELETE", f"/api/admin/residents/{OLIVIA}")
    await until(lambda: f"holder:{OLIVIA}" in panel.app.gate.revoked, what="revocation on the panel")
    before = (await panel.get_json("/events"))["events"][-1]["id"]
    await show(panel, png)
    entry = await last_event(panel, after=before)
    assert not entry["granted"] and entry["reason"] == "inviter_moved_out"


async def test_an_invitation_not_yet_activated_gives_no_key_after_move_out(world):
    cloud, panel, staff = world
    await resident_invites(cloud, staff.session, "later@example.test", datetime.now() + timedelta(days=30))
    await staff.call("DELETE", f"/api/admin/residents/{OLIVIA}")
    mail = await cloud.mail_sink.wait_for("later@example.test")
    link = re.search(r"http://\S+/invite/\S+", mail.get_body(("plain",)).get_content()).group(0)
    async with staff.session.get(link) as r:
        page = await r.text()
        assert r.status == 410 and "data-credential" not in page and "withdrawn" in page


async def test_an_invitation_naming_a_door_the_property_has_not_is_refused(world):
    cloud, panel, staff = world
    start = datetime.now()
    body = {"name": "Cousin Bea", "email": "bea@example.test", "from": start.isoformat(timespec="seconds"),
            "until": (start + timedelta(hours=1)).isoformat(timespec="seconds"), "doors": ["main", "vault"]}
    url = f"{cloud.url}/api/resident/invitations?resident={OLIVIA}&token={cloud.device_token(OLIVIA)}"
    async with staff.session.post(url, json=body) as r:
        assert r.status == 400
        assert (await r.json())["error"] == "no door 'vault' at this property: use one of main"
    error = await staff.call("POST", "/api/admin/invitations", {**body, "doors": ["garage"]}, expect=400)
    assert "no door 'garage'" in error["error"]
    assert cloud.office.invitations == {}
