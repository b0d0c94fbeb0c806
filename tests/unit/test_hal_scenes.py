"""The demo camera's scene: a person at a doorway who moves, cheap enough to run all day."""

from __future__ import annotations

import numpy as np
import pytest

from hal.camera import open_camera
from hal.scenes import DoorwayCamera, DoorwayScene

T0 = 1_764_072_000.0


def silhouette(scene: DoorwayScene, t: float) -> np.ndarray:
    """Where the frame differs from the empty porch: the visitor (and their shadow, faint)."""
    diff = np.abs(scene.frame(t).astype(int) - scene.empty().astype(int)).sum(axis=2)
    return diff > 60


@pytest.mark.parametrize("size", [(640, 480), (320, 240), (1280, 720)])
def test_a_person_stands_in_the_middle_head_above_wider_shoulders(size):
    w, h = size
    scene = DoorwayScene(w, h)
    mask = silhouette(scene, T0 + 4.0)          # between the car's passes
    rows = mask.any(axis=1).nonzero()[0]
    cols = mask.nonzero()[1]
    assert abs(cols.mean() - w / 2) < w / 8, "the visitor is not in the middle"
    assert rows[0] < h * 0.45, "no head in the upper half"
    assert rows[-1] == h - 1, "the body does not carry on out of the picture"
    width = lambda y: mask[int(y)].sum()
    head, shoulders = width(h * 0.33), width(h * 0.75)
    assert 0 < head < shoulders * 0.6, f"head {head} px wide, shoulders {shoulders} px: not a person's shape"
    frame = scene.frame(T0 + 4.0)
    torso = frame[int(h * 0.8):, int(w * 0.45):int(w * 0.55)].mean()
    assert torso < scene.empty()[int(h * 0.8):, : int(w * 0.1)].mean() * 0.6, "the coat is not darker than the wall"


def test_the_scene_moves():
    scene = DoorwayScene(640, 480)
    frames = [scene.frame(T0 + k * 0.5) for k in range(8)]
    for a, b in zip(frames, frames[1:]):
        assert np.abs(a.astype(int) - b.astype(int)).sum(axis=2).astype(bool).sum() > 500, "a frame did not change"
    centres = [silhouette(scene, T0 + k).nonzero()[1].mean() for k in range(7)]
    assert max(centres) - min(centres) > 5, "the visitor stands frozen"
    assert (scene.frame(T0 + 1.0) == scene.frame(T0 + 1.0)).all(), "the same time gives the same picture"


async def test_the_synthetic_camera_is_the_doorway_and_an_injected_frame_replaces_it():
    cam = open_camera("synthetic", 320, 240, 50, clock=lambda: T0)
    assert isinstance(cam, DoorwayCamera)
    card = np.full((240, 320, 3), 255, np.uint8)
    stream = cam.frames()
    first = await anext(stream)
    assert first.shape == (240, 320, 3) and (first == cam.scene.frame(T0)).all()
    cam.inject(card)
    assert (await anext(stream)) is card
    assert (await anext(stream)) is card, "the card is not held"
    await stream.aclose()
