#!/usr/bin/env python3
"""Screenshots of the property office (the dev cloud's staff page) in headless Chromium:
office.png at 1280 wide (the whole page) and office-phone.png at 360x740 (scrolled to the access log), with
a demo access log (snapshots of the demo camera's doorway) and an invitation e-mail.

    .venv/bin/python scripts/office_screenshots.py [--out DIR]

scripts/screenshots.py calls it after the panel's screens.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NOON = datetime(2026, 12, 1, 12, 0)       # fixed times: the pictures do not change run to run


def _snapshot(t: float) -> bytes:
    import cv2

    from hal.scenes import DoorwayScene
    return cv2.imencode(".jpg", DoorwayScene(640, 480).frame(t), [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()


def _seed(cloud) -> None:
    office = cloud.office
    visitor = office.invite(name="Ada Guest", email="ada@example.org", not_before=NOON.timestamp(),
                            not_after=(NOON + timedelta(hours=4)).timestamp(), doors=["main"],
                            invited_by="Olivia Smith", inviter="r01")
    entries = [
        (0, dict(granted=True, method="qr", who="Olivia Smith")),
        (35, dict(granted=True, method="call", who="James Smith")),
        (80, dict(granted=False, method="qr", who="Noah Smith", reason="expired")),
        (140, dict(granted=True, method="qr", who=visitor.name, credential_id=visitor.id)),
        (200, dict(granted=False, method="card", reason="unknown_card")),
    ]
    for i, (minutes, entry) in enumerate(entries, 1):
        ts = (NOON + timedelta(minutes=minutes)).timestamp()
        office.record("panel", i, {"ts": ts, "door": "main", "kind": "access", "reason": "", "who": "",
                                   "snapshot": _snapshot(ts), **entry})


async def shoot(out: Path) -> list[Path]:
    import aiohttp
    from playwright.async_api import async_playwright

    from panel.config import Config
    from panel.sim.cloud import DevCloud

    cloud = DevCloud(Config().property_file)
    await cloud.start()
    paths = []
    try:
        _seed(cloud)
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {cloud.staff_token}"}) as session:
            async with session.post(f"{cloud.url}/api/admin/invitations", json={
                    "name": "Ben Courier", "email": "ben@example.org", "from": NOON.isoformat(),
                    "until": (NOON + timedelta(hours=2)).isoformat()}) as r:
                r.raise_for_status()
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                              args=["--headless", "--no-sandbox", "--disable-gpu"])
            try:
                for name, viewport in (("office", {"width": 1280, "height": 800}),
                                       ("office-phone", {"width": 360, "height": 740})):
                    context = await browser.new_context(viewport=viewport, locale="en-GB", timezone_id="UTC",
                                                        is_mobile=viewport["width"] < 400)
                    page = await context.new_page()
                    await page.goto(f"{cloud.url}/admin?token={cloud.staff_token}")
                    await page.wait_for_function("document.querySelectorAll('#log img[src]').length === 5")
                    await page.wait_for_selector("#mail details[open]")
                    if name == "office-phone":      # the log as a phone shows it: a stack of cards
                        await page.evaluate("document.getElementById('log-count').scrollIntoView()")
                    path = out / f"{name}.png"
                    await page.screenshot(path=str(path), full_page=name == "office")
                    paths.append(path)
                    await context.close()
            finally:
                await browser.close()
    finally:
        await cloud.stop()
    return paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/screenshots")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(shoot(out)):
        print(f"{path}  {path.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
