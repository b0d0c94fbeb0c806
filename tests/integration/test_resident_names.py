"""Names and units from any source are cleaned at the directory's door: a NUL, control
characters, a lone surrogate or an over-long name from the cloud or a file leave the panel,
its directory screen and its store working for everyone; the office refuses them."""

from __future__ import annotations

import asyncio

from panel.directory import LIMITS, load_property
from tests.integration.test_inviter_moved_out import world  # noqa: F401  (the dev cloud, a panel, the staff)
from tests.support import make_config, start_panel, until

# Within the cloud link's length bound (panel/sync.py refuses a longer field's whole update),
# longer than a name may be on the panel.
HOSTILE = {"id": "r-bad", "first_name": "Ev\x00e", "last_name": "Ad\x1b[2Jams\ud800" + "x" * 150,
           "unit": "9\nZ\u202e", "display_name": "", "cards": []}


async def test_a_hostile_name_from_the_cloud_leaves_the_directory_working(world, tmp_path):
    cloud, panel, staff = world
    olivia = {"id": "r01", "first_name": "Olivia", "last_name": "Smith", "unit": "1A"}
    # What a cloud without the office's checks could send (not through the dev office's rules).
    await cloud._to_panel({"type": "directory", "residents": [HOSTILE, olivia]})
    await until(lambda: panel.app.gate.directory.get("r-bad"), what="the directory update")
    assert (await panel.press("Directory"))["screen"] == "directory"
    labels = [w["label"] for w in (await panel.ui())["widgets"]]
    [shown] = [label for label in labels if label.startswith("Ev")]
    assert shown.startswith("Ev e Ad [2Jams x") and len(shown) <= LIMITS["first_name"] + LIMITS["last_name"] + 1
    assert not any(c < " " or "\ud800" <= c <= "\udfff" for c in shown)
    assert "Olivia Smith" in labels
    for key in "SMI":
        await panel.press(key)
    assert "Olivia Smith" in [w["label"] for w in (await panel.ui())["widgets"]]
    async with panel.request("GET", "/screen.png") as r:
        assert r.status == 200
    # The store kept the cleaned directory: the panel still runs and reads it back.
    assert not panel.task.done()
    assert {r.id for r in await asyncio.to_thread(panel.app.store.residents)} == {"r-bad", "r01"}


async def test_the_office_refuses_control_characters_and_absurd_lengths(world):
    cloud, panel, staff = world
    error = await staff.call("POST", "/api/admin/residents", {"first_name": "Ev\x00e", "last_name": "Adams",
                                                              "unit": "9"}, expect=400)
    assert "first_name contains a control character" in error["error"]
    error = await staff.call("POST", "/api/admin/residents", {"last_name": "x" * 500, "unit": "9"}, expect=400)
    assert "last_name is too long" in error["error"]
    assert all("Adams" not in r["last_name"] for r in await staff.call("GET", "/api/admin/residents"))


async def test_a_property_file_with_a_nul_in_a_name_starts_a_working_panel(tmp_path):
    prop = tmp_path / "property.toml"
    prop.write_text('[property]\nname = "X"\n[[residents]]\nid = "r1"\nfirst_name = "Ana\\u0000"\n'
                    'last_name = "Lima\\u0007\\u0085"\nunit = "2\\tB"\n'
                    f'[[residents]]\nid = "r2"\nlast_name = "{"y" * 5000}"\nunit = "{"9" * 5000}"\n', encoding="utf-8")
    ana, long = load_property(prop).residents
    assert (ana.full_name, ana.unit) == ("Ana Lima", "2 B")
    assert (len(long.last_name), len(long.unit)) == (LIMITS["last_name"], LIMITS["unit"])
    panel = await start_panel(make_config(tmp_path, directory={"property_file": str(prop)}))
    try:
        await panel.press("Directory")
        await panel.widget("Ana Lima")
    finally:
        await panel.client.close()
        await panel.stop()


async def test_a_genuine_key_with_a_nul_in_its_holder_name_greets_cleanly(world):
    cloud, panel, staff = world
    from tests.integration.test_property import last_event, qr_png_of, show
    key = cloud.issuer.issue(holder_id="r01", holder_name="Olivia\x00\x1b Smith\u202e", doors=["main"])
    await show(panel, qr_png_of(key))
    entry = await last_event(panel)
    assert entry["granted"] and entry["who"] == "Olivia Smith"
    async with panel.request("GET", "/screen.png") as r:
        assert r.status == 200
