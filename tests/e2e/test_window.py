"""The panel in a real window on a (virtual) display: the mouse is the finger."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from panel.remote import PanelProcess
from tests.support import until
from tests.configs import with_simulated_parts

pytestmark = pytest.mark.e2e


@pytest.fixture
def display():
    assert shutil.which("Xvfb") and shutil.which("xdotool"), "install xvfb and xdotool (./scripts/test does)"
    number = 90 + os.getpid() % 100
    xvfb = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1024x1400x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socket = f"/tmp/.X11-unix/X{number}"
    end = time.monotonic() + 10
    while not os.path.exists(socket):
        assert time.monotonic() < end and xvfb.poll() is None, "Xvfb did not start"
        time.sleep(0.05)
    yield f":{number}"
    xvfb.terminate()
    xvfb.wait(timeout=10)


async def test_window_opens_when_a_display_exists_a_click_is_a_tap_and_a_drag_scrolls(tmp_path, display):
    env = {**os.environ, "DISPLAY": display, "HOME": str(tmp_path)}
    env.pop("SDL_VIDEODRIVER", None)
    env.pop("WAYLAND_DISPLAY", None)
    config = tmp_path / "panel.toml"
    config.write_text(with_simulated_parts(f'[panel]\nstate_dir = "{tmp_path}/state"\n[api]\nport = 0\n'))
    with PanelProcess.run(config, headless=False, env=env) as panel:
        assert "running in a window" in panel.lines[0]
        async with panel.client() as api:
            x, y, w, h = (await api.widget("Directory"))["rect"]
            window = subprocess.run(["xdotool", "search", "--sync", "--pid", str(panel.pid)], env=env,
                                    capture_output=True, text=True, timeout=10).stdout.split()[0]
            subprocess.run(["xdotool", "mousemove", "--window", window, str(x + w // 2), str(y + h // 2),
                            "click", "1"], env=env, check=True, timeout=10)
            await api.until_screen("directory")             # the click reached the panel

            async def first_row() -> str:
                return [w["label"] for w in (await api.ui())["widgets"] if w["id"].startswith("resident:")][0]
            # A finger dragged up the result list (button down, move, up) scrolls it.
            first = await first_row()
            x, y, w, h = next(w["rect"] for w in (await api.ui())["widgets"] if w["id"] == "results")
            cx = str(x + w // 2)
            subprocess.run(["xdotool", "mousemove", "--window", window, cx, str(y + h - 20), "mousedown", "1",
                            "mousemove", "--window", window, cx, str(y + h // 2), "mousemove", "--window", window,
                            cx, str(y + 20), "mouseup", "1"], env=env, check=True, timeout=10)

            async def scrolled() -> bool:
                return await first_row() != first
            await until(scrolled, timeout=10, what="the drag to scroll the list")
