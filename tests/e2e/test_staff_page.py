"""The property office page in headless Chromium: a staff member moves a resident in,
invites a visitor, and sees the visitor's entry in the access log."""

from __future__ import annotations

from datetime import datetime, timedelta

import aiohttp
import pytest
from playwright.async_api import async_playwright, expect

from tests.e2e.test_browser_call import CHROMIUM, FLAGS
from tests.integration.test_property import activation_qr, show
from tests.support import start_cloud_and_panel, until

pytestmark = pytest.mark.e2e


async def test_staff_moves_in_a_resident_invites_a_visitor_and_sees_the_entry(tmp_path):
    cloud, panel = await start_cloud_and_panel(tmp_path)
    session = aiohttp.ClientSession()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = await (await browser.new_context()).new_page()
            await page.goto(f"{cloud.url}/admin?token={cloud.staff_token}")

            move_in = page.get_by_role("form", name="Move in")
            await move_in.get_by_label("First name").fill("Ingrid")
            await move_in.get_by_label("Last name").fill("Thorvaldsen")
            await move_in.get_by_label("Apartment").fill("14C")
            await move_in.get_by_role("button", name="Move in").click()
            await expect(page.get_by_role("status")).to_have_text("Ingrid Thorvaldsen moved in to 14C.")
            await expect(page.get_by_role("button", name="Move out Ingrid Thorvaldsen")).to_be_visible()
            await until(lambda: any(r.full_name == "Ingrid Thorvaldsen" for r in panel.app.gate.directory.residents),
                        what="the new resident in the panel directory")

            start = datetime.now() - timedelta(minutes=5)
            invite = page.get_by_role("form", name="Invite a visitor")
            await invite.get_by_label("Visitor name").fill("Ada Guest")
            await invite.get_by_label("E-mail").fill("ada@example.test")
            await invite.get_by_label("From").fill(start.strftime("%Y-%m-%dT%H:%M"))
            await invite.get_by_label("Until").fill((start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
            await invite.get_by_role("button", name="Send invitation").click()
            await expect(page.get_by_role("status")).to_have_text("Invitation sent.")

            png, _ = await activation_qr(cloud, session, "ada@example.test")
            await show(panel, png)
            await until(lambda: panel.app.strike.unlocked, what="the visitor's key opened the door")
            log = page.locator("#log")
            await expect(log).to_contain_text("Ada Guest", timeout=10_000)
            await expect(log).to_contain_text("Opened")
            await expect(page.get_by_role("img", name="Snapshot of Ada Guest")).to_be_visible()
        finally:
            await browser.close()
            await session.close()
            await panel.session.close()
            await panel.stop()
            await cloud.stop()
