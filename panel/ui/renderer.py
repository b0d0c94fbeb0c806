"""Draws a widget list with pygame onto a surface: a window, the Pi's framebuffer, or
an off-screen surface when headless. Only the event-loop thread calls in here."""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from ..config import ASSETS  # noqa: E402
from .widgets import Widget  # noqa: E402

FONTS = ASSETS / "fonts"

# A dark, high-contrast palette: readable from a metre away, in sun and at night.
BG = (13, 20, 30)
SURFACE = (28, 38, 52)
TEXT = (245, 247, 250)
MUTED = (150, 162, 178)
PRIMARY = (37, 99, 235)
SUCCESS = (22, 163, 74)
DANGER = (220, 38, 38)
WARNING = (245, 158, 11)
KEY = (44, 56, 74)
DISABLED = (60, 66, 76)

BUTTON_COLORS = {"primary": PRIMARY, "primary_large": PRIMARY, "danger": DANGER, "success": SUCCESS,
                 "secondary": KEY, "row": SURFACE, "arrow_up": KEY, "arrow_down": KEY}


@lru_cache(maxsize=64)
def font(size: int, bold: bool = False) -> pygame.font.Font:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return pygame.font.Font(str(FONTS / name), max(8, size))


class Renderer:
    def __init__(self, width: int, height: int, window: bool = False, fullscreen: bool = False):
        pygame.font.init()
        self.size = (width, height)
        self.u = min(width, height) / 800
        self.window = window
        if window:
            pygame.display.init()
            flags = pygame.FULLSCREEN if fullscreen else 0
            self.surface = pygame.display.set_mode(self.size, flags)
            pygame.display.set_caption("Entry panel")
        else:
            self.surface = pygame.Surface(self.size)

    def close(self) -> None:
        if self.window:
            pygame.display.quit()

    def draw(self, widgets: list[Widget], preview: np.ndarray | None = None) -> None:
        self.surface.fill(BG)
        for w in widgets:
            draw = getattr(self, f"_draw_{w.role}", self._draw_text)
            draw(w, preview)
        if self.window:
            pygame.display.flip()

    def rgb(self) -> np.ndarray:
        """The current frame as an RGB array (height, width, 3), a copy."""
        return pygame.surfarray.array3d(self.surface).swapaxes(0, 1).copy()

    # -- widgets --------------------------------------------------------------------
    def _px(self, v: float) -> int:
        return max(1, round(v * self.u))

    def _text(self, text: str, rect: pygame.Rect, size: int, color, bold=False, align="center") -> None:
        """Text fitted into rect: wrapped onto lines, shrunk until it fits."""
        size = self._px(size)
        while True:
            f = font(size, bold)
            lines = _wrap(text, f, rect.width)
            height = len(lines) * f.get_linesize()
            if height <= rect.height or size <= self._px(14):
                break
            size = int(size * 0.9)
        y = rect.y + (rect.height - height) // 2
        for line in lines:
            img = f.render(line, True, color)
            if align == "left":
                x = rect.x
            elif align == "right":
                x = rect.right - img.get_width()
            else:
                x = rect.x + (rect.width - img.get_width()) // 2
            self.surface.blit(img, (x, y))
            y += f.get_linesize()

    def _draw_heading(self, w: Widget, preview) -> None:
        r = pygame.Rect(*w.rect.as_list())
        if w.style == "header":
            self._text(w.label, r, 40, TEXT, bold=True, align="left")
            return
        color = {"title_success": SUCCESS, "title_danger": DANGER}.get(w.style, TEXT)
        self._text(w.label, r, 60, color, bold=True)

    def _draw_text(self, w: Widget, preview) -> None:
        r = pygame.Rect(*w.rect.as_list())
        size, color = {"lead": (38, TEXT), "muted": (32, MUTED)}.get(w.style, (32, TEXT))
        self._text(w.label, r, size, color)

    def _draw_status(self, w: Widget, preview) -> None:
        r = pygame.Rect(*w.rect.as_list())
        if w.style == "clock":
            self._text(w.label, r, 44, TEXT, bold=True, align="right")
        elif w.style == "timer":
            self._text(w.label, r, 80, TEXT, bold=True)
        else:
            self._text(w.label, r, 38, MUTED)

    def _draw_banner(self, w: Widget, preview) -> None:
        r = pygame.Rect(*w.rect.as_list())
        pygame.draw.rect(self.surface, WARNING, r)
        self._text(w.label, r.inflate(-self._px(32), -self._px(8)), 28, (20, 20, 20), bold=True)

    def _draw_button(self, w: Widget, preview) -> None:
        r = pygame.Rect(*w.rect.as_list())
        color = BUTTON_COLORS.get(w.style, PRIMARY) if w.enabled else DISABLED
        pygame.draw.rect(self.surface, color, r, border_radius=self._px(18))
        if w.style in ("arrow_up", "arrow_down"):
            self._arrow(r, up=w.style == "arrow_up", color=TEXT if w.enabled else MUTED)
            return
        if w.style == "row":
            inner = r.inflate(-self._px(48), 0)
            top = pygame.Rect(inner.x, r.y + self._px(8), inner.width, r.height // 2 + self._px(4))
            self._text(w.label, top, 36, TEXT, bold=True, align="left")
            if w.detail:
                bottom = pygame.Rect(inner.x, r.centery + self._px(8), inner.width, r.height // 2 - self._px(14))
                self._text(w.detail, bottom, 26, MUTED, align="left")
            return
        size = 56 if w.style == "primary_large" else 42
        self._text(w.label, r.inflate(-self._px(24), -self._px(8)), size, TEXT, bold=True)

    def _draw_key(self, w: Widget, preview) -> None:
        r = pygame.Rect(*w.rect.as_list())
        pygame.draw.rect(self.surface, KEY, r, border_radius=self._px(12))
        self._text(w.label, r.inflate(-self._px(8), -self._px(8)), 36 if len(w.label) == 1 else 26, TEXT,
                   bold=len(w.label) == 1)

    def _draw_textbox(self, w: Widget, preview) -> None:
        r = pygame.Rect(*w.rect.as_list())
        pygame.draw.rect(self.surface, (245, 247, 250), r, border_radius=self._px(14))
        inner = r.inflate(-self._px(40), -self._px(12))
        if w.label:
            self._text(w.label + "|", inner, 40, (15, 23, 42), align="left")
        else:
            self._text(w.extra.get("placeholder", ""), inner, 34, (110, 118, 130), align="left")

    def _draw_image(self, w: Widget, preview) -> None:
        r = pygame.Rect(*w.rect.as_list())
        if w.style == "camera":
            self._camera(r, preview)
        elif w.style == "ring":
            self._ring(r, w.extra.get("phase", 0.0))
        elif w.style == "door_open":
            pygame.draw.circle(self.surface, SUCCESS, r.center, r.width // 2)
            self._check(r)
        elif w.style == "refused":
            pygame.draw.circle(self.surface, DANGER, r.center, r.width // 2)
            k = r.width // 5
            for a, b in (((-k, -k), (k, k)), ((-k, k), (k, -k))):
                pygame.draw.line(self.surface, TEXT, (r.centerx + a[0], r.centery + a[1]),
                                 (r.centerx + b[0], r.centery + b[1]), self._px(22))

    # -- drawings ---------------------------------------------------------------------
    def _camera(self, r: pygame.Rect, frame: np.ndarray | None) -> None:
        pygame.draw.rect(self.surface, SURFACE, r, border_radius=self._px(18))
        if frame is not None and frame.ndim == 3:
            img = pygame.image.frombuffer(np.ascontiguousarray(frame[:, :, ::-1]).tobytes(),
                                          (frame.shape[1], frame.shape[0]), "RGB")
            scale = min(r.width / frame.shape[1], r.height / frame.shape[0])
            size = (int(frame.shape[1] * scale), int(frame.shape[0] * scale))
            img = pygame.transform.smoothscale(img, size)
            self.surface.blit(img, img.get_rect(center=r.center))
        # Corner marks: where to hold the code.
        k, t = self._px(60), self._px(8)
        box = r.inflate(-r.width // 3, -r.height // 4)
        for cx, cy, dx, dy in ((box.left, box.top, 1, 1), (box.right, box.top, -1, 1),
                               (box.left, box.bottom, 1, -1), (box.right, box.bottom, -1, -1)):
            pygame.draw.line(self.surface, TEXT, (cx, cy), (cx + dx * k, cy), t)
            pygame.draw.line(self.surface, TEXT, (cx, cy), (cx, cy + dy * k), t)

    def _ring(self, r: pygame.Rect, phase: float) -> None:
        for i in range(3):
            p = (phase * 0.8 + i / 3) % 1.0
            radius = int(r.width * 0.18 + p * r.width * 0.32)
            shade = tuple(int(c * (1 - p) + b * p) for c, b in zip(PRIMARY, BG))
            pygame.draw.circle(self.surface, shade, r.center, radius, self._px(8))
        pygame.draw.circle(self.surface, PRIMARY, r.center, int(r.width * 0.16))

    def _check(self, r: pygame.Rect) -> None:
        k = r.width / 100
        pts = [(r.x + 28 * k, r.y + 52 * k), (r.x + 44 * k, r.y + 68 * k), (r.x + 74 * k, r.y + 36 * k)]
        width = self._px(22)
        for a, b in zip(pts, pts[1:]):
            pygame.draw.line(self.surface, TEXT, a, b, width)
        for p in pts:               # round joints and ends
            pygame.draw.circle(self.surface, TEXT, p, width // 2)

    def _arrow(self, r: pygame.Rect, up: bool, color) -> None:
        k = r.width * 0.28
        cx, cy = r.center
        d = -1 if up else 1
        pygame.draw.polygon(self.surface, color, [(cx - k, cy - d * k / 2), (cx + k, cy - d * k / 2),
                                                  (cx, cy + d * k / 2)])


def _wrap(text: str, f: pygame.font.Font, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if f.size(trial)[0] <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return lines
