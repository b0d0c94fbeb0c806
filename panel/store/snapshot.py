"""Camera snapshots for the access log, bounded in size.

Whatever the camera delivers (a 12-megapixel sensor, a noisy night frame), the JPEG
kept with an entry fits: the longer side scaled down to `max_side`, then the quality
lowered, then the picture halved, until it is at most `max_bytes`. So every entry
fits the store's budget and the cloud's message limit.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_QUALITY = 30


def bounded_jpeg(frame: np.ndarray, *, max_side: int, quality: int, max_bytes: int) -> bytes | None:
    """The frame as a JPEG of at most max_bytes (None if even a thumbnail is over)."""
    image = _scaled(frame, max_side)
    while True:
        for q in range(quality, MIN_QUALITY - 1, -15):
            ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, q])
            if ok and len(data) <= max_bytes:
                return data.tobytes()
        if max(image.shape[:2]) <= 32:
            return None
        image = _scaled(image, max(image.shape[:2]) // 2)


def _scaled(frame: np.ndarray, max_side: int) -> np.ndarray:
    height, width = frame.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return frame
    size = (max(1, round(width * max_side / longest)), max(1, round(height * max_side / longest)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
