"""A decoder for a camera, not a photo: it uses the frames before this one.

A visitor holds a key up for half a second or more: the camera sees the same code in
several frames, each a little different (the hand moves, the noise is new). A photo
decoder gets one picture and must try everything on it; this one tries one thing per
frame and a different thing on the next frame of the same code:

1. Where a code can be (panel.scanner.likeness), zxing-cpp on that region only; on the
   whole frame when nothing looks like a code or the regions are most of it. A code
   read here costs less than zxing-cpp on the whole frame.
2. When the region did not read, the next frames of the same region each get one
   remedy, in turn: a fine sharpening (codes of 1.5 px modules that blur into grey),
   a 2x upscale (low contrast, noise, glare: zxing-cpp's binarizer works on larger
   modules), a wider sharpening (defocus, motion blur), and the mean of the region's
   last frames, sharpened (noise falls with the square root of the frames).
   Plain and remedy alternate, so a code that comes into focus is still read at once.
   On a whole frame only the mean is tried (unsharpened: it is about noise there), as an
   upscale of it would cost four decodes.

How the remedies were chosen: scripts/bench_qr.py, part "conditions" (README's
measured figures): each one reads a condition zxing-cpp alone does not.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from .decoders import CascadeDecoder, ZxingDecoder, _usable
from .likeness import candidates

History = deque  # of gray crops of one region, oldest first


def _sharpen(gray: np.ndarray, sigma: float, amount: float) -> np.ndarray:
    return cv2.addWeighted(gray, 1 + amount, cv2.GaussianBlur(gray, (0, 0), sigma), -amount, 0)


def _mean(history: History, sharpen: bool = True) -> np.ndarray | None:
    same = [c for c in history if c.shape == history[-1].shape]
    if len(same) < 3:
        return None
    acc = np.zeros(same[-1].shape, np.float32)
    for c in same[-4:]:
        cv2.accumulate(c, acc)
    mean = cv2.convertScaleAbs(acc, alpha=1.0 / len(same[-4:]))
    return _sharpen(mean, 2.0, 1.5) if sharpen else mean


REMEDIES = (
    ("sharpen fine", lambda crop, history: _sharpen(crop, 1.0, 1.0)),
    ("upscale 2x", lambda crop, history: cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)),
    ("sharpen", lambda crop, history: _sharpen(crop, 2.0, 1.5)),
    ("mean of frames", lambda crop, history: _mean(history)),
)

# On a whole frame only the mean is cheap enough (an upscale would cost four decodes).
WHOLE_FRAME_REMEDIES = (("mean of frames", lambda crop, history: _mean(history, sharpen=False)),)

_MOST = 0.5             # regions covering more of the frame than this: decode the whole frame
_SAME_PLACE = 0.5       # a region overlapping the last one by this much (IoU) is the same code


def _joined(regions: list, shape: tuple[int, int], pad: int = 16) -> list:
    """Regions that touch (within `pad` px) as one, largest first: a code in busy
    surroundings can stand out as several pieces, and a piece of a code reads as nothing."""
    boxes = [list(r) for r in regions]
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                (ax, ay, aw, ah), (bx, by, bw, bh) = boxes[i], boxes[j]
                if ax - pad < bx + bw and bx - pad < ax + aw and ay - pad < by + bh and by - pad < ay + ah:
                    x, y = min(ax, bx), min(ay, by)
                    boxes[i] = [x, y, max(ax + aw, bx + bw) - x, max(ay + ah, by + bh) - y]
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    height, width = shape
    out = []
    for x, y, w, h in boxes:                # a margin: the quiet zone the detector needs
        x0, y0 = max(0, x - pad), max(0, y - pad)
        out.append((x0, y0, min(width, x + w + pad) - x0, min(height, y + h + pad) - y0))
    return sorted(out, key=lambda r: r[2] * r[3], reverse=True)


def _iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = min(ax + aw, bx + bw) - max(ax, bx)
    h = min(ay + ah, by + bh) - max(ay, by)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / (aw * ah + bw * bh - inter)


class BurstDecoder:
    """What the panel's scanner uses. ``decode(gray, regions=None)``: ``regions`` are
    likeness.candidates of this frame when the caller has them already."""

    name = "ours (burst)"
    takes_regions = True

    def __init__(self, frames: int = 4):
        self._zxing = ZxingDecoder()
        # A whole frame read plainly gets the cascade's second binarizer too: in heavy
        # noise (a dark hall, a high-resolution sensor) zxing-cpp's default one fails.
        self._cascade = CascadeDecoder()
        self._region: tuple[int, int, int, int] | None = None
        self._history: History = deque(maxlen=frames)
        self._tries = 0                 # frames of this region decoded and not read
        self.remedies_read: dict[str, int] = {}     # frames read, by step (plain or remedy): for the benchmark

    def reset(self) -> None:
        self._region, self._tries = None, 0
        self._history.clear()

    def decode(self, gray: np.ndarray, regions: list | None = None) -> list[str]:
        gray = _usable(gray)
        if gray is None:
            return []
        if regions is None:
            regions = candidates(gray)
        area = gray.shape[0] * gray.shape[1]
        whole = not regions or sum(w * h for _, _, w, h in regions) > _MOST * area
        if whole:       # nothing stands out, or everything does (heavy noise): the frame is the region
            regions = [(0, 0, gray.shape[1], gray.shape[0])]
        regions = _joined(regions, gray.shape)
        region = regions[0]                     # the largest: a key is held up close
        x, y, w, h = region
        crop = gray[y:y + h, x:x + w]
        if self._region is None or _iou(region, self._region) < _SAME_PLACE:
            self._history.clear()
            self._tries = 0
        self._region = region
        self._history.append(crop)
        self._tries += 1
        texts = []
        for ox, oy, ow, oh in regions[1:3]:     # more codes in view: plain reads of the others
            texts += self._zxing.decode(gray[oy:oy + oh, ox:ox + ow])
        remedies = WHOLE_FRAME_REMEDIES if whole else REMEDIES
        if self._tries % 2 == 1:                # plain on the first frame, then every other one
            found = (self._cascade if whole else self._zxing).decode(crop)
            if found:
                key = "plain, whole frame" if whole else "plain, region"
                self.remedies_read[key] = self.remedies_read.get(key, 0) + 1
            texts += found
        else:
            name, remedy = remedies[(self._tries // 2 - 1) % len(remedies)]
            picture = remedy(crop, self._history)
            found = self._zxing.decode(crop if picture is None else picture)
            if found and picture is not None:
                self.remedies_read[name] = self.remedies_read.get(name, 0) + 1
            texts += found
        if texts:
            self.reset()
        return list(dict.fromkeys(texts))

