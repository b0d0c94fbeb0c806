"""The resident app as a calling app, in headless Chromium on a phone (360x740) and a
desktop (1280x800): it rings full screen with the visitor's picture and the door's
name, with a ringtone, and a notification when in the background; in the call the
buttons fit; the door opening shows; Open Door without a call asks first; refusals
are words; the history lists calls and door openings; it is an installable web app."""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright, expect

from tests.e2e.test_browser_call import CHROMIUM, FLAGS, button, stats
from tests.integration.test_calls import OLIVIA, call_olivia
from tests.support import start_cloud_and_panel, until

pytestmark = pytest.mark.e2e

VIEWPORTS = {"phone": (360, 740), "desktop": (1280, 800)}
DOOR = "Main entrance"          # [panel] door_name's default, the tests' panels keep it

# The tab in the background, as a browser reports it: headless Chromium keeps every tab
# "visible" (another tab in front, a minimised window), so the page's own view is set.
HIDE = """() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.dispatchEvent(new Event("visibilitychange"));
}"""
NOTIFICATIONS = """async () => (await (await navigator.serviceWorker.ready).getNotifications())
                              .map(n => ({ title: n.title, body: n.body, icon: n.icon }))"""


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
async def world(request, tmp_path):
    width, height = VIEWPORTS[request.param]
    cloud, panel = await start_cloud_and_panel(tmp_path)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)

        async def device():
            """Olivia's phone: notifications allowed, the app signed in, its service worker running."""
            context = await browser.new_context(viewport={"width": width, "height": height})
            await context.grant_permissions(["notifications"], origin=cloud.url)
            page = await context.new_page()
            await page.goto(cloud.app_link(OLIVIA))
            await expect(page.get_by_role("status")).to_have_text("Ready")
            await page.evaluate("navigator.serviceWorker.ready")
            return page

        try:
            yield cloud, panel, device
        finally:
            await browser.close()
            await panel.session.close()
            if not panel.task.done():
                await panel.stop()
            await cloud.stop()


async def one_row_inside(page, names: list[str]) -> None:
    """The buttons side by side on one line, each inside the viewport, no label wrapped or cut."""
    size = page.viewport_size
    boxes = [await button(page, n).bounding_box() for n in names]
    for name, box in zip(names, boxes):
        assert box is not None, f"{name} not shown"
        assert 0 <= box["x"] and box["x"] + box["width"] <= size["width"], f"{name} sticks out: {box}"
        assert 0 <= box["y"] and box["y"] + box["height"] <= size["height"], f"{name} below the fold: {box}"
        assert box["y"] == boxes[0]["y"] and box["height"] == boxes[0]["height"], f"{name} not on the row: {boxes}"
        fits = await button(page, name).evaluate("b => b.scrollWidth <= b.clientWidth")
        assert fits, f"{name}'s label does not fit its button"
    assert all(a["x"] + a["width"] <= b["x"] for a, b in zip(boxes, boxes[1:])), f"overlapping: {boxes}"


async def test_it_rings_full_screen_with_the_visitor_and_the_door_then_the_call_fits(world):
    cloud, panel, device = world
    phone = await device()
    await call_olivia(panel)

    picture = phone.get_by_role("img", name=f"The visitor at {DOOR}")
    await expect(picture).to_be_visible()
    width, height = await picture.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert 0 < width <= 320 and 0 < height <= 320          # the panel camera's frame, made small for the ring
    await expect(phone.get_by_role("heading", name=DOOR)).to_be_visible()
    box, size = await picture.bounding_box(), phone.viewport_size
    assert box["width"] * box["height"] > 0.2 * size["width"] * size["height"], "the picture is not the screen"
    await one_row_inside(phone, ["Decline", "Accept"])

    async def ringtone_sounds():
        return await phone.evaluate("window.ringtoneLevel()") > 0.01
    await until(ringtone_sounds, what="the ringtone playing")

    await button(phone, "Accept").click()
    await expect(picture).to_be_hidden()

    async def ringtone_silent():
        return await phone.evaluate("window.ringtoneLevel()") == 0
    await until(ringtone_silent, what="the ringtone stopped on accept")

    async def video():
        return (await stats(phone))["videoFrames"] >= 3
    await until(video, timeout=20, what="the visitor's video")
    box = await phone.locator("video").bounding_box()
    assert box["width"] >= 0.9 * min(size["width"], 560) or box["height"] >= 0.5 * size["height"], box
    await one_row_inside(phone, ["Mute", "Video off", "Hang up"])
    await one_row_inside(phone, ["Open Door"])

    await button(phone, "Open Door").click()
    await expect(phone.get_by_role("heading", name="Door open")).to_be_visible()
    await expect(phone.get_by_text(f"{DOOR} is unlocked for a few seconds.")).to_be_visible()
    await until(lambda: panel.app.strike.unlocked, what="relay energized")
    await expect(phone.get_by_role("status")).to_have_text("Door opened. Call ended.")
    await expect(button(phone, "Hang up")).to_be_hidden()
    await button(phone, "Done").click()
    await expect(phone.get_by_role("heading", name="Olivia Smith")).to_be_visible()


