"""Cameras: synthetic, a folder of images, OpenCV on a video file and on a device that
does not exist, and frame injection. Rates are asserted as frame counts with generous
bounds over a window, never as times."""

import asyncio
import os
import time

import cv2
import numpy as np
import pytest

from hal.camera import CameraError, FolderCamera, OpenCvCamera, SyntheticCamera, open_camera

pytestmark = pytest.mark.timeout(20)


async def collect(camera, *, count=None, seconds=None, timeout=5.0):
    """Frames from camera.frames(): `count` of them, or all within `seconds`."""
    frames = []
    gen = camera.frames()
    try:
        async with asyncio.timeout(seconds if seconds is not None else timeout):
            async for frame in gen:
                frames.append(frame)
                if count is not None and len(frames) >= count:
                    break
    except TimeoutError:
        if seconds is None:
            raise
    finally:
        await gen.aclose()
    return frames


def solid(value, width=64, height=48):
    return np.full((height, width, 3), value, np.uint8)


def shade(frame) -> int:
    return int(round(float(frame.mean())))


async def test_synthetic_frames_have_the_configured_size_and_roughly_the_rate():
    camera = SyntheticCamera(320, 240, fps=20)
    frames = await collect(camera, seconds=1.0)
    assert all(f.shape == (240, 320, 3) and f.dtype == np.uint8 for f in frames)
    assert 8 <= len(frames) <= 24                           # ~20 expected
    assert camera.frames_delivered == len(frames) and camera.latest is frames[-1]
    assert not np.array_equal(frames[0], frames[-1])        # the scene moves


async def test_folder_camera_loops_over_its_images(tmp_path):
    for i, value in enumerate((10, 120, 240)):
        cv2.imwrite(str(tmp_path / f"{i}.png"), solid(value))
    (tmp_path / "notes.txt").write_text("not an image")
    camera = FolderCamera(tmp_path, 64, 48, fps=100)
    frames = await collect(camera, count=7)
    assert [shade(f) for f in frames] == [10, 120, 240, 10, 120, 240, 10]


async def test_a_folder_of_one_picture_is_a_still_scene_until_the_picture_changes(tmp_path):
    picture = tmp_path / "hall.png"
    cv2.imwrite(str(picture), solid(90))
    camera = FolderCamera(tmp_path, 64, 48, fps=100)
    first, second = await collect(camera, count=2)
    assert first is second and not first.flags.writeable      # the same frame: nothing to redraw or decode
    cv2.imwrite(str(picture), solid(200))
    os.utime(picture, ns=(time.time_ns(), time.time_ns() + 1_000_000))   # a new mtime, however coarse the clock
    [third] = await collect(camera, count=1)
    assert shade(third) == 200


async def test_folder_without_images_is_a_clear_error(tmp_path):
    with pytest.raises(CameraError, match="no images"):
        FolderCamera(tmp_path)


