"""The resident app's README screenshots (scripts/screenshots.py calls this): the demo's
dev cloud and a panel on 127.0.0.1, headless Chromium as Olivia's phone (360x740), a
visitor calling her through the panel's touchscreen API.

    resident-ringing.png   the incoming call: the visitor's picture and the door
    resident-in-call.png   the call: the visitor's video, Open Door, Mute, Video off, Hang up
    resident-door-open.png after Open Door
    resident-confirm.png   Open Door without a call: the question first
    resident-home.png      afterwards: the home screen and its history
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright, expect

from tests.e2e.test_browser_call import CHROMIUM, FLAGS, button
from tests.integration.test_calls import OLIVIA, call_olivia
from tests.support import start_cloud_and_panel, until

PHONE = {"width": 360, "height": 740}


async def _shots(out: Path) -> list[Path]:
    made = []
    with tempfile.TemporaryDirectory() as tmp:
        cloud, panel = await start_cloud_and_panel(Path(tmp))
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                page = await (await browser.new_context(viewport=PHONE)).new_page()

                async def shot(name: str) -> None:
                    path = out / f"resident-{name}.png"
                    await page.screenshot(path=str(path), animations="disabled")
                    made.append(path)

                await page.goto(cloud.app_link(OLIVIA))
                await expect(page.get_by_role("status")).to_have_text("Ready")
                await until(lambda: panel.app.camera.latest is not None, what="a camera frame")

                await button(page, "Open Door").click()
                await expect(page.get_by_role("dialog")).to_be_visible()
                await shot("confirm")
                await button(page, "Cancel").click()

                await call_olivia(panel)
                await expect(page.get_by_role("img", name="The visitor at Main entrance")).to_be_visible()
                await shot("ringing")
                await button(page, "Accept").click()

                async def video():
                    return (await page.evaluate("window.callStats()"))["videoFrames"] >= 15
                await until(video, timeout=20, what="the visitor's video")
                await shot("in-call")
                await button(page, "Open Door").click()
                await expect(page.get_by_role("heading", name="Door open")).to_be_visible()
                await shot("door-open")
                await button(page, "Done").click()
                await expect(page.get_by_text("Answered, door opened · Main entrance")).to_be_visible()
                await shot("home")
                await browser.close()
        finally:
            await panel.session.close()
            await panel.stop()
            await cloud.stop()
    return made


def resident_app(out: Path) -> list[Path]:
    return asyncio.run(_shots(out))
