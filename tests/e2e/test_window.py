"""The panel in a real window on a (virtual) display: the mouse is the finger."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.configs import with_simulated_parts
from tests.integration.test_cli import get, wait_for_ready

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


def test_window_opens_when_a_display_exists_a_click_is_a_tap_and_a_drag_scrolls(tmp_path, display):
    env = {**os.environ, "DISPLAY": display, "HOME": str(tmp_path)}
    env.pop("SDL_VIDEODRIVER", None)
    env.pop("WAYLAND_DISPLAY", None)
    config = tmp_path / "panel.toml"
    config.write_text(with_simulated_parts(f'[panel]\nstate_dir = "{tmp_path}/state"\n[api]\nport = 0\n'))
    proc = subprocess.Popen([sys.executable, "-m", "panel", "run", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url, token, lines = wait_for_ready(proc)
        assert "running in a window" in lines[0]
        ui = json.loads(get(url + "/ui", token)[2])
        x, y, w, h = next(w["rect"] for w in ui["widgets"] if w["label"] == "Directory")
        window = subprocess.run(["xdotool", "search", "--sync", "--pid", str(proc.pid)], env=env,
                                capture_output=True, text=True, timeout=10).stdout.split()[0]
        subprocess.run(["xdotool", "mousemove", "--window", window, str(x + w // 2), str(y + h // 2),
                        "click", "1"], env=env, check=True, timeout=10)
        end = time.monotonic() + 10
        while json.loads(get(url + "/status", token)[2])["screen"] != "directory":
            assert time.monotonic() < end, "the click did not reach the panel"
            time.sleep(0.05)
        # A finger dragged up the result list (button down, move, up) scrolls it.
        ui = json.loads(get(url + "/ui", token)[2])
        first = [w["label"] for w in ui["widgets"] if w["id"].startswith("resident:")][0]
        x, y, w, h = next(w["rect"] for w in ui["widgets"] if w["id"] == "results")
        cx = str(x + w // 2)
        subprocess.run(["xdotool", "mousemove", "--window", window, cx, str(y + h - 20), "mousedown", "1",
                        "mousemove", "--window", window, cx, str(y + h // 2), "mousemove", "--window", window,
                        cx, str(y + 20), "mouseup", "1"], env=env, check=True, timeout=10)
        end = time.monotonic() + 10
        while [w["label"] for w in json.loads(get(url + "/ui", token)[2])["widgets"]
               if w["id"].startswith("resident:")][0] == first:
            assert time.monotonic() < end, "the drag did not scroll the list"
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
