"""The demo camera's scene: a visitor standing at a lit doorway, as a door camera sees one.

Everything that does not move is drawn once (the porch, the figure as a sprite with
its alpha, its shadow, the light of a passing car); a frame is the background copied,
the light band added, the shadow and the figure composited at their place for the
time: about 0.15 ms a frame at 640x480 (0.35 ms at 1280x720), 25 ms once to build.
The camera's `clock` (wall time) sets the motion, so a fixed clock gives the same
picture every time.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from hal.camera import SyntheticCamera

SUPERSAMPLE = 3         # the sprite is drawn this much larger, then shrunk: smooth edges


class DoorwayScene:
    """frame(t) -> a BGR frame of a person at a doorway, swaying a little, breathing,
    with the headlights of a passing car sweeping the wall now and then."""

    def __init__(self, width: int = 640, height: int = 480):
        self.width, self.height = width, height
        self.u = min(width / 640, height / 480)           # 1 at 640x480
        self._background = _porch(width, height)
        self._figure, self._figure_inv = _sprite(_draw_figure, self._figure_size(), self.u)
        self._shadow = _shadow(self._figure_size(), self.u)
        self._band = _light_band(height, max(8, round(160 * self.u)))

    def empty(self) -> np.ndarray:
        """The porch with nobody at it (a copy)."""
        return self._background.copy()

    def _figure_size(self) -> tuple[int, int]:
        return round(380 * self.u), round(400 * self.u)      # width, height of the sprite

    def frame(self, t: float) -> np.ndarray:
        h, w = self.height, self.width
        frame = self._background.copy()
        # A car passes every 14 s: its lights cross the wall in about 3 s.
        sweep = (t % 14.0) / 3.0
        if sweep < 1.0:
            bw = self._band.shape[1]
            x = round(-bw + sweep * (w + bw))
            _add(frame, self._band, x, 0)
        # The visitor shifts weight (a slow sway, a quicker small one) and breathes.
        sway = 16 * math.sin(2 * math.pi * t / 7.0) + 4 * math.sin(2 * math.pi * t / 2.3)
        bob = 3 * math.sin(2 * math.pi * t / 3.4)
        fw, fh = self._figure_size()
        x = round((w - fw) / 2 + sway * self.u)
        y = round(h - fh + 10 * self.u + bob * self.u)
        # The lamp is up and to the left: the shadow falls right, on the wall behind.
        _multiply(frame, self._shadow, x + round(38 * self.u), y - round(6 * self.u))
        _blend(frame, self._figure, self._figure_inv, x, y)
        return frame


class DoorwayCamera(SyntheticCamera):
    """The synthetic camera with the doorway scene, at the camera's size and pace."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scene = DoorwayScene(self.width, self.height)

    async def _read(self) -> np.ndarray:
        return self.scene.frame(self.clock())


