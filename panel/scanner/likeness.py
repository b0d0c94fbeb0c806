"""Where in a frame a QR code can be: cheap, on a half-size copy, before any decode.

A QR code is a patch dense in sharp dark/light transitions along both axes. Per cell of
16x16 frame pixels: the mean absolute difference between neighbouring pixels of the
half-size frame, across and down. Flat walls, a person's clothes and sensor noise stay
low in at least one direction; modules of a code down to about 1.4 px (and blurred ones)
stay high in both. A candidate is a group of such cells about as big as the smallest
code the panel reads; its rectangle (frame pixels, with a margin) is where a decoder
looks first. Heavy sensor noise raises the bar to twice the quieter cells; a frame
mostly edgy with nothing standing out (a code held very close, or only noise) and a
picture too small for cells are one candidate: the whole of it.
"""

from __future__ import annotations

import cv2
import numpy as np

CELL = 16                 # frame pixels per cell side
NOISE_FACTOR = 2.0       # a code cell: this many times the frame's quieter cells
MIN_CELLS = 10            # the smallest code read (about 110 px across) covers ~40 cells


def cell_energy(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean |second difference| across and down the half-size frame, per cell (float32,
    rows x cols). Second, not first, differences: a smooth shading or a wall's texture is
    near zero, a module edge is not."""
    h, w = gray.shape
    cols, rows = max(1, w // CELL), max(1, h // CELL)
    step = CELL // 2
    half = cv2.resize(gray[:rows * CELL, :cols * CELL], (cols * step, rows * step), interpolation=cv2.INTER_AREA)
    # |(left + right) / 2 - centre|: half the second difference, in three cheap uint8 passes.
    ddx = cv2.absdiff(cv2.addWeighted(half[:, 2:], 0.5, half[:, :-2], 0.5, 0), half[:, 1:-1])
    ddy = cv2.absdiff(cv2.addWeighted(half[2:], 0.5, half[:-2], 0.5, 0), half[1:-1])
    # Back to whole cells (the lost border column/row counts as flat), averaged per cell.
    ddx = cv2.copyMakeBorder(ddx, 0, 0, 1, 1, cv2.BORDER_CONSTANT, value=0)
    ddy = cv2.copyMakeBorder(ddy, 1, 1, 0, 0, cv2.BORDER_CONSTANT, value=0)
    return (cv2.resize(ddx, (cols, rows), interpolation=cv2.INTER_AREA).astype(np.float32),
            cv2.resize(ddy, (cols, rows), interpolation=cv2.INTER_AREA).astype(np.float32))


def candidates(gray: np.ndarray, threshold: float = 4.0, margin: int = 2) -> list[tuple[int, int, int, int]]:
    """Rectangles (x, y, w, h in frame pixels) that may hold a code, largest first."""
    h, w = gray.shape
    if (h // CELL) * (w // CELL) < 4 * MIN_CELLS:      # a small picture: decoding it all is cheap
        return [(0, 0, w, h)] if h and w else []
    ex, ey = cell_energy(gray)
    edgy = (ex > threshold) & (ey > threshold)
    # Heavy sensor noise raises every cell: a code still stands out of the quieter cells
    # (a low percentile, not the median: a code held close may fill most of the frame).
    floor = np.minimum(ex, ey).ravel()
    raised = max(threshold, NOISE_FACTOR * float(np.partition(floor, len(floor) // 5)[len(floor) // 5]))
    mask = ((ex > raised) & (ey > raised)).astype(np.uint8)
    if int(mask.sum()) < MIN_CELLS:
        # Nothing stands out of a frame mostly edgy: all code (held very close) or all noise.
        return [(0, 0, w, h)] if edgy.mean() > 0.5 else []
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))      # join cells split by a glare or a quiet module
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    found = []
    for x, y, cw, ch, area in stats[1:]:
        if area < MIN_CELLS:
            continue
        x0, y0 = max(0, (x - margin) * CELL), max(0, (y - margin) * CELL)
        x1, y1 = min(w, (x + cw + margin) * CELL), min(h, (y + ch + margin) * CELL)
        found.append((int(x0), int(y0), int(x1 - x0), int(y1 - y0), int(area)))
    found.sort(key=lambda r: -r[4])
    return [r[:4] for r in found]
