"""Read rate on the shared photo set (../shared/qr/photos, see its README).

The panel's cascade must read at least what zxing-cpp alone reads (and what pyzbar
reads). Takes about a second; skipped when the photo set is not beside the repo.
"""

import json
import os
from pathlib import Path

import pytest

from panel.scanner.decoders import CascadeDecoder, ZbarDecoder, ZxingDecoder
from panel.scanner.files import read_gray

PHOTOS = Path(os.environ.get("QR_PHOTOS", Path(__file__).resolve().parents[3] / "shared" / "qr" / "photos"))
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def load_set():
    items = []
    for expected in sorted(PHOTOS.rglob("*.expected.json")):
        stem = expected.name[: -len(".expected.json")]
        images = [p for p in expected.parent.glob(stem + ".*") if p.suffix.lower() in IMAGE_SUFFIXES]
        assert len(images) == 1, expected
        items.append((images[0], read_gray(images[0]), json.loads(expected.read_text())))
    return items


def read_correctly(codes, expected):
    if expected["match"] == "substring":
        return any(c and any(c in t for t in expected["texts"]) for c in codes)
    return any(c in expected["texts"] for c in codes)


@pytest.fixture(scope="module")
def photo_set():
    if not PHOTOS.is_dir():
        pytest.skip(f"QR photo set not found at {PHOTOS}")
    items = load_set()
    assert len(items) >= 100
    return items


def score(decoder, items):
    return {str(path) for path, gray, expected in items if read_correctly(decoder.decode(gray), expected)}


def test_cascade_reads_at_least_what_each_library_reads(photo_set):
    cascade = score(CascadeDecoder(), photo_set)
    zxing = score(ZxingDecoder(), photo_set)
    zbar = score(ZbarDecoder(), photo_set)
    assert len(cascade) >= len(zxing)
    assert zxing <= cascade  # not just as many: every image zxing-cpp reads
    assert len(cascade) >= len(zbar)
    assert len(cascade) >= 0.9 * len(photo_set)