# -- drawn once -----------------------------------------------------------------------------
def _porch(w: int, h: int) -> np.ndarray:
    """Plaster wall, a wooden door frame with a glazed door, a lamp's warm glow, lens vignette."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = min(w / 640, h / 480)
    wall = np.empty((h, w, 3), np.float32)
    shade = 1.0 - 0.25 * (yy / h)                      # light from above
    for c, v in enumerate((150, 165, 178)):            # warm grey plaster (BGR)
        wall[..., c] = v * shade
    # The doorway behind the visitor: frame, then a darker glazed door with a bright pane.
    cx = w / 2
    dl, dr, dt = round(cx - 170 * u), round(cx + 170 * u), round(40 * u)
    frame_w = round(22 * u)
    wall[dt:, dl:dr] = (52, 66, 86)                    # oak frame
    inner = (slice(dt + frame_w, h), slice(dl + frame_w, dr - frame_w))
    wall[inner] = (58, 58, 62)                         # the door leaf, dark grey
    pane = (slice(dt + round(60 * u), h - round(90 * u)), slice(dl + round(70 * u), dr - round(70 * u)))
    glass = np.linspace(150, 95, pane[0].stop - pane[0].start, dtype=np.float32)[:, None, None]
    wall[pane] = glass * np.array([1.08, 1.0, 0.9], np.float32)     # sky in the glass, bluish
    # A lamp up left: a warm additive glow.
    lx, ly = w * 0.14, h * 0.08
    glow = np.exp(-(((xx - lx) ** 2 + (yy - ly) ** 2) / (2 * (150 * u) ** 2)))
    wall += glow[..., None] * np.array([40, 70, 95], np.float32)
    # The lens: corners darker.
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    wall *= (1.0 - 0.28 * np.clip(r2 / 2, 0, 1))[..., None]
    return np.clip(wall, 0, 255).astype(np.uint8)


def _draw_figure(img: np.ndarray, alpha: np.ndarray, k: float) -> None:
    """Head, hair, neck, shoulders and coat, lit from the upper left; k: px per unit."""
    def p(x, y):
        return round(x * k), round(y * k)

    def ell(mask, centre, axes, color, angle=0):
        cv2.ellipse(mask, p(*centre), p(*axes), angle, 0, 360, color, -1, cv2.LINE_AA)

    coat, coat_lit, scarf = (70, 52, 40), (84, 64, 50), (40, 48, 150)
    skin, skin_shade, hair = (128, 160, 205), (100, 130, 175), (30, 38, 52)
    # The body: shoulders as a wide ellipse, the coat below them.
    body = np.array([p(40, 400), p(62, 280), p(190, 246), p(318, 280), p(340, 400)], np.int32)
    for target, color in ((alpha, 255), (img, coat)):
        cv2.fillConvexPoly(target, body, color, cv2.LINE_AA)
        ell(target, (190, 292), (150, 56), color)
    ell(img, (130, 296), (70, 34), coat_lit, -14)                      # the lit shoulder
    cv2.line(img, p(190, 330), p(190, 400), (52, 38, 30), max(1, round(4 * k)), cv2.LINE_AA)   # coat opening
    # Scarf and neck.
    for target, color in ((alpha, 255), (img, scarf)):
        ell(target, (190, 252), (60, 24), color)
    for target, color in ((alpha, 255), (img, skin_shade)):
        cv2.rectangle(target, p(168, 196), p(212, 250), color, -1, cv2.LINE_AA)
    # Head: face, a shadow on the right, hair on top, ears.
    for target, color in ((alpha, 255), (img, skin)):
        ell(target, (190, 150), (52, 66), color)
        ell(target, (139, 156), (9, 16), color)
        ell(target, (241, 156), (9, 16), color)
    ell(img, (204, 156), (40, 60), skin_shade)                          # the cheek away from the lamp
    ell(img, (184, 148), (44, 62), skin)
    for target, color in ((alpha, 255), (img, hair)):
        cv2.ellipse(target, p(190, 124), p(55, 44), 0, 180, 360, color, -1, cv2.LINE_AA)
        ell(target, (190, 110), (53, 26), color)
    # Eyes, brows, mouth: small, soft.
    for ex in (170, 210):
        ell(img, (ex, 152), (6, 4), (40, 40, 50))
        cv2.line(img, p(ex - 11, 138), p(ex + 11, 137), hair, max(1, round(4 * k)), cv2.LINE_AA)
    cv2.ellipse(img, p(190, 188), p(14, 5), 0, 10, 170, (70, 80, 140), max(1, round(4 * k)), cv2.LINE_AA)
    cv2.line(img, p(192, 158), p(186, 176), skin_shade, max(1, round(4 * k)), cv2.LINE_AA)


def _sprite(draw, size: tuple[int, int], u: float) -> tuple[np.ndarray, np.ndarray]:
    """(colour premultiplied by alpha, 255 - alpha as 3 channels), both uint8, at size."""
    w, h = size
    big = (h * SUPERSAMPLE, w * SUPERSAMPLE)
    img = np.zeros((*big, 3), np.uint8)
    alpha = np.zeros(big, np.uint8)
    draw(img, alpha, u * SUPERSAMPLE)
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    a = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)[..., None] / 255
    return np.round(img * a).astype(np.uint8), np.round(255 * (1 - a)).repeat(3, axis=2).astype(np.uint8)


def _shadow(size: tuple[int, int], u: float) -> np.ndarray:
    """How much light the figure's soft shadow leaves on the wall (255 = all), 3 channels."""
    w, h = size
    mask = np.zeros((h, w), np.uint8)
    k = u
    cv2.ellipse(mask, (round(190 * k), round(150 * k)), (round(56 * k), round(70 * k)), 0, 0, 360, 255, -1)
    cv2.ellipse(mask, (round(190 * k), round(300 * k)), (round(160 * k), round(70 * k)), 0, 0, 360, 255, -1)
    cv2.rectangle(mask, (round(40 * k), round(300 * k)), (round(340 * k), h), 255, -1)
    blur = max(3, round(31 * k)) | 1
    mask = cv2.GaussianBlur(mask, (blur, blur), 0).astype(np.float32) / 255
    return np.round(255 * (1 - 0.35 * mask))[..., None].repeat(3, axis=2).astype(np.uint8)


def _light_band(h: int, width: int) -> np.ndarray:
    """A soft vertical band of warm light, to add to the wall."""
    x = np.linspace(-1, 1, width, dtype=np.float32)
    profile = np.exp(-4 * x ** 2)
    band = profile[None, :, None] * np.array([38, 50, 60], np.float32)
    return np.repeat(band, h, axis=0).astype(np.uint8)


# -- per frame: only the part of the frame a piece covers --------------------------------------
def _clip(frame: np.ndarray, piece: np.ndarray, x: int, y: int):
    """(frame region, piece region) where the piece at (x, y) overlaps the frame, or None."""
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + piece.shape[1]), min(h, y + piece.shape[0])
    if x0 >= x1 or y0 >= y1:
        return None
    return (slice(y0, y1), slice(x0, x1)), (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))


def _add(frame, piece, x, y) -> None:
    if (c := _clip(frame, piece, x, y)) is not None:
        frame[c[0]] = cv2.add(frame[c[0]], piece[c[1]])


def _multiply(frame, piece, x, y) -> None:
    if (c := _clip(frame, piece, x, y)) is not None:
        frame[c[0]] = cv2.multiply(frame[c[0]], piece[c[1]], scale=1 / 255)


def _blend(frame, premultiplied, inverse_alpha, x, y) -> None:
    if (c := _clip(frame, premultiplied, x, y)) is not None:
        under = cv2.multiply(frame[c[0]], inverse_alpha[c[1]], scale=1 / 255)
        frame[c[0]] = cv2.add(under, premultiplied[c[1]])
