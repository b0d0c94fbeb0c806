"""Walking the screens of a running panel through the local API, as a HIL rig would."""

from __future__ import annotations

from tests.support import make_config, start_panel, until


async def rows(panel) -> list[dict]:
    return [w for w in (await panel.get_json("/ui"))["widgets"] if w["id"].startswith("resident:")]


async def query(panel) -> str:
    return next(w for w in (await panel.get_json("/ui"))["widgets"] if w["id"] == "search")["label"]


async def test_typing_deleting_and_clearing_on_the_keyboard(panel):
    await panel.press("Directory")
    for key in "SMJ":
        await panel.press(key)
    assert await query(panel) == "smj"
    await panel.press("Delete")
    await panel.press("I")
    assert await query(panel) == "smi"
    assert [w["label"] for w in await rows(panel)][:3] == ["James Smith", "Noah Smith", "Olivia Smith"]
    await panel.press("Clear")
    assert await query(panel) == ""
    # Paging with the arrow: the next residents, alphabetically.
    first = await rows(panel)
    await panel.press("Scroll down")
    assert (await rows(panel))[0]["label"] not in {w["label"] for w in first}


async def test_a_swipe_up_on_the_result_list_scrolls_it_by_the_rows_the_finger_moved(panel):
    await panel.press("Directory")
    before = await rows(panel)
    _, row_y, _, row_h = before[0]["rect"]
    x, y, w, h = next(w for w in (await panel.get_json("/ui"))["widgets"] if w["id"] == "results")["rect"]
    start = (x + w / 2, y + h - 10)
    result = await panel.post_json("/touch", {"x": start[0], "y": start[1],
                                              "to": {"x": start[0] + 4, "y": start[1] - 2 * row_h}})
    assert result["hit"]["id"] == "results" and result["screen"] == "directory"
    after = await rows(panel)
    assert after[0]["label"] == before[2]["label"]          # two rows up
    # A swipe down brings them back; a finger that hardly moved is a tap on the row under it.
    await panel.post_json("/touch", {"x": start[0], "y": y + 10, "to": {"x": start[0], "y": y + 10 + 2 * row_h}})
    assert (await rows(panel))[0]["label"] == before[0]["label"]
    rx, ry, rw, rh = before[1]["rect"]
    tap = await panel.post_json("/touch", {"x": rx + rw / 2, "y": ry + rh / 2,
                                           "to": {"x": rx + rw / 2 + 3, "y": ry + rh / 2 + 3}})
    assert tap["hit"]["label"] == before[1]["label"]


async def test_list_widget_describes_the_result_list(panel):
    await panel.press("Directory")
    ui = await panel.get_json("/ui")
    results = next(w for w in ui["widgets"] if w["id"] == "results")
    assert results["role"] == "list"
    x, y, w, h = results["rect"]
    for row in await rows(panel):
        rx, ry, rw, rh = row["rect"]
        assert x <= rx and y <= ry and rx + rw <= x + w and ry + rh <= y + h


async def test_german_panel_with_umlaut_keys(tmp_path):
    panel = await start_panel(make_config(tmp_path, panel={"language": "de"}))
    try:
        assert (await panel.press("Bewohner"))["screen"] == "directory"
        for key in "MÜL":
            await panel.press(key)
        first = (await rows(panel))[0]
        assert first["label"] == "Zoë Müller" and first["detail"] == "Wohnung 1C"
        result = await panel.press("Zoë Müller")
        assert result["screen"] == "call_ended"        # no cloud here: calls are unavailable
        assert (await panel.widget("Anrufe sind zurzeit nicht möglich"))["role"] == "heading"
        await panel.press("Start")
        assert (await panel.get_json("/status"))["screen"] == "home"
    finally:
        await panel.session.close()
        await panel.stop()


async def test_an_idle_directory_returns_home(tmp_path):
    panel = await start_panel(make_config(tmp_path, screen={"idle_seconds": 1}))
    try:
        await panel.press("Directory")
        await panel.press("A")

        async def home():
            return (await panel.get_json("/status"))["screen"] == "home"
        await until(home, timeout=10, what="idle return to the home screen")
        assert (await panel.widget("Directory"))["role"] == "button"
    finally:
        await panel.session.close()
        await panel.stop()
