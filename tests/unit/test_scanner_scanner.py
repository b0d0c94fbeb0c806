"""Scanner: change detection, dedupe, latest-frame-wins, one decode at a time.

Synchronisation is by events and a fake clock, never by sleeping.

Most tests here use flat synthetic frames and ``likeness=False`` (every changed frame
decoded, the scanner before issue 18); tests/unit/test_scanner_burst.py covers the
code-likeness gate, the camera pacing and the burst decoder."""

import asyncio
import threading

import cv2
import numpy as np
import pytest

from panel.access import write_qr_png
from panel.scanner import CascadeDecoder, Scanner


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class ValueDecoder:
    """Reads a flat frame as the text "v<grey level>"; records what it was given."""

    name = "value"

    def __init__(self):
        self.seen = []

    def decode(self, gray):
        self.seen.append(int(gray[0, 0]))
        return [] if gray[0, 0] == 0 else [f"v{int(gray[0, 0])}"]


def flat(value, shape=(48, 64)):
    return np.full(shape, value, np.uint8)


def test_unchanged_frames_are_not_decoded():
    decoder = ValueDecoder()
    scanner = Scanner(decoder, likeness=False, clock=FakeClock())
    noisy = flat(100).copy()
    noisy[5, 5] = 104  # sensor noise: below the threshold once averaged
    for frame in (flat(100), flat(100), noisy, flat(100)):
        scanner.process(frame)
    assert decoder.seen == [100]
    scanner.process(flat(140))
    assert decoder.seen == [100, 140]
    assert (scanner.frames_seen, scanner.frames_decoded) == (5, 2)


def test_slow_drift_adds_up():
    """Compared with the last decoded frame, not the previous one."""
    decoder = ValueDecoder()
    scanner = Scanner(decoder, change_threshold=6, likeness=False, clock=FakeClock())
    for value in range(100, 120, 2):
        scanner.process(flat(value))
    assert decoder.seen == [100, 108, 116]


def test_unchanged_scene_is_looked_at_again_after_rescan_seconds():
    clock = FakeClock()
    decoder = ValueDecoder()
    scanner = Scanner(decoder, rescan_seconds=1.0, likeness=False, clock=clock)
    for _ in range(10):  # 10 frames over 2.5 s of a still picture
        scanner.process(flat(100))
        clock.now += 0.25
    assert len(decoder.seen) == 3  # at 0, 1.0 and 2.0 s


def test_small_object_entering_the_frame_counts_as_change():
    decoder = ValueDecoder()
    scanner = Scanner(decoder, likeness=False, clock=FakeClock())
    frame = flat(0, (480, 640))
    scanner.process(frame)
    with_phone = frame.copy()
    with_phone[200:260, 300:340] = 255  # a small bright phone screen
    scanner.process(with_phone)
    assert len(decoder.seen) == 2


def test_same_code_within_the_window_is_emitted_once():
    clock = FakeClock()
    scanner = Scanner(ValueDecoder(), likeness=False, dedupe_seconds=3.0, clock=clock)
    assert scanner.process(flat(50)) == ["v50"]
    clock.now += 1
    assert scanner.process(flat(0)) == []  # code out of view, briefly
    clock.now += 1
    assert scanner.process(flat(50)) == []  # back within 3 s of last seen
    clock.now += 1
    assert scanner.process(flat(60)) == ["v60"]  # a different code is not held back
    clock.now += 3.1
    assert scanner.process(flat(50)) == ["v50"]  # away for 3.1 s: a new decision


def test_code_held_in_view_gives_one_decision():
    class SameCode(ValueDecoder):
        def decode(self, gray):
            super().decode(gray)
            return ["code"]

    clock = FakeClock()
    decoder = SameCode()
    scanner = Scanner(decoder, dedupe_seconds=3.0, likeness=False, clock=clock)
    emitted = []
    for i in range(20):  # 10 s of changing frames, 2 per second, the code always in view
        emitted += scanner.process(flat(50 if i % 2 else 150))
        clock.now += 0.5
    assert len(decoder.seen) == 20
    assert emitted == ["code"]


