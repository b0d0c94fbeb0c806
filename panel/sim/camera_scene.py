"""Camera scenes for benchmarks and tests, all seeded (the same seed, the same frames).

- :class:`LiveScene`: what a panel's camera sees most of the day: an entrance hall
  with sensor noise in every frame, light that drifts (clouds, a door opening) and
  people walking past; on demand a phone held up showing a code. Frames are cheap to
  make (precomputed noise, sprites pasted by slicing) so a benchmark of the panel
  measures the panel, not the scene; :class:`LiveSceneCamera` is it as a hal Camera.
- :func:`bad_burst`: a few consecutive frames of one code held up in a bad condition
  (motion or defocus blur, glare, small, low contrast, noise) with the hand's jitter,
  what a decoder sees in the half second a visitor holds a key up.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import cv2
import numpy as np

from hal.camera import Camera

# -- a phone showing a code --------------------------------------------------------------


@dataclass
class Phone:
    """Where a phone screen showing a QR code sits in the frame."""
    cx: float              # centre, pixels
    cy: float
    side: float            # edge of the screen square (QR with its quiet zone), pixels
    angle: float = 0.0     # in-plane rotation, degrees
    tilt: tuple = (0.0,) * 8   # perspective: each corner moved by this fraction of ``side`` (x, y pairs)


def qr_screen(text: str, qr_code, dark: float = 35, light: float = 215) -> np.ndarray:
    """The code as a phone screen shows it (float32, one pixel per module, 4-module quiet zone)."""
    modules = np.array(list(qr_code(text).matrix_iter(border=4)), dtype=np.uint8)
    return np.where(modules == 1, dark, light).astype(np.float32)


def paste(frame: np.ndarray, screen: np.ndarray, phone: Phone) -> np.ndarray:
    """``screen`` (one pixel per module) warped onto the float32 ``frame`` at ``phone``'s pose."""
    height, width = frame.shape[:2]
    n = 8  # supersample the modules so the warp interpolates edges, not blocks
    big = cv2.resize(screen, (screen.shape[1] * n, screen.shape[0] * n), interpolation=cv2.INTER_NEAREST)
    s = big.shape[0]
    half = phone.side / 2
    a = math.radians(phone.angle)
    ca, sa = math.cos(a), math.sin(a)
    corners = []
    for k, (ux, uy) in enumerate(((-1, -1), (1, -1), (1, 1), (-1, 1))):
        x = ux * half + phone.tilt[2 * k] * phone.side
        y = uy * half + phone.tilt[2 * k + 1] * phone.side
        corners.append((phone.cx + x * ca - y * sa, phone.cy + x * sa + y * ca))
    matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [s, 0], [s, s], [0, s]]), np.float32(corners))
    warped = cv2.warpPerspective(big, matrix, (width, height), flags=cv2.INTER_AREA, borderValue=-1)
    return np.where(warped >= 0, warped, frame)


