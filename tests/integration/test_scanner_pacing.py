"""On a running panel: a still hall paces the camera down, and a key held up then
still opens the door (the injected frame and the first change bring the full rate back)."""

from __future__ import annotations

import cv2
import numpy as np

from panel.sim.issuer import DevIssuer
from tests.qr import key_opens_the_door
from tests.support import make_config, start_panel, until


async def test_a_still_hall_paces_the_camera_down_and_a_key_still_opens_the_door(tmp_path):
    hall = tmp_path / "hall"
    hall.mkdir()
    wall = cv2.resize(np.random.default_rng(1).integers(60, 140, (60, 80), dtype=np.uint8), (640, 480))
    cv2.imwrite(str(hall / "hall.png"), wall)                   # a still scene: one image, one frame object
    issuer = DevIssuer(tmp_path / "issuer.key")
    config = make_config(tmp_path, camera={"source": str(hall), "fps": 15.0},
                         access={"trusted_keys": issuer.trusted_keys()})
    panel = await start_panel(config)
    try:
        panel.app.scanner.idle_after = 0.3
        await until(lambda: panel.app.camera.rate == panel.app.scanner.idle_fps < 15, what="the camera paced down")
        await key_opens_the_door(panel, issuer)
    finally:
        await panel.session.close()
        await panel.stop()