async def test_a_notification_with_the_visitor_when_the_app_is_in_the_background(world):
    cloud, panel, device = world
    phone = await device()
    await call_olivia(panel)                        # in front: it rings on screen, no notification
    await expect(button(phone, "Accept")).to_be_visible()
    assert await phone.evaluate(NOTIFICATIONS) == []
    await button(phone, "Decline").click()
    await until(lambda: panel.app.state.message == "declined", what="declined on the panel")

    await phone.evaluate(HIDE)
    await panel.press("Call again")

    async def notified():
        return await phone.evaluate(NOTIFICATIONS)
    shown = await until(notified, what="a notification")
    assert [n["title"] for n in shown] == [f"Somebody is at {DOOR}"]
    assert shown[0]["icon"].startswith("data:image/jpeg;base64,")       # the visitor's picture
    await button(phone, "Accept").click()

    async def closed():
        return await phone.evaluate(NOTIFICATIONS) == []
    await until(closed, what="the notification gone once answered")


async def test_open_door_without_a_call_asks_first(world):
    cloud, panel, device = world
    phone = await device()
    await button(phone, "Open Door").click()
    dialog = phone.get_by_role("dialog", name="Open the door?")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("Nobody is calling")
    await button(dialog, "Cancel").click()
    await expect(dialog).to_be_hidden()
    assert not [m for m in cloud.log if m.get("type") == "remote_unlock"]      # nothing was sent

    await button(phone, "Open Door").click()
    await button(dialog, "Yes, open").click()
    await until(lambda: panel.app.strike.unlocked, what="relay energized")
    await expect(phone.get_by_role("heading", name="Door open")).to_be_visible()
    await expect(phone.get_by_text(f"{DOOR} is unlocked for a few seconds.")).to_be_visible()


async def test_a_refusal_is_said_in_words(world):
    cloud, panel, device = world
    phone = await device()
    lost = await phone.evaluate("sessionStorage.getItem('device')")
    # The office withdraws this phone (reported lost): the panel refuses it from then on.
    cloud.office.revocations[f"device:{lost}"] = "lost"
    await cloud._to_panel({"type": "revocations", "ids": sorted(cloud.office.revocations)})
    await until(lambda: not panel.app.gate.may_unlock(OLIVIA, lost), what="the panel has the revocation")

    await button(phone, "Open Door").click()
    await button(phone.get_by_role("dialog"), "Yes, open").click()
    alert = phone.get_by_role("alert")
    await expect(alert).to_have_text(f"{DOOR} did not open: this phone may no longer open it. "
                                     "Ask the property office.")
    assert not panel.app.strike.unlocked


async def test_the_history_lists_calls_with_the_visitor_and_door_openings(world):
    cloud, panel, device = world
    phone = await device()
    await call_olivia(panel)
    await button(phone, "Decline").click()
    await until(lambda: panel.app.state.message == "declined", what="declined on the panel")
    await button(phone, "Open Door").click()
    await button(phone.get_by_role("dialog"), "Yes, open").click()
    await expect(phone.get_by_role("heading", name="Door open")).to_be_visible()
    await button(phone, "Done").click()

    history = phone.get_by_role("list").filter(has=phone.get_by_role("listitem")).last
    items = history.get_by_role("listitem")
    await expect(items).to_have_count(2)
    await expect(items.nth(0)).to_contain_text(f"Door opened from the app · {DOOR}")
    await expect(items.nth(1)).to_contain_text(f"Declined · {DOOR}")
    visitor = items.nth(1).get_by_role("img")
    await expect(visitor).to_have_attribute("alt", "The visitor, " + await items.nth(1).locator("time").inner_text())
    assert await visitor.evaluate("i => i.complete && i.naturalWidth > 0"), "the visitor's picture did not load"


async def test_installable_manifest_icons_and_service_worker(world):
    cloud, panel, device = world
    phone = await device()
    manifest = await phone.evaluate("""async () => {
        const r = await fetch(document.querySelector("link[rel=manifest]").href);
        const sw = await fetch("/sw.js");
        return { type: r.headers.get("content-type"), body: await r.json(), sw: sw.headers.get("content-type") };
    }""")
    assert manifest["type"].split(";")[0] == "application/manifest+json"
    assert manifest["sw"].split(";")[0] == "text/javascript"
    body = manifest["body"]
    assert (body["display"], body["start_url"]) == ("standalone", "/app")
    assert body["name"] and body["theme_color"] and body["background_color"]
    for icon in body["icons"]:
        got = await phone.evaluate("""async (src) => { const r = await fetch(src);
            const image = new Image();
            image.src = src;
            const drawn = await image.decode().then(() => image.naturalWidth || "any", () => null);
            return [r.status, r.headers.get("content-type"), drawn]; }""", icon["src"])
        assert got[0] == 200 and got[1].split(";")[0] == icon["type"] and got[2], (icon, got)
        if icon["sizes"] != "any":
            assert f"{got[2]}x{got[2]}" == icon["sizes"], (icon, got)

    worker = await phone.evaluate("navigator.serviceWorker.ready.then(r => [r.active.scriptURL, r.scope])")
    assert worker == [f"{cloud.url}/sw.js", f"{cloud.url}/"]
    await phone.reload()
    await expect(phone.get_by_role("status")).to_have_text("Ready")
    assert await phone.evaluate("navigator.serviceWorker.controller !== null"), "the worker does not serve the app"
    kept = await phone.evaluate("""async () => {
        const out = [];
        for (const name of await caches.keys())
            for (const r of await (await caches.open(name)).keys()) out.push(new URL(r.url).pathname);
        return out; }""")
    assert "/app" in kept and "/static/app.js" in kept
    assert not [k for k in kept if k.startswith(("/api/", "/ws/"))], kept     # calls and history always live