def wall(size: tuple[int, int], rng: np.random.Generator, *, margin: int = 0) -> np.ndarray:
    """A textured grey wall (float32), ``margin`` pixels wider than ``size`` so it can pan."""
    width, height = size[0] + margin, size[1]
    cells = rng.integers(60, 140, (max(1, height // 8), max(1, width // 8)), dtype=np.uint8)
    return cv2.resize(cells, (width, height)).astype(np.float32)


# -- codes in bad conditions ---------------------------------------------------------------

CONDITIONS = ("motion blur", "defocus", "glare", "small", "low contrast", "noise")


def _disk(radius: float) -> np.ndarray:
    r = int(math.ceil(radius))
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    k = (x * x + y * y <= radius * radius).astype(np.float32)
    return k / k.sum()


def _line(length: float, angle: float) -> np.ndarray:
    n = int(math.ceil(length)) | 1
    k = np.zeros((n, n), np.float32)
    c = n // 2
    dx, dy = math.cos(math.radians(angle)) * length / 2, math.sin(math.radians(angle)) * length / 2
    cv2.line(k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
    return k / k.sum()


def bad_burst(text: str, condition: str, rng: np.random.Generator, qr_code, *, frames: int = 6,
              size: tuple[int, int] = (640, 480)) -> list[np.ndarray]:
    """``frames`` consecutive gray uint8 frames of ``text`` held up in ``condition`` (one of
    CONDITIONS): the hand shakes a little between frames and the sensor noise is new."""
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; one of {', '.join(CONDITIONS)}")
    width, height = size
    dark, light, noise = 35.0, 215.0, 3.0
    side = height * rng.uniform(0.4, 0.55)
    if condition == "small":
        side = rng.uniform(1.45, 1.7) * 77         # 1.45-1.7 px per module (a version-13 code)
    if condition == "low contrast":
        dark, light, noise = 118.0, 150.0, 4.0     # a dimmed screen in sunlight
    if condition == "noise":
        noise = rng.uniform(20, 26)                # a dark hall, the sensor's gain up
    screen = qr_screen(text, qr_code, dark, light)
    reach = side * 0.75
    phone = Phone(rng.uniform(reach, width - reach), rng.uniform(reach, height - reach), side,
                  rng.uniform(-15, 15), tuple(rng.uniform(-0.04, 0.04, 8)))
    background = wall(size, rng)
    background *= np.linspace(1.1, rng.uniform(0.6, 0.8), width, dtype=np.float32)[None, :]
    blur_angle = rng.uniform(0, 180)
    glare_at = rng.uniform(-0.25, 0.25, 2) * side
    out = []
    for _ in range(frames):
        held = Phone(phone.cx + rng.normal(0, 0.8), phone.cy + rng.normal(0, 0.8), phone.side,
                     phone.angle + rng.normal(0, 0.3), phone.tilt)
        frame = paste(background, screen, held)
        if condition == "motion blur":
            frame = cv2.filter2D(frame, -1, _line(rng.uniform(4, 7), blur_angle + rng.normal(0, 8)))
        elif condition == "defocus":
            frame = cv2.filter2D(frame, -1, _disk(rng.uniform(2.0, 2.8)))
        elif condition == "small":
            frame = cv2.GaussianBlur(frame, (0, 0), 0.7)
        else:
            frame = cv2.GaussianBlur(frame, (0, 0), 1.0)
        if condition == "glare":
            y, x = np.ogrid[:height, :width]
            gx, gy = held.cx + glare_at[0], held.cy + glare_at[1]
            sigma = side * rng.uniform(0.12, 0.16)
            frame = frame + 260 * np.exp(-((x - gx) ** 2 + (y - gy) ** 2) / (2 * sigma * sigma)).astype(np.float32)
        frame = frame + rng.normal(0, noise, frame.shape).astype(np.float32)
        out.append(np.clip(frame, 0, 255).astype(np.uint8))
    return out


# -- a live-like hall ------------------------------------------------------------------------


class LiveScene:
    """An entrance hall at ``size``, frame by frame (BGR uint8), seeded.

    Every frame: fresh-looking sensor noise (one of a bank of precomputed noise fields at a
    random offset). Light: a slow drift of a few percent, and now and then a step (a door
    opening, a cloud) that settles over a second. People: now and then someone walks past
    (a dark figure crossing in two to four seconds). ``show(screen_gray)`` puts a phone with
    a code in front of the camera until ``hide()``.
    """

    def __init__(self, size: tuple[int, int] = (640, 480), fps: float = 15.0, seed: int = 0,
                 people_every: float = 8.0, noise: float = 2.5):
        self.width, self.height = size
        self.fps = fps
        self.rng = np.random.default_rng(seed)
        self.people_every = people_every
        self.t = 0.0                                  # scene time, seconds (advances 1/fps a frame)
        hall = wall(size, self.rng) * np.linspace(1.15, 0.75, self.width, dtype=np.float32)[None, :]
        hall = cv2.GaussianBlur(hall, (0, 0), 1.0)
        self._hall = cv2.cvtColor(np.clip(hall, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
        # Noise 0..16 around +8; the light's lookup table takes the 8 off again.
        bank = np.clip(self.rng.normal(0, noise, (self.height + 64, self.width)) + 8, 0, 16).astype(np.uint8)
        self._noise = cv2.cvtColor(bank, cv2.COLOR_GRAY2BGR)
        self._person = self._figure()
        self._walker: tuple[float, float, float] | None = None     # (start time, speed px/s, direction)
        self._next_walker = self.rng.exponential(people_every)
        self._light, self._light_target = 1.0, 1.0
        self._lut_gain: float | None = None
        self._lit = self._hall              # the hall at the light's gain (cached per 1% step)
        self._code: np.ndarray | None = None
        self._code_at = (0, 0)

    def _figure(self) -> np.ndarray:
        h = int(self.height * 0.9)
        w = h // 3
        person = np.full((h, w), 255, np.uint8)       # transparent: darkens nothing
        cv2.ellipse(person, (w // 2, h // 8), (w // 5, h // 14), 0, 0, 360, 45, -1)       # head
        cv2.ellipse(person, (w // 2, h // 2), (w // 2 - 2, h // 3), 0, 0, 360, 45, -1)     # body
        return cv2.cvtColor(person, cv2.COLOR_GRAY2BGR)

    def show(self, screen: np.ndarray, center: tuple[int, int] | None = None) -> None:
        """Hold up a phone: ``screen`` is a gray uint8 image of it (code and quiet zone)
        that fits in the frame at ``center``."""
        self._code = screen
        cx, cy = center or (self.width // 2, self.height // 2)
        self._code_at = (cx - screen.shape[1] // 2, cy - screen.shape[0] // 2)

    def hide(self) -> None:
        self._code = None

    def frame(self, t: float | None = None) -> np.ndarray:
        """The next frame, at scene time ``t`` (seconds; default one frame interval on)."""
        t = self.t + 1.0 / self.fps if t is None else t
        dt = max(0.0, t - self.t)
        self.t = t
        rng = self.rng
        # Light: drifts by a fraction of a percent a second, now and then steps to a new level.
        if rng.random() < dt / 20:
            self._light_target = float(np.clip(self._light + rng.uniform(-0.25, 0.25), 0.7, 1.2))
        self._light += (self._light_target - self._light) * min(1.0, dt * 2) + rng.normal(0, 0.0015)
        gain = round(self._light, 2)                  # 1% steps: about one grey level
        if gain != self._lut_gain:
            lut = np.clip(np.arange(256) * gain - 8, 0, 255).astype(np.uint8)
            self._lit, self._lut_gain = cv2.LUT(self._hall, lut), gain
        frame = self._lit.copy()
        # People walking past.
        if self._walker is None and self.t >= self._next_walker:
            self._walker = (self.t, rng.uniform(200, 350), rng.choice((-1.0, 1.0)))
        if self._walker is not None:
            start, speed, direction = self._walker
            pw = self._person.shape[1]
            travelled = (self.t - start) * speed
            x = int(-pw + travelled) if direction > 0 else int(self.width - travelled)
            if x > self.width or x < -pw:
                self._walker = None
                self._next_walker = self.t + rng.exponential(self.people_every)
            else:
                self._blit(frame, self._person, x, self.height - self._person.shape[0])
        if self._code is not None:
            x, y = self._code_at
            frame[y:y + self._code.shape[0], x:x + self._code.shape[1]] = self._code[:, :, None]
        offset = int(rng.integers(0, 64))
        return cv2.add(frame, self._noise[offset:offset + self.height])

    def walk_past(self) -> None:
        """Someone walks past from now on (a visitor coming up to the panel)."""
        self._walker = (self.t, float(self.rng.uniform(200, 350)), float(self.rng.choice((-1.0, 1.0))))

    @staticmethod
    def _blit(frame: np.ndarray, sprite: np.ndarray, x: int, y: int) -> None:
        """Darken ``frame`` by ``sprite`` (BGR; 255 where transparent) with its left edge at x."""
        h, w = sprite.shape[:2]
        x0, x1 = max(0, x), min(frame.shape[1], x + w)
        if x1 <= x0:
            return
        region = frame[y:y + h, x0:x1]
        cv2.min(region, sprite[:, x0 - x:x1 - x], dst=region)


class LiveSceneCamera(Camera):
    """A :class:`LiveScene` as a camera: a frame per tick at the camera's pace."""

    def __init__(self, scene: LiveScene, *args, **kwargs):
        super().__init__(scene.width, scene.height, scene.fps, *args, **kwargs)
        self.scene = scene

    async def _read(self) -> np.ndarray:
        now = time.monotonic()
        self._t0 = getattr(self, "_t0", None) or now
        return self.scene.frame(now - self._t0)