def test_dedupe_window_is_configurable():
    clock = FakeClock()
    scanner = Scanner(ValueDecoder(), likeness=False, dedupe_seconds=0.0, clock=clock)
    assert scanner.process(flat(50)) == ["v50"]
    assert scanner.process(flat(0)) == []
    assert scanner.process(flat(50)) == ["v50"]


async def frames_from(items):
    for item in items:
        yield item


async def test_run_emits_through_the_async_callback():
    got = []

    async def on_code(text):
        got.append(text)

    scanner = Scanner(ValueDecoder(), likeness=False, on_code=on_code, clock=FakeClock())
    await scanner.run(frames_from([flat(10)]))
    assert got == ["v10"]


async def test_run_decodes_one_frame_at_a_time_and_the_latest_wins():
    started = asyncio.Event()
    release = threading.Event()
    loop = asyncio.get_running_loop()
    threads = set()

    class Blocking(ValueDecoder):
        def decode(self, gray):
            threads.add(threading.current_thread().name)
            if not self.seen:  # hold the worker on the first frame
                loop.call_soon_threadsafe(started.set)
                release.wait(timeout=30)
            return super().decode(gray)

    decoder = Blocking()
    got = []

    async def on_code(text):
        got.append(text)

    async def source():
        yield flat(10)
        await started.wait()  # the worker is busy with frame 10 now
        for v in (20, 30, 40):
            yield flat(v)
        release.set()

    await Scanner(decoder, on_code=on_code, likeness=False, clock=FakeClock()).run(source())
    assert decoder.seen == [10, 40]  # 20 and 30 were stale by the time the worker was free
    assert got == ["v10", "v40"]
    assert len(threads) == 1 and threading.current_thread().name not in threads


async def test_min_interval_spaces_the_decodes_out_and_the_latest_frame_wins():
    decoder = ValueDecoder()
    first_done = asyncio.Event()

    async def on_code(text):
        first_done.set()

    async def source():
        yield flat(10)
        await first_done.wait()             # the scanner now pauses for min_interval
        for v in (20, 30, 40):
            yield flat(v)
            await asyncio.sleep(0)          # let the pump run, as a camera's frames would arrive

    scanner = Scanner(decoder, on_code=on_code, likeness=False, clock=FakeClock())
    scanner.min_interval = 1.0
    await scanner.run(source())
    assert decoder.seen == [10, 40]


async def test_run_with_real_decoder_and_bgr_frames(tmp_path):
    path = tmp_path / "qr.png"
    write_qr_png("EP1:HELLO", path, scale=4)
    code = cv2.imread(str(path))  # BGR
    blank = np.full_like(code, 200)
    got = []

    async def on_code(text):
        got.append(text)

    decoded = asyncio.Event()
    loop = asyncio.get_running_loop()

    class Signalling(CascadeDecoder):
        def decode(self, gray):
            try:
                return super().decode(gray)
            finally:
                loop.call_soon_threadsafe(decoded.set)

    scanner = Scanner(Signalling(), likeness=False, on_code=on_code, clock=FakeClock())

    async def one_by_one():
        for frame in [code, blank, code, blank, code]:
            yield frame
            await decoded.wait()  # each frame is decoded before the next one comes
            decoded.clear()

    await scanner.run(one_by_one())
    assert scanner.frames_seen == 5
    assert got == ["EP1:HELLO"]


async def test_source_errors_propagate():
    async def broken():
        yield flat(10)
        raise OSError("camera unplugged")

    with pytest.raises(OSError, match="unplugged"):
        await Scanner(ValueDecoder(), likeness=False, clock=FakeClock()).run(broken())


async def test_callback_errors_propagate():
    async def on_code(text):
        raise RuntimeError("store full")

    with pytest.raises(RuntimeError, match="store full"):
        await Scanner(ValueDecoder(), likeness=False, on_code=on_code, clock=FakeClock()).run(frames_from([flat(10)]))
