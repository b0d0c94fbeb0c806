"""The dev cloud's SQLite file (panel/sim/cloud_db.py) against a restart of the cloud:
invitations (an activated link shows the same key; a withdrawn one stays withdrawn),
the uploaded log with its snapshots (a resend after the restart is no new entry), the
settings and the secrets the links come from."""

from __future__ import annotations

import time

import aiohttp

from panel.config import load
from panel.sim.cloud import DevCloud

PROPERTY = load(None).property_file


async def test_a_restarted_cloud_has_what_the_first_had(tmp_path):
    state = tmp_path / "cloud.db"
    first = DevCloud(PROPERTY, state_file=state)
    await first.start()
    try:
        office = first.office
        now = time.time()
        staff = office.invite(name="Guest", email="g@example.test", not_before=now, not_after=now + 3600,
                              doors=["main"], invited_by="staff")
        hosted = office.invite(name="Cousin", email="c@example.test", not_before=now, not_after=now + 3600,
                               doors=["main"], invited_by="Olivia Smith", inviter="r01")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{first.url}/invite/{staff.token}") as r:
                assert r.status == 200
        key = office.invitations[staff.id].credential
        assert key
        office.move_out("r01")
        office.set_settings(allow_visitors=False)
        assert office.record("panel", 1, {"who": "Ada", "granted": True, "snapshot": b"\xff\xd8jpeg"})
    finally:
        await first.stop()

    second = DevCloud(PROPERTY, state_file=state)
    o = second.office
    assert o.invitations[staff.id].credential == key and o.by_token(staff.token).id == staff.id
    assert o.invitations[hosted.id].withdrawn
    assert "r01" not in second.residents and o.revocations == {"holder:r01": "moved out"}
    assert o.settings.allow_visitors is False
    assert [(e["who"], e["snapshot"]) for e in o.log] == [("Ada", b"\xff\xd8jpeg")]
    assert o.record("panel", 1, {"who": "Ada"}) is False          # the panel resending: kept once
    assert (second.secret, second.staff_token, second.panel_token) == (first.secret, first.staff_token,
                                                                      first.panel_token)
    assert second.app_link("r02").split("?")[1] == first.app_link("r02").split("?")[1]
