"""The local HTTP API against a running panel on 127.0.0.1, as an integrator uses it."""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from tests.support import make_config, start_panel, until


ROUTES = [("GET", "/status"), ("GET", "/events"), ("GET", "/screen.png"), ("GET", "/ui"),
          ("POST", "/touch"), ("POST", "/camera/frame"), ("POST", "/door/open"), ("GET", "/events/1/snapshot.jpg")]


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789"])
async def test_every_route_needs_the_token(panel, token):
    for method, path in ROUTES:
        async with panel.request(method, path, token=token) as r:
            assert r.status == 401, (method, path)
            assert "bearer token" in (await r.json())["error"]
    status = await panel.get_json("/status")
    assert status["door"]["relay"] == "locked"      # nothing was opened by the refused requests


async def test_status_describes_the_panel(panel):
    status = await panel.get_json("/status")
    assert status["screen"] == "home"
    assert status["call"] is None
    assert status["door"] == {"relay": "locked", "contact": "closed", "fault": None, "backend": "gpio"}
    assert status["cloud"]["link"] == "not configured"
    assert status["panel"]["name"] == "Maple Court"


async def test_screen_png_is_the_home_screen(panel):
    async with panel.request("GET", "/screen.png") as r:
        assert r.status == 200 and r.content_type == "image/png"
        data = await r.read()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (1280, 800, 3)
    # The Directory button is drawn where /ui says it is, in the primary blue.
    x, y, w, h = (await panel.widget("Directory"))["rect"]
    b, g, r_ = image[y + 10, x + w // 2]
    assert b > 200 and r_ < 80


async def test_walk_to_the_directory_and_search_by_touch(panel):
    hit = await panel.press("Directory")
    assert hit["hit"]["id"] == "directory" and hit["screen"] == "directory"
    for key in "SMI":
        await panel.press(key)
    ui = await panel.get_json("/ui")
    search = next(w for w in ui["widgets"] if w["id"] == "search")
    assert search["label"] == "smi"
    rows = [w for w in ui["widgets"] if w["id"].startswith("resident:")]
    assert rows and all(w["label"].endswith("Smith") for w in rows[:3])
    # No cloud in this configuration: the visitor is told calls are unavailable.
    result = await panel.press(rows[0]["label"])
    assert result["screen"] == "call_ended"
    assert (await panel.widget("Calls are unavailable right now"))["role"] == "heading"


async def test_touch_on_nothing_changes_nothing(panel):
    result = await panel.post_json("/touch", {"x": 5, "y": 700})
    assert result == {"hit": None, "screen": "home"}


async def test_open_door_pulses_the_relay_and_logs_once(panel):
    before = await panel.get_json("/events")
    result = await panel.post_json("/door/open", {"who": "HIL rig"})
    assert result["opening"] is True
    await until(lambda: panel.app.strike.unlocked, what="relay energized")
    assert (await panel.get_json("/status"))["door"]["relay"] == "unlocked"
    assert (await panel.get_json("/status"))["screen"] == "door_open"

    async def logged():
        return (await panel.get_json(f"/events?after={before['last_id']}"))["events"]
    events = await until(logged, what="access log entry")
    assert len(events) == 1
    assert events[0]["method"] == "api" and events[0]["who"] == "HIL rig" and events[0]["granted"]
    async with panel.request("GET", f"/events/{events[0]['id']}/snapshot.jpg") as r:
        assert r.status == 200 and r.content_type == "image/jpeg"
        assert (await r.read())[:2] == b"\xff\xd8"


async def test_camera_frame_is_accepted_and_shown(panel):
    frame = np.full((480, 640, 3), (0, 0, 255), np.uint8)
    ok, png = cv2.imencode(".png", frame)
    async with panel.request("POST", "/camera/frame", data=png.tobytes(),
                             headers={"Content-Type": "image/png"}) as r:
        assert r.status == 200
        assert await r.json() == {"accepted": True, "width": 640, "height": 480}
    await until(lambda: panel.app.camera.latest is not None and panel.app.camera.latest[0, 0, 2] == 255,
                what="injected frame delivered")


BAD_REQUESTS = [
    ("POST", "/touch", b"not json", 400, "not valid JSON"),
    ("POST", "/touch", b"[1, 2]", 400, "JSON object"),
    ("POST", "/touch", b'{"x": "a", "y": 1}', 400, "number"),
    ("POST", "/touch", b'{"x": 1}', 400, "number"),
    ("POST", "/touch", b'{"x": true, "y": 1}', 400, "number"),
    ("POST", "/touch", b'{"x": 5000, "y": 10}', 400, "outside"),
    ("POST", "/touch", b'{"x": 10, "y": 10, "to": [1, 2]}', 400, '"to"'),
    ("POST", "/touch", b'{"x": 10, "y": 10, "to": {"x": 10, "y": 9000}}', 400, "outside"),
    ("POST", "/touch", b'{"x": -1, "y": 10}', 400, "outside"),
    ("POST", "/touch", b"", 400, "JSON object"),
    ("POST", "/camera/frame", b"", 400, "expected an image"),
    ("POST", "/camera/frame", b"GIF89a-not-really", 400, "not an image"),
    ("POST", "/door/open", b'{"who": 5}', 400, "who"),
    ("POST", "/door/open", b"{", 400, "not valid JSON"),
    ("GET", "/events?after=abc", None, 400, "whole number"),
    ("GET", "/events?after=-1", None, 400, "at least 0"),
    ("GET", "/events?limit=0", None, 400, "between 1 and 1000"),
    ("GET", "/events/abc/snapshot.jpg", None, 400, "whole number"),
    ("GET", "/events/999/snapshot.jpg", None, 404, "no snapshot"),
    ("GET", "/nothing-here", None, 404, "Not Found"),
    ("DELETE", "/status", None, 405, "Method Not Allowed"),
    ("GET", "/door/open", None, 405, "Method Not Allowed"),
]


@pytest.mark.parametrize("method,path,body,status,words", BAD_REQUESTS)
async def test_bad_requests_get_a_json_error(panel, method, path, body, status, words):
    headers = {"Content-Type": "application/json"} if path in ("/touch", "/door/open") else {}
    async with panel.request(method, path, data=body, headers=headers) as r:
        assert r.status == status
        assert words in (await r.json())["error"]
    assert (await panel.get_json("/status"))["screen"] == "home"     # and the panel is fine


async def test_oversized_frame_is_refused(panel):
    async with panel.request("POST", "/camera/frame", data=b"\0" * (17 * 1024 * 1024)) as r:
        assert r.status == 413
        assert "error" in await r.json()


async def test_shutdown_relocks_the_door_and_closes_the_store(tmp_path):
    running = await start_panel(make_config(tmp_path, door={"pulse_seconds": 60}))
    try:
        await running.post_json("/door/open", {})
        await until(lambda: running.app.strike.unlocked, what="relay energized")
        await running.stop()
    finally:
        await running.session.close()
    assert not running.app.strike.unlocked
    assert running.app.store._db is None
    # The entry written just before shutdown is on disk.
    from panel.store import Store
    store = Store(tmp_path / "state" / "panel.db")
    assert [e.method for e in store.events()] == ["api"]
    store.close()
