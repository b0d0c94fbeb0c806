"""The door path never waits behind the API's image work: with the API's encodes and
decodes all stuck (as a crowd on screen.png or a flood of big frames makes them), a QR
key held up to the camera still opens the door, while those requests are still pending.
The API's own work is bounded (more than it holds gets 503 at once) and the screen is
encoded once per frame drawn, however many clients ask for it."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import cv2
import numpy as np
import pytest

from panel import facade
from panel.access import issue_credential, qr_code
from panel.access.keys import generate_private_key, public_key_text
from panel.api.workers import QUEUE, WORKERS
from tests.support import make_config, start_panel, until

ISSUER = generate_private_key()
KID = "test-2026"


@pytest.fixture
def held(monkeypatch):
    """The API's PNG encode and frame decode, each held until the test lets go (as a 50 MP
    image or a busy CPU would hold them). Yields (release, started: names of held calls)."""
    release, started = threading.Event(), []

    def hold(fn):
        def held_call(*args):
            started.append(fn.__name__)
            release.wait(30)
            return fn(*args)
        return held_call
    monkeypatch.setattr(facade, "decode_image", hold(facade.decode_image))
    monkeypatch.setattr(facade, "encode_png", hold(facade.encode_png))
    yield release, started
    release.set()


def png(image) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


@pytest.fixture
async def panel(tmp_path):
    camera = tmp_path / "camera"
    camera.mkdir()
    (camera / "scene.png").write_bytes(png(np.full((480, 640, 3), 90, np.uint8)))
    config = make_config(tmp_path, camera={"source": str(camera)},
                         access={"trusted_keys": {KID: public_key_text(ISSUER)}})
    running = await start_panel(config)
    running.scene = camera / "scene.png"
    try:
        yield running
    finally:
        await running.session.close()
        await running.stop()


async def get(panel, method, path, **kwargs):
    async with panel.request(method, path, **kwargs) as r:
        return r.status, await r.read()


async def test_a_qr_key_opens_the_door_while_api_encodes_and_decodes_are_stuck(panel, held, tmp_path):
    release, started = held
    frame = png(np.full((480, 640, 3), 200, np.uint8))
    flood = [asyncio.create_task(get(panel, "POST", "/camera/frame", data=frame,
                                     headers={"Content-Type": "image/png"})) for _ in range(7)]
    flood += [asyncio.create_task(get(panel, "GET", "/screen.png")) for _ in range(30)]
    await until(lambda: len(started) >= WORKERS, what="the API's image work under way and stuck")

    # A resident holds a key up to the camera: the camera's next picture shows it.
    now = time.time()
    key = issue_credential(ISSUER, KID, holder_id="r01", holder_name="Olivia Smith", kind="resident", doors=["main"],
                           not_before=now - 60, not_after=now + 3600, credential_id="cred-olivia")
    shown = tmp_path / "shown.png"
    qr_code(key).save(str(shown), kind="png", scale=6, border=4)
    os.replace(shown, panel.scene)

    await until(lambda: panel.app.strike.unlocked, timeout=8, what="the door opened by the QR key")
    assert not any(t.done() for t in flood), "the door opened only after the API's requests were answered"

    release.set()
    results = await asyncio.gather(*flood)
    assert [status for status, _ in results] == [200] * len(flood)


async def test_more_image_work_than_the_api_holds_gets_503_at_once(panel, held):
    release, started = held
    frame = png(np.full((120, 160, 3), 50, np.uint8))
    posts = [asyncio.create_task(get(panel, "POST", "/camera/frame", data=frame,
                                     headers={"Content-Type": "image/png"})) for _ in range(WORKERS + QUEUE + 10)]
    await until(lambda: sum(t.done() for t in posts) >= 10, what="the requests beyond the API's queue answered")
    done = [t.result() for t in posts if t.done()]
    assert len(done) == 10 and all(status == 503 and b"busy" in body for status, body in done)
    assert len(started) == WORKERS                  # the held ones; the queued wait without a thread each

    release.set()
    statuses = [status for status, _ in await asyncio.gather(*posts)]
    assert statuses.count(200) == WORKERS + QUEUE and statuses.count(503) == 10


async def test_the_screen_is_encoded_once_for_many_clients(panel, held):
    release, started = held
    drawn = panel.app.display.frames
    crowd = [asyncio.create_task(get(panel, "GET", "/screen.png")) for _ in range(50)]
    await until(lambda: started, what="the screen's encode under way")
    release.set()
    results = await asyncio.gather(*crowd)
    assert {status for status, _ in results} == {200}
    # One encode per frame drawn meanwhile (the camera's first picture may redraw the home screen once).
    frames = panel.app.display.frames - drawn + 1
    assert len(started) <= frames and len({body for _, body in results}) <= frames
    encodes = len(started)
    # Once the screen changes, the next request gets the new picture, encoded once more.
    await panel.press("Directory")
    status, directory = await get(panel, "GET", "/screen.png")
    assert status == 200 and directory != results[0][1] and started.count("encode_png") == encodes + 1
