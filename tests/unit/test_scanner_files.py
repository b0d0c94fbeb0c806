"""scan_file: what `panel scan` prints per image; never a traceback."""

import json

import cv2
import numpy as np

from panel.access import qr_code, write_qr_png
from panel.scanner.files import read_gray, scan_file


def test_reads_a_generated_code(tmp_path):
    path = tmp_path / "key.png"
    write_qr_png("EP1:ABC123", path)
    result = scan_file(path)
    assert result["path"] == str(path)
    assert result["codes"] == ["EP1:ABC123"]
    assert isinstance(result["ms"], float) and "error" not in result
    json.dumps(result)  # the CLI prints it as one JSON line


def test_jpeg_and_webp(tmp_path):
    path = tmp_path / "key.png"
    write_qr_png("EP1:ABC123", path)
    image = cv2.imread(str(path))
    for ext in (".jpg", ".webp"):
        other = tmp_path / f"key{ext}"
        assert cv2.imwrite(str(other), image)
        assert scan_file(other)["codes"] == ["EP1:ABC123"]


def test_transparent_background_reads_as_white(tmp_path):
    """Black modules on transparent pixels whose colour is black too."""
    matrix = np.array(list(qr_code("EP1:ABC123").matrix_iter(border=4)), dtype=np.uint8)
    alpha = np.kron(matrix * 255, np.ones((6, 6), np.uint8))
    rgba = np.zeros(alpha.shape + (4,), np.uint8)
    rgba[:, :, 3] = alpha
    path = tmp_path / "transparent.png"
    cv2.imwrite(str(path), rgba)
    assert scan_file(path)["codes"] == ["EP1:ABC123"]


def test_sixteen_bit_image(tmp_path):
    path = tmp_path / "key.png"
    write_qr_png("EP1:ABC123", path)
    deep = tmp_path / "deep.png"
    cv2.imwrite(str(deep), cv2.imread(str(path), cv2.IMREAD_GRAYSCALE).astype(np.uint16) * 257)
    assert read_gray(deep).dtype == np.uint8
    assert scan_file(deep)["codes"] == ["EP1:ABC123"]


def test_image_without_code(tmp_path):
    path = tmp_path / "blank.png"
    cv2.imwrite(str(path), np.full((50, 50), 255, np.uint8))
    assert scan_file(path)["codes"] == [] and "error" not in scan_file(path)


def test_bad_files_give_an_error_not_a_traceback(tmp_path):
    (tmp_path / "notes.txt").write_text("not a picture")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    for name, message in [("missing.png", "no such file"), ("notes.txt", "OpenCV"), ("empty.png", "OpenCV"),
                          ("cut.png", "OpenCV"), (".", "directory")]:
        result = scan_file(tmp_path / name)
        assert result["codes"] == [] and message in result["error"], (name, result)
