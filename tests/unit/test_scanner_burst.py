"""The scanner as the panel builds it (issue 18): decodes only where a code can be, reads
codes in bad conditions from several frames, asks the camera for fewer frames when
nothing moves. Frames come from the seeded scenes of panel.sim.camera_scene; the clock
is fake. Asserts on what was read and what was decoded, never on time."""


import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from panel.access import issue_credential, qr_code, rotating_code
from panel.scanner import Scanner, ZxingDecoder
from panel.scanner.likeness import candidates
from panel.sim.camera_scene import LiveScene, bad_burst, qr_screen
from tests.support import until

NOW = 1_790_000_000.0
ISSUER = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def key(i: int) -> str:
    """A real rotating credential, the same every run (Ed25519 signs deterministically)."""
    device = Ed25519PrivateKey.from_private_bytes(bytes([i + 1]) * 32)
    credential = issue_credential(ISSUER, "test", holder_id=f"r{i}", holder_name=f"Resident {i}", kind="resident",
                                  doors=["main"], not_before=NOW - 60, not_after=NOW + 3600,
                                  credential_id=f"cred-{i}", device_key=device.public_key())
    return rotating_code(credential, device, now=NOW)


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def scan(scanner: Scanner, clock: FakeClock, frames, fps: float = 15.0) -> list[str]:
    texts = []
    for frame in frames:
        texts += scanner.process(frame)
        clock.now += 1 / fps
    return texts


@pytest.mark.parametrize("condition", ["small", "glare", "low contrast"])
def test_codes_zxing_alone_misses_in_every_frame_are_read_from_the_burst(condition):
    rng = np.random.default_rng(11)
    zxing = ZxingDecoder()
    bursts = [(key(i), bad_burst(key(i), condition, rng, qr_code, frames=8)) for i in range(8)]
    # The bursts zxing-cpp alone reads in none of their frames:
    missed = [(text, frames) for text, frames in bursts if not any(text in zxing.decode(f) for f in frames)]
    assert missed, "the fixed set should hold codes zxing-cpp alone cannot read"
    clock = FakeClock()
    scanner = Scanner(clock=clock)              # as the panel builds it
    read = []
    for text, frames in missed:
        if text in scan(scanner, clock, frames):
            read.append(text)
        clock.now += 5                          # the next visitor
    assert len(read) >= (len(missed) + 1) // 2, f"read {len(read)} of the {len(missed)} zxing-cpp missed"


def test_people_passing_and_light_changing_cost_no_decodes_and_a_code_is_read_at_once():
    scene = LiveScene(seed=3, people_every=2.0)
    clock = FakeClock()
    scanner = Scanner(clock=clock)
    frames = [scene.frame() for _ in range(15 * 20)]          # 20 s of a hall with people walking past
    assert scan(scanner, clock, frames) == []
    today = Scanner(likeness=False, clock=FakeClock())       # every changed frame decoded
    scan(today, today.clock, frames)
    assert today.frames_decoded > 40
    # At most the safety net: one whole-frame decode a second while the scene changes.
    assert scanner.frames_decoded <= 21
    text = key(0)
    scene.show(np.clip(qr_screen(text, qr_code).repeat(3, 0).repeat(3, 1), 0, 255).astype(np.uint8))
    assert scanner.process(scene.frame()) == [text]           # the first frame showing it


def test_a_still_scene_is_not_decoded_again_unless_something_code_like_is_in_view():
    scene = LiveScene(seed=5, people_every=1e9)
    clock = FakeClock()
    scanner = Scanner(clock=clock)
    scan(scanner, clock, [scene.frame() for _ in range(15 * 5)])
    assert scanner.frames_decoded <= 1
    scene.show(np.full((200, 200), 128, np.uint8))             # something in view, then the same code-like
    held = scene.frame()
    held[140:340, 220:420] = np.kron(np.random.default_rng(0).integers(0, 2, (50, 50)) * 200 + 30,
                                     np.ones((4, 4)))[..., None]
    assert candidates(held[:, :, 0])
    decoded = scanner.frames_decoded
    scan(scanner, clock, [held] * 45)                          # 3 s of it held still
    assert scanner.frames_decoded - decoded == 3               # looked at again once a second


def test_the_preview_view_changes_only_with_the_scene():
    scene = LiveScene(seed=2, people_every=1e9)
    clock = FakeClock()
    scanner = Scanner(clock=clock)
    first = scene.frame()
    scanner.process(first)
    scan(scanner, clock, [scene.frame() for _ in range(10)])   # sensor noise only
    assert scanner.view is first
    scene.show(np.full((200, 200), 250, np.uint8))
    moved = scene.frame()
    scanner.process(moved)
    assert scanner.view is moved


def test_wanted_fps_is_low_after_stillness_and_full_at_a_change_and_in_a_call():
    clock = FakeClock()
    scanner = Scanner(clock=clock, idle_fps=5.0, idle_after=2.0)
    still = np.full((480, 640), 90, np.uint8)
    scanner.process(still)
    assert scanner.wanted_fps() is None
    clock.now += 2.5
    scanner.process(still)
    assert scanner.wanted_fps() == 5.0
    scanner.min_interval = 0.5                 # the app's sign of a call: the call's video needs every frame
    assert scanner.wanted_fps() is None
    scanner.min_interval = 0.0
    scanner.process(np.full((480, 640), 160, np.uint8))
    assert scanner.wanted_fps() is None


async def test_run_tells_the_camera_its_pace():
    clock = FakeClock()
    scanner = Scanner(clock=clock, idle_fps=5.0, idle_after=2.0)
    paced = []
    still, moved = np.full((480, 640), 90, np.uint8), np.full((480, 640), 160, np.uint8)

    async def source():
        for frame, dt in [(still, 0)] + [(still, 0.5)] * 6 + [(moved, 0.1)]:
            seen = scanner.frames_seen
            clock.now += dt
            yield frame
            await until(lambda: scanner.frames_seen > seen, what="the frame looked at")

    await scanner.run(source(), pace=paced.append)
    assert paced == [5.0, None]


def test_a_code_in_noise_that_stands_out_in_pieces_is_read_whole():
    """In a noisy frame a code's cells stand out as several regions: they are read as one
    (a piece of a code reads as nothing), and a plain whole-frame read gets the cascade."""
    import io

    import cv2
    import numpy as np
    import segno

    from panel.scanner.burst import BurstDecoder

    text = "HC1:" + "ABCDEFGHIJ0123456789" * 12
    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=8, border=4)
    qr = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE)
    frame = np.random.default_rng(7).integers(0, 256, (2400, 3200), dtype=np.uint8)
    frame[100:100 + qr.shape[0], 100:100 + qr.shape[1]] = qr
    assert BurstDecoder().decode(frame) == [text]
