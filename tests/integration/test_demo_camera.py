"""The demo's camera (a visitor at a doorway) on a running panel: a QR key posted with
POST camera/frame replaces the scene while held and opens the door; the screen shows the
scene, mirrored, in its viewfinder."""

from __future__ import annotations

from hal.scenes import DoorwayCamera
from tests.integration.test_qr_door import credential, panel, show  # noqa: F401  (panel: the fixture)
from tests.support import until


async def test_a_key_shown_to_the_doorway_camera_opens_the_door(panel):
    assert panel.app.config.camera.source == "synthetic"      # what the demo config names
    camera = panel.app.camera
    assert isinstance(camera, DoorwayCamera)
    delivered = camera.frames_delivered
    await until(lambda: camera.frames_delivered > delivered + 1, what="the scene delivering frames")
    ui = await panel.get_json("/ui")
    assert ui["screen"] == "home" and any(w["role"] == "video" for w in ui["widgets"])
    await show(panel, credential())
    await until(lambda: panel.app.strike.unlocked, what="relay energized")
    assert (await panel.get_json("/ui"))["screen"] == "access_granted"
