"""Decoders: a generated credential QR reads back exactly; bad pictures never raise."""

import cv2
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from panel.access import issue_credential, rotating_code, write_qr_png
from panel.scanner import decoders
from panel.scanner.decoders import CascadeDecoder, ZbarDecoder, ZxingDecoder, to_gray

KEY = Ed25519PrivateKey.generate()
DEVICE = Ed25519PrivateKey.generate()
NOW = 1_800_000_000
STATIC = issue_credential(
    KEY, "k1", holder_id="res-1", holder_name="Zoë Ødegaard", kind="visitor", doors=["main"],
    not_before=NOW, not_after=NOW + 3600,
)
ROTATING = rotating_code(
    issue_credential(
        KEY, "k1", holder_id="res-2", holder_name="Ana", kind="resident", doors=["main", "garage"],
        not_before=NOW, not_after=NOW + 86400, device_key=DEVICE.public_key(),
    ),
    DEVICE,
    now=NOW,
)
ALL = [ZxingDecoder, ZbarDecoder, CascadeDecoder, lambda: CascadeDecoder(use_zbar=True)]


def qr_image(tmp_path, text, scale=4):
    path = tmp_path / "code.png"
    write_qr_png(text, path, scale=scale)
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    return image


def in_scene(code, size=(480, 640), at=(100, 150)):
    """The code on a darker, textured background, as a camera might see a phone."""
    rng = np.random.default_rng(1)
    scene = cv2.GaussianBlur(rng.integers(40, 120, size, dtype=np.uint8), (0, 0), 2)
    y, x = at
    scene[y : y + code.shape[0], x : x + code.shape[1]] = code
    return scene


@pytest.mark.parametrize("make", ALL)
@pytest.mark.parametrize("text", [STATIC, ROTATING], ids=["static", "rotating"])
def test_generated_credential_reads_back(tmp_path, make, text):
    image = qr_image(tmp_path, text)
    assert make().decode(image) == [text]
    assert make().decode(in_scene(qr_image(tmp_path, text, scale=3))) == [text]


@pytest.mark.parametrize("make", ALL)
@pytest.mark.parametrize(
    "picture",
    [np.zeros((0, 0), np.uint8), np.zeros((1, 1), np.uint8), np.full((480, 640), 255, np.uint8),
     np.zeros((3, 3), np.float32), np.arange(100, dtype=np.uint8).reshape(10, 10)[::2, ::3]],
    ids=["empty", "one-pixel", "blank", "float", "strided"],
)
def test_bad_pictures_give_nothing(make, picture):
    assert make().decode(picture) == []


def test_pyzbar_value_error_is_wrapped(monkeypatch, tmp_path):
    decoder = ZbarDecoder()

    def boom(*args, **kwargs):
        raise ValueError("4294967295 is not a valid ZBarOrientation")

    monkeypatch.setattr(decoder._pyzbar, "decode", boom)
    assert decoder.decode(qr_image(tmp_path, STATIC)) == []


def test_cascade_stops_at_the_first_read(monkeypatch, tmp_path):
    calls = []
    cascade = CascadeDecoder(use_zbar=True)
    for name in ("_zxing", "_zxing_gh", "_zbar"):
        step = getattr(cascade, name)
        monkeypatch.setattr(step, "decode", lambda g, name=name, step=step.decode: calls.append(name) or step(g))
    assert cascade.decode(qr_image(tmp_path, STATIC)) == [STATIC]
    assert calls == ["_zxing"]
    calls.clear()
    assert cascade.decode(np.full((100, 100), 128, np.uint8)) == []
    assert calls == ["_zxing", "_zxing_gh", "_zbar"]


def test_to_gray_accepts_camera_layouts():
    bgr = np.zeros((4, 6, 3), np.uint8)
    assert to_gray(bgr).shape == (4, 6)
    assert to_gray(np.zeros((4, 6, 4), np.uint8)).shape == (4, 6)
    assert to_gray(np.zeros((4, 6, 1), np.uint8)).shape == (4, 6)
    gray = np.zeros((4, 6), np.uint8)
    assert to_gray(gray) is gray
    with pytest.raises(ValueError):
        to_gray(np.zeros((2, 2, 2), np.uint8))


def test_default_decoder_is_the_cascade():
    assert isinstance(decoders.default_decoder(), CascadeDecoder)
