"""The fuzz benchmark's short version (scripts/bench_fuzz.py): every target a few hundred
inputs, zero crashes. A crash the long run finds and nobody has fixed yet goes into
KNOWN as its minimal reproducer, xfail(strict) until the fix lands (the fix turns it
into a pass; then it moves to FIXED, and the short runs stop ignoring its signature)."""

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from fuzzbench.harness import Harness  # noqa: E402
from fuzzbench.inputs import rand_bytes  # noqa: E402
from fuzzbench.runner import replay, run_target  # noqa: E402
from fuzzbench.targets import TARGETS  # noqa: E402

SEED = 1
# A BMP whose header declares a width of 2^27 pixels.
BMP_TOO_WIDE = (b"BM6\x00\x00\x00\x00\x00\x00\x006\x00\x00\x00(\x00\x00\x00"
                b"\x00\x00\x00\x08\x01\x00\x00\x00\x01\x00\x18\x00" + b"\x00" * 24)

# (target, minimal input, why it is a crash): found by the long run, not fixed yet.
KNOWN: list[tuple[str, object, str]] = []

# (target, minimal input, what it did): found by the long run, since fixed; kept as regressions.
FIXED = [
    ("signaling.sync", ['{"type": "event_ack", "id": {}}'],
     "panel/sync.py raised TypeError (unhashable) out of CloudSync.on_message for an event_ack "
     "whose id is an object or a list"),
    ("image.decode", BMP_TOO_WIDE,
     "hal/camera.py decode_image raised cv2.error for an image whose header declares a size over "
     "OpenCV's limit, instead of returning None"),
    ("api.body", ("camera/frame", BMP_TOO_WIDE),
     "POST camera/frame answered 500 (internal error) for such an image, not 4xx"),
]


@pytest.mark.parametrize("target", sorted(TARGETS))
async def test_short_run_has_no_crash(target):
    known = set()
    for t, value, _ in KNOWN:
        if t == target and (bad := await replay(t, value)):
            known.add(bad[0])
    result = await run_target(target, TARGETS[target][0].quick, SEED, shrink_budget=50)
    assert result.inputs == TARGETS[target][0].quick
    new = {sig: f for sig, f in result.found.items() if sig not in known}
    assert not new, "\n".join(f"{sig}: {f.error}\n  minimal input: {f.minimal!r}" for sig, f in new.items())


@pytest.mark.parametrize("target,value", [
    *(pytest.param(t, v, marks=pytest.mark.xfail(strict=True, reason=why), id=f"known-{t}") for t, v, why in KNOWN),
    *(pytest.param(t, v, id=f"fixed-{t}") for t, v, _ in FIXED)])
async def test_crash_reproducer_is_refused_cleanly(target, value):
    assert await replay(target, value) is None


def test_a_crash_is_counted_and_shrunk():
    """The runner itself: a target that fails on one byte finds it and shrinks to it."""
    class OneByte(Harness):
        def gen(self, rng):
            return rand_bytes(rng, 40)

        def check(self, data):
            if b"\x07" in data:
                raise KeyError("seven")

    TARGETS["test.one_byte"] = (OneByte, 0)
    try:
        result = asyncio.run(run_target("test.one_byte", 200, SEED))
    finally:
        del TARGETS["test.one_byte"]
    assert result.crashed > 0
    (found,) = result.found.values()
    assert found.signature.startswith("KeyError at ")
    assert found.minimal == b"\x07"
