"""axe-core over the resident app (idle, ringing, in the call, the Open Door question,
the door open) and the property office page: no serious or critical violations."""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright, expect

from tests.a11y import axe_scan, describe
from tests.e2e.test_browser_call import CHROMIUM, FLAGS, button, stats
from tests.integration.test_calls import OLIVIA, call_olivia
from tests.support import start_cloud_and_panel, until

pytestmark = pytest.mark.e2e


@pytest.fixture
async def world(tmp_path):
    cloud, panel = await start_cloud_and_panel(tmp_path)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield cloud, panel, browser
        finally:
            await browser.close()
            await panel.session.close()
            if not panel.task.done():
                await panel.stop()
            await cloud.stop()


async def no_serious_violations(page, where: str) -> None:
    violations = await axe_scan(page)
    assert not violations, f"{where}:\n{describe(violations)}"


async def test_the_resident_app_in_every_state(world):
    cloud, panel, browser = world
    page = await (await browser.new_context(viewport={"width": 360, "height": 740})).new_page()
    await page.goto(cloud.app_link(OLIVIA))
    await expect(page.get_by_role("status")).to_have_text("Ready")
    await page.get_by_text("Invite a visitor").click()
    await no_serious_violations(page, "idle")

    await button(page, "Open Door").click()
    await expect(page.get_by_role("dialog")).to_be_visible()
    await no_serious_violations(page, "asking before Open Door")
    await button(page, "Cancel").click()

    await call_olivia(panel)
    await expect(button(page, "Accept")).to_be_visible()
    await no_serious_violations(page, "ringing")

    await button(page, "Accept").click()

    async def video():
        return (await stats(page))["videoFrames"] >= 1
    await until(video, timeout=20, what="the visitor's video")
    await no_serious_violations(page, "in the call")

    await button(page, "Open Door").click()
    await expect(page.get_by_role("heading", name="Door open")).to_be_visible()
    await no_serious_violations(page, "door open")


async def test_the_office_page(world):
    cloud, panel, browser = world
    page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
    await page.goto(f"{cloud.url}/admin?token={cloud.staff_token}")
    await expect(page.get_by_role("button", name="Move out Olivia Smith")).to_be_visible()
    await no_serious_violations(page, "the office page")
