#!/usr/bin/env python3
"""Render every panel screen headless into docs/screenshots/ (half size, for the README).

    .venv/bin/python scripts/screenshots.py [--out DIR] [--full-size] [--language de] [--no-resident-app]

Portrait 800x1280 as NAME.png, landscape 1280x800 as NAME-landscape.png; another
language than English adds its code: NAME-de.png. Then the property office page in
headless Chromium (scripts/office_screenshots.py): office.png, office-phone.png.
Then the resident app on a phone
(360x740, headless Chromium against the demo's dev cloud and a panel): resident-*.png
(scripts/shots_resident.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from hal.scenes import DoorwayScene  # noqa: E402
from panel.config import Config  # noqa: E402
from panel.core.machine import Leg, Screen, initial_state  # noqa: E402
from panel.core.routing import Target  # noqa: E402
from panel.directory import Directory, load_property  # noqa: E402
from panel.ui.display import Display  # noqa: E402
from panel.ui.layout import View  # noqa: E402
from panel.ui.strings import Strings  # noqa: E402

NOON = 1_764_072_000.0      # a fixed wall-clock time, so the pictures do not change run to run


def scenes():
    base = replace(initial_state(0), cloud_online=True)
    return {
        "home": base,
        "home-offline": replace(base, cloud_online=False),
        "directory": replace(base, screen=Screen.DIRECTORY, query="smi"),
        "calling": replace(base, screen=Screen.CALLING, resident_name="Olivia Smith", ringing=True,
                           legs=(Leg("call-1", Target()),)),
        "calling-phone": replace(base, screen=Screen.CALLING, resident_name="Olivia Smith", ringing=True, step=1,
                                 legs=(Leg("call-1.2", Target("phone", "+442079460000", "sip")),)),
        "connecting": replace(base, screen=Screen.CALLING, resident_name="Olivia Smith",
                              legs=(Leg("call-1", Target()),)),
        "in-call": replace(base, screen=Screen.IN_CALL, resident_name="Olivia Smith", entered_at=-42),
        "declined": replace(base, screen=Screen.CALL_ENDED, resident_name="Olivia Smith", resident_id="r01",
                            message="declined"),
        "no-answer": replace(base, screen=Screen.CALL_ENDED, resident_name="Olivia Smith", resident_id="r01",
                             message="no_answer"),
        "door-open": replace(base, screen=Screen.DOOR_OPEN),
        "access-granted": replace(base, screen=Screen.ACCESS_GRANTED, message="Zoë Müller"),
        "access-refused": replace(base, screen=Screen.ACCESS_DENIED, message="expired"),
        "out-of-order": replace(base, screen=Screen.OUT_OF_ORDER, door_fault="relay board does not answer"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/screenshots")
    ap.add_argument("--full-size", action="store_true")
    ap.add_argument("--language", default="en")
    ap.add_argument("--no-resident-app", action="store_true", help="only the panel's screens")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = Config()
    prop = load_property(config.property_file)
    directory = Directory(prop.residents, config.directory.display)
    strings = Strings(args.language)
    lang = "" if args.language == "en" else f"-{args.language}"
    preview = _preview_frame()
    for (w, h), suffix in (((800, 1280), ""), ((1280, 800), "-landscape")):
        display = Display(w, h)
        display.set_preview(preview)
        for name, state in scenes().items():
            display.update(state, View(w, h, prop.name, strings, directory, now=0.35, wall=NOON))
            rgb = display.renderer.rgb()
            if not args.full_size:
                rgb = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
            path = out / f"{name}{suffix}{lang}.png"
            cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
            print(f"{path}  {path.stat().st_size // 1024} KiB")
    if args.language == "en":
        import asyncio

        from office_screenshots import shoot       # scripts/: the staff page, in a browser
        for path in asyncio.run(shoot(out)):
            print(f"{path}  {path.stat().st_size // 1024} KiB")
    if not args.no_resident_app:
        from shots_resident import resident_app
        for path in resident_app(out):
            print(f"{path}  {path.stat().st_size // 1024} KiB")
    return 0


def _preview_frame() -> np.ndarray:
    """The demo camera's doorway, the visitor mid-sway."""
    return DoorwayScene(640, 480).frame(NOON + 3)


if __name__ == "__main__":
    sys.exit(main())
