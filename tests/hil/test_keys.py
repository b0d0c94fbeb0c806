"""QR keys at the camera: granted, and refused for each reason a visitor meets;
move-in shows a resident, move-out takes their name and their keys away."""

from __future__ import annotations

from panel.access import write_qr_png
from tests.hil import flows
from tests.hil.flows import need


def qr_png(text: str, tmp_path) -> bytes:
    path = tmp_path / "key.png"
    write_qr_png(text, path)
    return path.read_bytes()


async def test_visitor_key_opens(rig, flow):
    need(rig, "office", "strike")
    key = await rig.office.invite(hours_from=-0.02, hours_until=1)
    await flows.key_opens(rig, flow, key, what="a visitor's key")


async def test_expired_key_refused(rig, flow):
    need(rig, "office")
    key = await rig.office.invite(hours_from=-3, hours_until=-1)
    await flows.key_refused(rig, flow, key, "expired", what="a key that expired an hour ago")


async def test_key_for_another_door_refused(rig, flow, tmp_path):
    need(rig, "issuer")
    text = rig.issuer.issue(holder_id="visitor-garage", holder_name="Garage Visitor", kind="visitor",
                            doors=["garage"], hours=1)
    await flows.key_refused(rig, flow, qr_png(text, tmp_path), "wrong_door", what="a key for another door")


async def test_visitor_over_the_limit_refused(rig, flow):
    need(rig, "office")
    before = await rig.office.settings()
    key = await rig.office.invite(hours_from=-3, hours_until=2)      # valid now, by its own dates
    try:
        await rig.office.settings(visitor_limit_hours=1)               # the office shortens visits
        await flows.office_reached_panel(rig)
        await flows.key_refused(rig, flow, key, "visitor_limit", what="a visitor 3 hours into a 1 hour limit")
    finally:
        await rig.office.settings(visitor_limit_hours=before["visitor_limit_hours"])


async def test_move_in_shows_move_out_revokes(rig, flow, tmp_path):
    need(rig, "office")
    tenant = await rig.office.move_in()
    try:
        await flows.find_in_directory(rig, tenant.name, tenant.last_name)
        await flow.step(f"moved in: {tenant.name} listed")
        guest = await rig.office.invite(by=tenant, name="Their Guest")
        own = qr_png(rig.issuer.issue(holder_id=tenant.id, holder_name=tenant.name, hours=24), tmp_path) \
            if rig.issuer else None
        if rig.strike is not None:
            await flows.key_opens(rig, flow, guest, what="their guest's key")
    finally:
        await rig.office.move_out(tenant.id)
    await flows.find_in_directory(rig, tenant.name, tenant.last_name, present=False)
    await flow.step(f"moved out: {tenant.name} gone")
    await flows.office_reached_panel(rig)          # the revocations came after the directory
    await flows.key_refused(rig, flow, guest, "inviter_moved_out", what="the guest key of a resident who moved out")
    if own is not None:
        await flows.key_refused(rig, flow, own, "revoked", what="the key of a resident who moved out")
