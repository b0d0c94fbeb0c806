"""The property office page in headless Chromium, on a phone (360x740) and a desk
(1280x800): a staff member moves a resident in and invites a visitor (each notice in
its form), reads the invitation in the mail viewer and opens its link, sees the
visitor's entry in the access log and enlarges its snapshot; filters and searches the
log and downloads it as CSV. The page never scrolls sideways and no button is cut off."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import async_playwright, expect

from panel.config import Config
from panel.sim.cloud import DevCloud
from tests.e2e.test_browser_call import CHROMIUM, FLAGS
from tests.integration.test_office_log import seed
from tests.integration.test_property import activation_qr, show
from tests.support import start_cloud_and_panel, until

pytestmark = pytest.mark.e2e

PHONE, DESK = {"width": 360, "height": 740}, {"width": 1280, "height": 800}
VIEWPORTS = pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["phone", "desk"])


async def new_page(browser, viewport):
    context = await browser.new_context(viewport=viewport, is_mobile=viewport is PHONE, has_touch=viewport is PHONE,
                                        accept_downloads=True)
    return context, await context.new_page()


async def assert_fits(page) -> None:
    """No sideways scroll; every visible button inside the viewport and its text not cut off."""
    width = await page.evaluate("innerWidth")
    assert await page.evaluate("document.scrollingElement.scrollWidth") <= width
    clipped = await page.evaluate("""() => [...document.querySelectorAll('button')].filter((b) => {
        const r = b.getBoundingClientRect();
        if (!r.width || b.closest('dialog:not([open])')) return false;
        return r.left < 0 || r.right > innerWidth || b.scrollWidth > b.clientWidth + 1;
    }).map((b) => b.textContent || b.getAttribute('aria-label'))""")
    assert clipped == []


async def assert_beside(notice, button) -> None:
    """The notice is right under the button that caused it (not at the top of the page)."""
    n, b = await notice.bounding_box(), await button.bounding_box()
    assert 0 <= n["y"] - (b["y"] + b["height"]) <= 32, (n, b)


@VIEWPORTS
async def test_staff_moves_in_invites_reads_the_mail_and_enlarges_the_snapshot(tmp_path, viewport):
    cloud, panel = await start_cloud_and_panel(tmp_path)
    session = aiohttp.ClientSession()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            context, page = await new_page(browser, viewport)
            await page.goto(f"{cloud.url}/admin?token={cloud.staff_token}")
            await expect(page.get_by_role("heading", name="Property office · Maple Court")).to_be_visible()

            move_in = page.get_by_role("form", name="Move in")
            await move_in.get_by_label("First name").fill("Ingrid")
            await move_in.get_by_label("Last name").fill("Thorvaldsen")
            await move_in.get_by_label("Apartment").fill("14C")
            await move_in.get_by_role("button", name="Move in").click()
            notice = move_in.get_by_role("status")
            await expect(notice).to_contain_text("Ingrid Thorvaldsen moved in to 14C.")
            await assert_beside(notice, move_in.get_by_role("button", name="Move in"))
            await expect(page.get_by_role("button", name="Move out Ingrid Thorvaldsen")).to_be_visible()
            await until(lambda: any(r.full_name == "Ingrid Thorvaldsen" for r in panel.app.gate.directory.residents),
                        what="the new resident in the panel directory")
            # Move-out: the row gives way to its notice, there and not elsewhere.
            page.once("dialog", lambda d: d.accept())
            row = page.locator("#residents tr").filter(has_text="Ingrid Thorvaldsen")
            await row.scroll_into_view_if_needed()
            row_box = await row.bounding_box()
            await page.get_by_role("button", name="Move out Ingrid Thorvaldsen").click()
            moved = page.locator("#residents .notice")
            await expect(moved).to_have_text("Ingrid Thorvaldsen (14C) moved out: their keys and devices no longer "
                                             "open the door.")
            assert abs((await moved.bounding_box())["y"] - row_box["y"]) <= 16
            await until(lambda: not any(r.full_name == "Ingrid Thorvaldsen"
                                        for r in panel.app.gate.directory.residents),
                        what="the resident gone from the panel directory")

            invite = page.get_by_role("form", name="Invite a visitor")
            send = invite.get_by_role("button", name="Send invitation")
            start = datetime.now() - timedelta(minutes=5)
            await invite.get_by_label("Visitor name").fill("Ada Guest")
            await invite.get_by_label("E-mail").fill("ada@example.test")
            await invite.get_by_label("From").fill(start.strftime("%Y-%m-%dT%H:%M"))
            await invite.get_by_label("Until").fill((start - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
            await send.click()
            error = invite.get_by_role("alert")
            await expect(error).to_have_text("'until' must be later than 'from'.")
            await assert_beside(error, send)
            await invite.get_by_label("Until").fill((start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
            await send.click()
            await expect(invite.get_by_role("status")).to_have_text("Invitation sent.")
            await assert_beside(invite.get_by_role("status"), send)

            # The mail viewer: the message as the visitor gets it, and its link opens their key.
            mail = page.locator("#mail details").filter(has_text="To ada@example.test: Your invitation to Maple Court")
            await expect(mail).to_have_attribute("open", "")
            await expect(mail).to_contain_text("Hello Ada Guest,")
            await expect(mail).to_contain_text("The property office of Maple Court invited you.")
            async with context.expect_page() as opened:
                await mail.get_by_role("link", name=f"{cloud.url}/invite/").click()
            key_page = await opened.value
            await expect(key_page.get_by_role("heading", name="Your key to Maple Court")).to_be_visible()
            await expect(key_page.get_by_role("img", name="Your key to Maple Court")).to_be_visible()

            png, _ = await activation_qr(cloud, session, "ada@example.test")
            await show(panel, png)
            await until(lambda: panel.app.strike.unlocked, what="the visitor's key opened the door")
            log = page.locator("#log")
            await expect(log).to_contain_text("Ada Guest", timeout=10_000)
            await expect(log).to_contain_text("Opened")

            # The snapshot opens large, and Escape closes it.
            thumb = page.get_by_role("button", name="Enlarge the snapshot of Ada Guest")
            await expect(thumb.get_by_role("img", name="Snapshot of Ada Guest")).to_be_visible()
            await thumb.click()
            dialog = page.get_by_role("dialog")
            big = dialog.get_by_role("img", name="Snapshot of Ada Guest, large")
            await expect(big).to_be_visible()
            await page.wait_for_function("document.getElementById('lightbox-img').naturalWidth > 0")
            small_box = await thumb.get_by_role("img").bounding_box()
            big_box = await big.bounding_box()
            assert big_box["width"] >= min(300, 0.8 * viewport["width"]) > 2 * small_box["width"]
            await assert_fits(page)
            await page.keyboard.press("Escape")
            await expect(dialog).to_be_hidden()
            await expect(thumb).to_be_focused()
            await assert_fits(page)
        finally:
            await browser.close()
            await session.close()
            await panel.session.close()
            await panel.stop()
            await cloud.stop()


async def shown_who(page) -> list[str]:
    return await page.locator('#log td[data-label="Who"]').all_text_contents()


@VIEWPORTS
async def test_staff_filter_and_search_the_log_and_download_it_as_csv(tmp_path, viewport):
    cloud = DevCloud(Config().property_file)
    await cloud.start()
    seed(cloud)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            context, page = await new_page(browser, viewport)
            await page.goto(f"{cloud.url}/admin")         # the link without its token: said in words
            await expect(page.get_by_role("alert")).to_have_text(
                "This page needs the staff token: open the staff page link the demo printed (/admin?token=...).")
            await page.goto(f"{cloud.url}/admin?token={cloud.staff_token}")
            count = page.locator("#log-count")
            await expect(count).to_have_text("7 entries.")
            await assert_fits(page)

            form = page.get_by_role("search", name="Filter the access log")
            await form.get_by_label("Result").select_option(label="Refused")
            await expect(count).to_have_text("2 entries match the filter.")
            assert await shown_who(page) == ["—", "Noah Smith"]
            await expect(page.locator("#log")).to_contain_text("Refused: card not registered")

            await form.get_by_label("Result").select_option(label="Opened")
            await form.get_by_label("How").select_option(label="QR key")
            await form.get_by_label("Search").fill("1a")
            await expect(count).to_have_text("2 entries match the filter.")
            assert await shown_who(page) == ['Ann "Nan" O\'Hara, Jr.', "Olivia Smith"]
            assert "result=opened" in page.url and "method=qr" in page.url and "q=1a" in page.url

            await page.reload()             # the filter is in the address: a reload (or a bookmark) keeps it
            await expect(count).to_have_text("2 entries match the filter.")
            await expect(form.get_by_label("Search")).to_have_value("1a")

            async with page.expect_download() as download:
                await form.get_by_role("button", name="Download CSV").click()
            path = Path(await (await download.value).path())
            rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
            assert [(r["Who"], r["Apartment"], r["How"]) for r in rows] == [
                ('Ann "Nan" O\'Hara, Jr.', "1A", "QR key"), ("Olivia Smith", "1A", "QR key")]
            await expect(form.get_by_role("status")).to_contain_text("Downloaded access-log-")

            await form.get_by_label("Search").fill("")
            await form.get_by_label("Result").select_option(label="All")
            await form.get_by_label("How").select_option(label="All")
            await form.get_by_label("From").fill("2026-12-02")
            await form.get_by_label("Until").fill("2026-12-02")
            await expect(count).to_have_text("2 entries match the filter.")
            assert await shown_who(page) == ["James Smith", "Noah Smith"]
            await form.get_by_label("From").fill("2026-12-03")
            await expect(form.get_by_role("alert")).to_have_text("'until' must not be before 'from'.")
            await assert_fits(page)
        finally:
            await browser.close()
            await cloud.stop()
