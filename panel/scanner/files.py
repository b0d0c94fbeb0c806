"""Codes in image files, for `panel scan [--json] IMAGE...`.

``scan_file`` never raises for a bad file: the result then carries an ``error``
string (and no codes), so the CLI can print one line per image and carry on.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from .decoders import Decoder, default_decoder, to_gray


def read_gray(path: str | Path) -> np.ndarray:
    """The image as 2-D uint8 gray. Transparent pixels become white (a PNG code
    with an alpha channel is often black-on-transparent; OpenCV's plain grayscale
    read would make the background black too). Raises ValueError when OpenCV
    cannot read it."""
    data = np.fromfile(str(path), dtype=np.uint8)  # also copes with non-ASCII paths
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise ValueError("not an image OpenCV can read")
    if image.dtype != np.uint8:  # 16-bit PNG/TIFF
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(float(image.max()), 1.0))
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        image = (image[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return to_gray(image)


def scan_file(path: str | Path, decoder: Decoder | None = None) -> dict:
    """``{"path": str, "codes": [...], "ms": float}``; ``ms`` is the decode time
    alone (not the file read). On failure: ``{"path", "codes": [], "ms": 0.0,
    "error": "..."}``."""
    decoder = decoder or default_decoder()
    result: dict = {"path": str(path), "codes": [], "ms": 0.0}
    try:
        gray = read_gray(path)
    except FileNotFoundError:
        result["error"] = "no such file"
        return result
    except IsADirectoryError:
        result["error"] = "is a directory"
        return result
    except (OSError, ValueError, cv2.error) as exc:
        result["error"] = str(exc) or type(exc).__name__
        return result
    start = time.perf_counter()
    result["codes"] = decoder.decode(gray)
    result["ms"] = round((time.perf_counter() - start) * 1000.0, 3)
    return result
