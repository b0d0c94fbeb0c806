"""The resident: the resident web app from the cloud in Debian's Chromium (Playwright,
headless, fake camera and microphone). Buttons are found by role and name."""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit

from playwright.async_api import async_playwright, expect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
         "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required"]


class Browser:
    """One Chromium for the session, started on first use; a fresh context per phone."""

    def __init__(self):
        self._pw = self._browser = None

    async def phone(self, app_link: str):
        """A resident's phone with the app open and signed in ("Ready")."""
        if self._browser is None:
            # The app needs the camera and microphone, which a browser gives only to a secure
            # context: http://127.0.0.1 is one, a cloud on the rig's own network is not (a
            # rig's dev cloud speaks plain HTTP; a real cloud has a certificate).
            origin = "{0.scheme}://{0.netloc}".format(urlsplit(app_link))
            self._pw = await async_playwright().start()
            self._browser = await self._pw.chromium.launch(
                executable_path=CHROMIUM, args=[*FLAGS, f"--unsafely-treat-insecure-origin-as-secure={origin}"])
        context = await self._browser.new_context()
        page = await context.new_page()
        await page.goto(app_link)
        await expect(page.get_by_role("status")).to_have_text("Ready", timeout=15_000)
        return page

    async def close(self) -> None:
        if self._browser is not None:
            await self._browser.close()
            await self._pw.stop()
            self._browser = self._pw = None


def button(page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def status(page):
    return page.get_by_role("status")


async def call_stats(page) -> dict:
    return await page.evaluate("window.callStats()")