async def test_opencv_camera_plays_a_video_file_and_loops(tmp_path):
    path = str(tmp_path / "door.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    assert writer.isOpened()
    shades = (20, 80, 140, 200)
    for value in shades:
        writer.write(solid(value))
    writer.release()

    faults = []
    camera = OpenCvCamera(path, 64, 48, fps=200, on_fault=faults.append)
    try:
        frames = await collect(camera, count=10)
    finally:
        camera.close()
    seen = [min(shades, key=lambda s: abs(s - shade(f))) for f in frames]   # MJPEG is lossy
    assert seen == [20, 80, 140, 200, 20, 80, 140, 200, 20, 80]
    assert frames[0].shape == (48, 64, 3)
    assert [f for f in faults if f] == []


async def test_opencv_camera_that_does_not_exist_reports_a_fault_and_keeps_running(tmp_path):
    faults = []
    camera = OpenCvCamera(str(tmp_path / "video9"), 64, 48, fps=50, reopen_seconds=0.05,
                          on_fault=faults.append)
    frames = await collect(camera, seconds=0.5)            # no exception out of frames()
    assert frames == []
    assert len(faults) >= 2 and all("cannot be opened" in f for f in faults)   # it keeps retrying
    camera.inject(solid(99))                                # and still serves injected frames
    [frame] = await collect(camera, count=1)
    assert shade(frame) == 99


async def test_open_camera_names_a_missing_source(tmp_path):
    with pytest.raises(CameraError, match="not found"):
        open_camera(str(tmp_path / "nothing.mp4"), 64, 48, 10)
    assert isinstance(open_camera("synthetic", 64, 48, 10), SyntheticCamera)


async def test_an_injected_frame_comes_next_and_is_held():
    camera = SyntheticCamera(64, 48, fps=1, hold_seconds=30)   # a slow camera: 1 s between frames
    gen = camera.frames()
    try:
        await anext(gen)                                    # the camera is now waiting for its next tick
        card = solid(77)
        asyncio.get_running_loop().call_soon(camera.inject, card)
        async with asyncio.timeout(0.5):                    # well before the next tick
            assert await anext(gen) is card
        camera.fps = 100                                    # held: frame after frame
        for _ in range(5):
            assert await anext(gen) is card
    finally:
        await gen.aclose()


async def test_a_frame_injected_while_the_consumer_holds_the_last_one_is_not_lost():
    camera = SyntheticCamera(64, 48, fps=1, hold_seconds=30)
    gen = camera.frames()
    try:
        await anext(gen)
        card = solid(55)
        camera.inject(card)                                 # before the camera goes back to waiting
        async with asyncio.timeout(0.5):
            assert await anext(gen) is card
    finally:
        await gen.aclose()


async def test_the_camera_returns_to_its_scene_after_the_hold():
    camera = SyntheticCamera(64, 48, fps=100, hold_seconds=0.1)
    card = solid(77)
    camera.inject(card)
    started = time.monotonic()
    frames = []
    gen = camera.frames()
    try:
        async with asyncio.timeout(3):
            async for frame in gen:
                frames.append(frame)
                if frame is not card:
                    break
    finally:
        await gen.aclose()
    assert frames[0] is card and frames[-1] is not card and len(frames) >= 2
    assert time.monotonic() - started >= 0.1


async def test_a_paced_down_camera_delivers_fewer_frames_and_speeds_up_at_once():
    camera = SyntheticCamera(64, 48, fps=50)
    camera.pace(0.5)                                        # what the scanner asks for when nothing moves
    assert camera.rate == 0.5
    gen = camera.frames()
    try:
        await anext(gen)                                    # now waiting 2 s for the next tick
        asyncio.get_running_loop().call_soon(camera.pace, None)
        async with asyncio.timeout(1.0):                    # well before the paced tick
            await anext(gen)
        assert camera.rate == 50
        camera.pace(500)                                    # never above the configured rate
        assert camera.rate == 50
    finally:
        await gen.aclose()


async def test_a_camera_unplugged_mid_scan_is_a_fault_and_is_read_again_when_plugged_back(tmp_path):
    """The device goes away while frames are being read (a USB camera pulled: here its
    file is moved away), and comes back: a fault while it is gone, frames again after."""
    from tests.support import until

    path = tmp_path / "video0.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for _ in range(4):
        writer.write(solid(120))
    writer.release()
    faults, frames = [], []
    camera = OpenCvCamera(str(path), 64, 48, fps=200, reopen_seconds=0.05, on_fault=faults.append)

    async def scan():
        async for frame in camera.frames():
            frames.append(frame)
    scanner = asyncio.create_task(scan())
    try:
        await until(lambda: len(frames) >= 2, what="frames from the camera")
        away = path.rename(tmp_path / "unplugged.avi")          # pulled out mid-scan
        await until(lambda: any(f and "cannot be opened" in f for f in faults), what="the fault reported")
        assert any(f and "stopped delivering" in f for f in faults)
        assert not scanner.done()                               # the scan goes on waiting
        seen = len(frames)
        away.rename(path)                                       # plugged back in
        await until(lambda: len(frames) >= seen + 2, what="frames again after the camera is back")
        assert faults[-1] is None                               # the fault is cleared
    finally:
        scanner.cancel()
        await asyncio.gather(scanner, return_exceptions=True)
        camera.close()
