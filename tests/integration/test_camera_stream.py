"""GET camera/snapshot.jpg and camera/stream.mjpeg: JPEGs OpenCV decodes; a viewer limit."""

from __future__ import annotations

import logging

import aiohttp
import cv2
import numpy as np
import pytest

from tests.support import TOKEN, make_config, start_panel, until

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def panel(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    running = await start_panel(make_config(tmp_path, camera={"stream_viewers": 2, "stream_fps": 20.0}))
    try:
        yield running
    finally:
        await running.session.close()
        await running.stop()
    assert not [r for r in caplog.records if r.exc_info], "a viewer leaving logged a traceback"


async def parts(resp: aiohttp.ClientResponse, n: int) -> list[np.ndarray]:
    """The first n parts of a multipart/x-mixed-replace response, each decoded by OpenCV."""
    boundary = resp.headers["Content-Type"].split("boundary=")[1]
    reader = resp.content
    frames = []
    while len(frames) < n:
        line = await reader.readline()
        assert line.strip() in (b"", f"--{boundary}".encode()), line
        if line.strip() != f"--{boundary}".encode():
            continue
        headers = {}
        while (line := (await reader.readline()).strip()):
            key, _, value = line.decode().partition(":")
            headers[key.lower()] = value.strip()
        assert headers["content-type"] == "image/jpeg"
        jpeg = await reader.readexactly(int(headers["content-length"]))
        frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert frame is not None, "a part OpenCV cannot decode"
        frames.append(frame)
    return frames


async def test_the_snapshot_is_the_live_frame(panel):
    await until(lambda: panel.app.camera.latest is not None, what="a camera frame")
    async with panel.request("GET", "/camera/snapshot.jpg") as resp:
        assert resp.status == 200 and resp.content_type == "image/jpeg"
        frame = cv2.imdecode(np.frombuffer(await resp.read(), np.uint8), cv2.IMREAD_COLOR)
    cam = panel.app.config.camera
    assert frame.shape == (cam.height, cam.width, 3)


async def test_the_mjpeg_stream_decodes_and_one_viewer_more_gets_503(panel):
    await until(lambda: panel.app.camera.latest is not None, what="a camera frame")
    # A recognisable frame: injected, it must be what the stream shows.
    red = np.zeros((240, 320, 3), np.uint8)
    red[:, :, 2] = 255
    panel.app.camera.inject(red)
    first = await panel.session.get(panel.url + "/camera/stream.mjpeg", headers=AUTH)
    second = await panel.session.get(panel.url + "/camera/stream.mjpeg", headers=AUTH)
    try:
        assert first.status == second.status == 200
        assert first.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        frames = await parts(first, 3) + await parts(second, 2)
        assert any(f.shape == (240, 320, 3) and f[:, :, 2].mean() > 200 and f[:, :, :2].mean() < 40
                   for f in frames)
        async with panel.request("GET", "/camera/stream.mjpeg") as third:
            assert third.status == 503
            assert "stream_viewers" in (await third.json())["error"]
    finally:
        first.close()
    # A viewer that left makes room for the next.
    async def admitted():
        resp = await panel.session.get(panel.url + "/camera/stream.mjpeg", headers=AUTH)
        if resp.status == 200:
            await parts(resp, 1)
        resp.close()
        return resp.status == 200
    await until(admitted, what="a place freed by the viewer who left")
    second.close()

