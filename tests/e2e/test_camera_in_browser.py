"""The panel's MJPEG stream in Chromium, as a recorder's or Home Assistant's web page
shows it: an <img> whose source is GET camera/stream.mjpeg keeps showing new frames."""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright

from tests.e2e.test_browser_call import CHROMIUM, FLAGS
from tests.support import TOKEN, make_config, start_panel, until

pytestmark = pytest.mark.e2e


async def test_the_mjpeg_stream_shows_in_an_img_element(tmp_path):
    panel = await start_panel(make_config(tmp_path, camera={"stream_fps": 10.0}))
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = await browser.new_page()
            await page.set_extra_http_headers({"Authorization": f"Bearer {TOKEN}"})
            # A page of the panel's own origin: the <img> asks for the stream with the header.
            await page.goto(panel.url + "/status")
            await page.set_content(f'<img id="cam" src="{panel.url}/camera/stream.mjpeg">')
            cam = panel.app.config.camera
            size = await until(lambda: page.evaluate(
                "() => { const i = document.getElementById('cam'); return i.complete && i.naturalWidth"
                " ? [i.naturalWidth, i.naturalHeight] : null; }"), timeout=15, what="a frame shown")
            assert size == [cam.width, cam.height]

            # It is a live stream: the picture changes as the scene does.
            async def pixels() -> str:
                return await page.evaluate(
                    "() => { const i = document.getElementById('cam'), c = document.createElement('canvas');"
                    " c.width = 32; c.height = 24; c.getContext('2d').drawImage(i, 0, 0, 32, 24);"
                    " return c.toDataURL(); }")
            first = await pixels()

            async def changed():
                return await pixels() != first
            await until(changed, timeout=15, what="a newer frame in the <img>")
            await browser.close()
    finally:
        await panel.session.close()
        await panel.stop()
