"""The resident in a real browser: headless Chromium runs the resident web app from
the dev cloud; the visitor calls through the panel's API touches, like a HIL rig.
Buttons are found by role and accessible name, as a screen reader would."""

from __future__ import annotations

import shutil

import pytest
from playwright.async_api import async_playwright, expect

from tests.integration.test_calls import OLIVIA, call_olivia
from tests.support import start_cloud_and_panel, until

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
         "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]


@pytest.fixture
async def world(tmp_path):
    cloud, panel = await start_cloud_and_panel(tmp_path)
    async with async_playwright() as p:
        # Playwright gives every launch a fresh, throwaway profile (user data dir).
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pages = []

        async def device():
            """A new phone of Olivia's: a fresh browser context with the app signed in."""
            context = await browser.new_context()
            page = await context.new_page()
            await page.goto(cloud.app_link(OLIVIA))
            await expect(page.get_by_role("status")).to_have_text("Ready")
            pages.append(page)
            return page

        try:
            yield cloud, panel, device
        finally:
            await browser.close()
            await panel.session.close()
            if not panel.task.done():
                await panel.stop()
            await cloud.stop()


def button(page, name: str):
    return page.get_by_role("button", name=name, exact=True)


async def stats(page) -> dict:
    return await page.evaluate("window.callStats()")


async def test_two_devices_ring_one_answers_sees_and_hears_then_opens_the_door(world):
    cloud, panel, device = world
    a, b = await device(), await device()
    await call_olivia(panel)
    await expect(button(a, "Accept")).to_be_visible()
    await expect(button(b, "Accept")).to_be_visible()

    await button(a, "Accept").click()
    await expect(b.get_by_role("status")).to_have_text("Answered on another device.")
    await expect(button(b, "Accept")).to_be_hidden()

    async def media_arrived():
        s = await stats(a)
        return s["videoFrames"] >= 5 and s["audioEnergy"] > 0
    await until(media_arrived, timeout=20, what="video frames and audio in the browser")
    await until(lambda: panel.app.cloud.speaker.frames > 10 and panel.app.cloud.speaker.peak_rms > 0.001, timeout=10,
                what="the browser's microphone heard on the panel")

    await button(a, "Open Door").click()
    await until(lambda: panel.app.strike.unlocked, what="relay energized")
    await expect(a.get_by_role("status")).to_contain_text("Door opened")
    await expect(button(a, "Hang up")).to_be_hidden()          # the call ended on the device
    await until(lambda: panel.app.calls.session is None, what="call ended on the panel")
    assert (await panel.get_json("/status"))["screen"] == "door_open"
    events = (await panel.get_json("/events"))["events"]
    assert [(e["method"], e["who"]) for e in events] == [("call", "Olivia Smith")]


async def test_decline_then_call_again_then_accept_audio_only(world):
    cloud, panel, device = world
    a = await device()
    await call_olivia(panel)
    await button(a, "Decline").click()
    await until(lambda: panel.app.state.message == "declined", what="declined on the panel")
    await panel.press("Call again")
    await button(a, "Audio only").click()
    await until(lambda: panel.app.calls.session is not None and not panel.app.calls.session.video_on,
                timeout=15, what="video off at the resident's request")
    await expect(button(a, "Video on")).to_be_visible()

    async def hears_the_visitor():
        return (await stats(a))["audioEnergy"] > 0
    await until(hears_the_visitor, timeout=20, what="audio in the browser")
    await button(a, "Mute").click()
    await expect(button(a, "Unmute")).to_be_visible()
    await button(a, "Hang up").click()
    await until(lambda: panel.app.state.message == "hung_up", what="hung up on the panel")


async def test_no_answer(tmp_path):
    cloud, panel = await start_cloud_and_panel(tmp_path, call={"ring_timeout_seconds": 2})
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = await (await browser.new_context()).new_page()
            await page.goto(cloud.app_link(OLIVIA))
            await expect(page.get_by_role("status")).to_have_text("Ready")
            await call_olivia(panel)
            await expect(button(page, "Accept")).to_be_visible()
            await expect(page.get_by_role("status")).to_have_text("Missed call.", timeout=10_000)
            assert panel.app.state.message == "no_answer"
        finally:
            await browser.close()
            await panel.session.close()
            await panel.stop()
            await cloud.stop()


async def test_remote_unlock_from_the_app_without_a_call(world):
    cloud, panel, device = world
    a = await device()
    await button(a, "Open Door").click()
    await button(a.get_by_role("dialog", name="Open the door?"), "Yes, open").click()
    await until(lambda: panel.app.strike.unlocked, what="relay energized")
    await expect(a.get_by_role("status")).to_have_text("Door opened.")


async def test_browser_tab_closed_mid_call(world):
    cloud, panel, device = world
    a = await device()
    await call_olivia(panel)
    await button(a, "Accept").click()

    async def video():
        return (await stats(a))["videoFrames"] >= 1
    await until(video, timeout=20, what="video in the browser")
    await a.close()
    await until(lambda: panel.app.state.message == "gone", timeout=10, what="call ended on the panel")
    await until(lambda: panel.app.calls.session is None, what="media closed on the panel")


async def test_resident_invites_a_visitor_from_the_app(world):
    cloud, panel, device = world
    a = await device()
    await a.get_by_text("Invite a visitor").click()
    form = a.get_by_role("form", name="Invite a visitor")
    await form.get_by_label("Visitor name").fill("Cousin Bea")
    await form.get_by_label("E-mail").fill("bea@example.test")
    await form.get_by_role("button", name="Send invitation").click()
    await expect(a.get_by_role("status")).to_have_text("Invitation sent.")
    mail = await cloud.mail_sink.wait_for("bea@example.test")
    assert "Olivia Smith invited you" in mail.get_body(("plain",)).get_content()


async def test_the_phone_makes_a_rotating_key_that_opens_once(tmp_path):
    """WebCrypto Ed25519 on the phone + the panel's verifier: the code opens the door;
    the same code shown again (a screenshot) is refused as replayed."""
    cloud, panel = await start_cloud_and_panel(tmp_path, access={"dedupe_seconds": 0})
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = await (await browser.new_context()).new_page()
            await page.goto(cloud.app_link(OLIVIA))
            await expect(page.get_by_role("status")).to_have_text("Ready")
            await page.get_by_text("My key").click()
            image = page.get_by_role("img", name="My entry key")
            await expect(image).to_be_visible()
            png = await page.evaluate("""async () => {
                const r = await fetch(document.getElementById("key").src);
                return Array.from(new Uint8Array(await r.arrayBuffer()));
            }""")
            for attempt in range(2):
                async with panel.request("POST", "/camera/frame", data=bytes(png)) as r:
                    assert r.status == 200

                async def entries():
                    events = (await panel.get_json("/events"))["events"]
                    return events if len(events) > attempt else None
                events = await until(entries, what="the key decided")
            assert [(e["granted"], e["who"], e["reason"]) for e in events] == [
                (True, "Olivia Smith", ""), (False, "Olivia Smith", "replayed")]
        finally:
            await browser.close()
            await panel.session.close()
            await panel.stop()
            await cloud.stop()
