"""Draws a widget list with pygame onto a surface: a window, the Pi's framebuffer, or
an off-screen surface when headless. Only the event-loop thread calls in here.

Every text goes through `fit`: wrapped onto balanced lines and shrunk until it fits
its box; only text that still does not fit at half its size is cut with an ellipsis.
`Renderer.texts(widget)` says what a widget's texts are and where they go, so a
test can check that nothing on any screen is cut without drawing it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from ..config import ASSETS  # noqa: E402
from .widgets import Widget  # noqa: E402

FONTS = ASSETS / "fonts"

# A dark, high-contrast palette: readable from a metre away, in sun and at night.
BG = (13, 20, 30)
SURFACE = (30, 41, 57)
TEXT = (245, 247, 250)
MUTED = (156, 168, 184)
PRIMARY = (37, 99, 235)
SUCCESS = (22, 163, 74)
DANGER = (220, 38, 38)
WARNING = (245, 158, 11)
KEY = (51, 65, 85)
KEY_FN = (36, 48, 66)
DISABLED = (40, 48, 60)
INK = (15, 23, 42)              # text on light and amber backgrounds
VIDEO_BG = (22, 30, 42)         # where the camera's picture goes, before the first frame
SCRIM_ALPHA = 200               # the darkest a scrim gets, at the edge text sits on

BUTTON_COLORS = {"primary": PRIMARY, "primary_large": PRIMARY, "danger": DANGER, "success": SUCCESS,
                 "secondary": KEY, "row": SURFACE, "arrow_up": KEY, "arrow_down": KEY}
ICONS = {"door_open": (SUCCESS, None), "refused": (DANGER, None), "warning": (WARNING, "!"),
         "call": (SUCCESS, "☎"), "call_ended": (KEY, "☎")}


@lru_cache(maxsize=64)
def font(size: int, bold: bool = False) -> pygame.font.Font:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return pygame.font.Font(str(FONTS / name), max(8, size))


@dataclass(frozen=True)
class TextBox:
    """One text of a widget: what, where, and how big it would like to be (px)."""
    text: str
    rect: tuple[int, int, int, int]
    size: int
    bold: bool = False
    color: tuple = TEXT
    align: str = "center"
    max_lines: int = 3


@dataclass(frozen=True)
class Fitted:
    size: int
    lines: tuple[str, ...]
    truncated: bool             # had to be cut with an ellipsis


@lru_cache(maxsize=4096)
def fit(text: str, width: int, height: int, size: int, bold: bool, max_lines: int) -> Fitted:
    """The largest size from `size` down to half of it at which text fits width x height
    in at most max_lines lines; below that, cut with an ellipsis."""
    floor = max(12, size // 2)
    while True:
        f = font(size, bold)
        lines = _wrap(text, f, width)
        if lines is not None and len(lines) <= max_lines and len(lines) * f.get_linesize() <= height:
            return Fitted(size, tuple(lines), False)
        if size <= floor:
            break
        size = max(floor, int(size * 0.92))
    f = font(size, bold)
    room = max(1, min(max_lines, height // f.get_linesize()))
    lines = _wrap(text, f, width, hard=True)
    cut = lines[:room]
    cut[-1] = _ellipsize(" ".join(lines[room - 1:]), f, width)
    return Fitted(size, tuple(cut), True)


@lru_cache(maxsize=1024)
def _rendered(text: str, size: int, bold: bool, color: tuple) -> pygame.Surface:
    return font(size, bold).render(text, True, color)


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

    def draw(self, widgets: list[Widget], preview: np.ndarray | None = None, only: Widget | None = None) -> None:
        """Everything; or, with `only` (a video whose frame is all that changed), just its
        rectangle: the frame and whatever lies over it, the rest of the screen untouched."""
        area = pygame.Rect(*only.rect.as_list()) if only else None
        self.surface.set_clip(area)
        self.surface.fill(BG)
        for w in widgets:
            if area is None or area.colliderect(pygame.Rect(*w.rect.as_list())):
                self._shape(w, preview)
                for box in self.texts(w):
                    self._text(box)
        self.surface.set_clip(None)
        if self.window:
            pygame.display.update(area) if area else pygame.display.flip()

    def rgb(self) -> np.ndarray:
        """The current frame as an RGB array (height, width, 3), a copy."""
        return pygame.surfarray.array3d(self.surface).swapaxes(0, 1).copy()

    # -- what each widget says, and where --------------------------------------------
    def _px(self, v: float) -> int:
        return max(1, round(v * self.u))

    def texts(self, w: Widget) -> list[TextBox]:
        p = self._px
        x, y, width, height = w.rect.as_list()
        r = pygame.Rect(x, y, width, height)

        def box(text, rect, size, **kw):
            return TextBox(text, (rect.x, rect.y, rect.w, rect.h), p(size), **kw)

        role, style = w.role, w.style
        if role == "heading" and style == "header":
            return [box(w.label, r, 40, bold=True, align="left", max_lines=2)]
        if role == "heading" and style == "lead_strong":
            return [box(w.label, r, 42, bold=True, max_lines=2)]
        if role == "heading":
            color = {"title_success": SUCCESS, "title_danger": DANGER}.get(style, TEXT)
            return [box(w.label, r, 60, bold=True, color=color)]
        if role == "status":
            size, bold, color, align = {"clock": (44, True, TEXT, "right"), "timer": (80, True, TEXT, "center"),
                                        "status_overlay": (38, True, TEXT, "center"),
                                        "via_overlay": (30, False, TEXT, "center")}.get(
                style, (36, False, MUTED, "center"))
            return [box(w.label, r, size, bold=bold, color=color, align=align, max_lines=1)]
        if role == "banner":
            return [box(w.label, r.inflate(-p(32), -p(8)), 28, bold=True, color=INK, max_lines=2)]
        if role == "button":
            if style in ("arrow_up", "arrow_down"):
                return []
            if style == "row":
                # Name on top (a long one on two smaller lines), apartment below, room for the chevron.
                inner = pygame.Rect(r.x + p(20), r.y + p(6), r.w - p(20) - p(44), r.h - p(12))
                if not w.detail:
                    return [box(w.label, inner, 36, bold=True, align="left", max_lines=2)]
                name = pygame.Rect(inner.x, inner.y, inner.w, inner.h - p(30))
                detail = pygame.Rect(inner.x, name.bottom, inner.w, p(30))
                return [box(w.label, name, 34, bold=True, align="left", max_lines=2),
                        box(w.detail, detail, 26, color=MUTED, align="left", max_lines=1)]
            inner = r.inflate(-p(32), -p(12))
            if style == "primary_large" and w.detail:
                if inner.h > p(300):
                    # Tall (landscape home): the picture of a directory above the words.
                    inner = pygame.Rect(inner.x, inner.y + inner.h * 45 // 100, inner.w, p(150))
                top = pygame.Rect(inner.x, inner.y, inner.w, inner.h * 60 // 100)
                bottom = pygame.Rect(inner.x, top.bottom, inner.w, inner.bottom - top.bottom)
                return [box(w.label, top, 60, bold=True, max_lines=1),
                        box(w.detail, bottom, 30, color=(219, 234, 254), max_lines=1)]
            return [box(w.label, inner, 56 if style == "primary_large" else 42, bold=True, max_lines=2)]
        if role == "key":
            single = len(w.label) == 1
            return [box(w.label, r.inflate(-p(8), -p(8)), 36 if single else 26, bold=single, max_lines=2)]
        if role == "textbox":
            inner = pygame.Rect(r.x + p(76), r.y + p(6), r.w - p(76) - p(24), r.h - p(12))
            if w.label:
                # Like any text field: a query too long to show keeps its end, where the typing is.
                shown, f = w.label, font(p(40))
                while len(shown) > 1 and f.size("…" + shown + "|")[0] > inner.w:
                    shown = shown[1:]
                return [box(("…" if shown != w.label else "") + shown + "|", inner, 40, color=INK, align="left",
                            max_lines=1)]
            return [box(w.extra.get("placeholder", ""), inner, 32, color=(100, 110, 124), align="left", max_lines=1)]
        if role == "divider":
            return [box(w.label, r.inflate(-max(0, r.w - p(120)), -max(0, r.h - p(56))), 30, color=MUTED,
                        max_lines=1)]
        if role in ("image", "list", "video"):
            return []
        size, color = {"lead": (38, TEXT), "lead_danger": (38, DANGER), "muted": (32, MUTED)}.get(style, (32, TEXT))
        return [box(w.label, r, size, color=color, max_lines=4)]

    def _text(self, b: TextBox) -> None:
        x, y, width, height = b.rect
        fitted = fit(b.text, width, height, b.size, b.bold, b.max_lines)
        f = font(fitted.size, b.bold)
        top = y + (height - len(fitted.lines) * f.get_linesize()) // 2
        for line in fitted.lines:
            img = _rendered(line, fitted.size, b.bold, b.color)
            if b.align == "left":
                left = x
            elif b.align == "right":
                left = x + width - img.get_width()
            else:
                left = x + (width - img.get_width()) // 2
            self.surface.blit(img, (left, top))
            top += f.get_linesize()

    # -- shapes ------------------------------------------------------------------------
    def _shape(self, w: Widget, preview) -> None:
        r = pygame.Rect(*w.rect.as_list())
        p = self._px
        if w.role == "banner":
            pygame.draw.rect(self.surface, WARNING, r)
        elif w.role == "button":
            color = BUTTON_COLORS.get(w.style, PRIMARY) if w.enabled else DISABLED
            pygame.draw.rect(self.surface, color, r, border_radius=p(18))
            if w.style in ("arrow_up", "arrow_down"):
                self._arrow(r, up=w.style == "arrow_up", color=TEXT if w.enabled else (90, 100, 114))
            elif w.style == "row":
                self._chevron(pygame.Rect(r.right - p(44), r.y, p(24), r.h))
        elif w.role == "key":
            color = KEY_FN if w.style == "key_wide" else KEY
            pygame.draw.rect(self.surface, color, r, border_radius=p(12))
        elif w.role == "textbox":
            pygame.draw.rect(self.surface, TEXT, r, border_radius=p(14))
            self._magnifier(pygame.Rect(r.x + p(20), r.y, p(40), r.h))
        elif w.role == "image":
            self._image(w, r, preview)
        elif w.role == "video":
            self._video(w, r, preview)
        elif w.role == "divider":
            self._divider(r)
        if w.role == "button" and w.style == "primary_large" and r.h > p(300):
            self._people(pygame.Rect(r.centerx - p(60), r.y + r.h * 45 // 100 - p(150), p(120), p(120)))

    def _image(self, w: Widget, r: pygame.Rect, preview) -> None:
        if w.style == "ring":
            self._ring(r, w.extra.get("phase", 0.0))
        elif w.style in ICONS:
            color, glyph = ICONS[w.style]
            pygame.draw.circle(self.surface, color, r.center, r.width // 2)
            if w.style == "door_open":
                self._check(r)
            elif w.style == "refused":
                self._cross(r)
            else:
                img = font(int(r.width * 0.55), True).render(glyph, True, INK if color == WARNING else TEXT)
                self.surface.blit(img, img.get_rect(center=r.center))

    # -- drawings ---------------------------------------------------------------------
    def _video(self, w: Widget, r: pygame.Rect, frame: np.ndarray | None) -> None:
        """The camera's picture mirrored (a visitor sees themselves as in a mirror), whole
        ("contain") or filling the box ("cover"), with rounded corners, scrims for text
        over it and, on the viewfinder, where to hold a code."""
        radius = self._px(18)
        pygame.draw.rect(self.surface, VIDEO_BG, r, border_radius=radius)
        if frame is not None and frame.ndim == 3 and frame.shape[0] and frame.shape[1]:
            self._frame(frame, r, cover=w.extra.get("fit") == "cover")
        if h := w.extra.get("scrim_top"):
            self.surface.blit(_scrim(r.w, min(h, r.h), down=True), r.topleft)
        if h := w.extra.get("scrim_bottom"):
            h = min(h, r.h)
            self.surface.blit(_scrim(r.w, h, down=False), (r.x, r.bottom - h))
        if w.extra.get("guide"):
            self.surface.blit(_guide(r.w, r.h, self._px(8), self._px(64)), r.topleft)
        for corner, pos in zip(_corners(radius), (r.topleft, (r.right - radius, r.y),
                                                  (r.x, r.bottom - radius), (r.right - radius, r.bottom - radius))):
            self.surface.blit(corner, pos)

    def _frame(self, frame: np.ndarray, r: pygame.Rect, cover: bool) -> None:
        # Cropped, scaled, mirrored and turned to RGB by OpenCV: five times cheaper than
        # pygame's smoothscale, and the picture redraws for every frame shown.
        fh, fw = frame.shape[:2]
        if cover:
            # Crop the frame to the box's shape first: nothing is scaled that is not shown.
            if fw * r.h > fh * r.w:
                cw = max(1, fh * r.w // r.h)
                frame = frame[:, (fw - cw) // 2:(fw - cw) // 2 + cw]
            else:
                ch = max(1, fw * r.h // r.w)
                frame = frame[(fh - ch) // 2:(fh - ch) // 2 + ch]
            size = (r.w, r.h)
        else:
            scale = min(r.w / fw, r.h / fh)
            size = (max(1, int(fw * scale)), max(1, int(fh * scale)))
        scaled = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
        rgb = np.ascontiguousarray(cv2.cvtColor(cv2.flip(scaled, 1), cv2.COLOR_BGR2RGB))
        img = pygame.image.frombuffer(rgb.data, size, "RGB")
        self.surface.blit(img, img.get_rect(center=r.center))

    def _divider(self, r: pygame.Rect) -> None:
        """A thin line each side of the word ("or"), along the long side of the box."""
        p, t = self._px, max(1, self._px(2))
        if r.w >= r.h:
            for a, b in ((r.x, r.centerx - p(70)), (r.centerx + p(70), r.right)):
                pygame.draw.line(self.surface, KEY, (a, r.centery), (b, r.centery), t)
        else:
            for a, b in ((r.y, r.centery - p(40)), (r.centery + p(40), r.bottom)):
                pygame.draw.line(self.surface, KEY, (r.centerx, a), (r.centerx, b), t)

    def _people(self, r: pygame.Rect) -> None:
        """Two heads and shoulders: the directory of residents."""
        light = (219, 234, 254)
        for dx, k, color in ((0.22, 0.8, (147, 180, 250)), (-0.08, 1.0, light)):
            cx, base = r.x + r.w * (0.5 + dx), r.bottom
            head = r.w * 0.16 * k
            pygame.draw.circle(self.surface, color, (cx, base - r.h * 0.62 * k), head)
            body = pygame.Rect(0, 0, r.w * 0.52 * k, r.h * 0.5 * k)
            body.midtop = (cx, base - r.h * 0.38 * k)
            pygame.draw.rect(self.surface, color, body, border_top_left_radius=body.w // 2,
                             border_top_right_radius=body.w // 2)

    def _ring(self, r: pygame.Rect, phase: float) -> None:
        # Three waves leave the handset and fade out on their way to the edge.
        for i in range(3):
            p = (phase * 0.8 + i / 3) % 1.0
            radius = int(r.width * (0.25 + p * 0.25))
            shade = tuple(int(c * (1 - p) + b * p) for c, b in zip(PRIMARY, BG))
            pygame.draw.circle(self.surface, shade, r.center, radius, self._px(8))
        pygame.draw.circle(self.surface, PRIMARY, r.center, int(r.width * 0.22))
        img = font(int(r.width * 0.22), True).render("☎", True, TEXT)
        self.surface.blit(img, img.get_rect(center=r.center))

    def _check(self, r: pygame.Rect) -> None:
        k = r.width / 100
        pts = [(r.x + 28 * k, r.y + 52 * k), (r.x + 44 * k, r.y + 68 * k), (r.x + 74 * k, r.y + 36 * k)]
        width = max(2, int(r.width * 0.08))
        for a, b in zip(pts, pts[1:]):
            pygame.draw.line(self.surface, TEXT, a, b, width)
        for p in pts:               # round joints and ends
            pygame.draw.circle(self.surface, TEXT, p, width // 2)

    def _cross(self, r: pygame.Rect) -> None:
        k, width = r.width // 5, max(2, int(r.width * 0.08))
        for a, b in (((-k, -k), (k, k)), ((-k, k), (k, -k))):
            pygame.draw.line(self.surface, TEXT, (r.centerx + a[0], r.centery + a[1]),
                             (r.centerx + b[0], r.centery + b[1]), width)

    def _arrow(self, r: pygame.Rect, up: bool, color) -> None:
        k = min(r.width, r.height) * 0.28
        cx, cy = r.center
        d = -1 if up else 1
        pygame.draw.polygon(self.surface, color, [(cx - k, cy - d * k / 2), (cx + k, cy - d * k / 2),
                                                  (cx, cy + d * k / 2)])

    def _chevron(self, r: pygame.Rect) -> None:
        k, cx, cy = self._px(10), r.centerx, r.centery
        pygame.draw.lines(self.surface, MUTED, False, [(cx - k, cy - 2 * k), (cx + k, cy), (cx - k, cy + 2 * k)],
                          self._px(5))

    def _magnifier(self, r: pygame.Rect) -> None:
        radius, cx, cy = self._px(13), r.x + self._px(16), r.centery - self._px(5)
        pygame.draw.circle(self.surface, (100, 110, 124), (cx, cy), radius, self._px(4))
        pygame.draw.line(self.surface, (100, 110, 124), (cx + radius * 0.7, cy + radius * 0.7),
                         (cx + radius * 1.7, cy + radius * 1.7), self._px(6))


@lru_cache(maxsize=16)
def _scrim(w: int, h: int, down: bool) -> pygame.Surface:
    """Black fading to clear (downwards from the top edge, or upwards from the bottom one):
    white text on it reads over any picture."""
    x = np.linspace(1, 0, h) if down else np.linspace(0, 1, h)      # 1 at the edge
    alpha = SCRIM_ALPHA * x * x * (3 - 2 * x)                           # smoothstep: no visible start
    surface = pygame.Surface((w, h), pygame.SRCALPHA)
    surface.fill((0, 0, 0, 0))
    pygame.surfarray.pixels_alpha(surface)[:] = alpha.astype(np.uint8)[None, :]
    return surface


@lru_cache(maxsize=8)
def _guide(w: int, h: int, thick: int, arm: int) -> pygame.Surface:
    """The viewfinder's target: the picture dimmed around a square, corner marks on it."""
    side = int(min(w, h) * 0.66)
    box = pygame.Rect((w - side) // 2, (h - side) // 2, side, side)
    surface = pygame.Surface((w, h), pygame.SRCALPHA)
    surface.fill((0, 0, 0, 96))
    pygame.draw.rect(surface, (0, 0, 0, 0), box, border_radius=thick * 2)
    for cx, cy, dx, dy in ((box.left, box.top, 1, 1), (box.right - 1, box.top, -1, 1),
                           (box.left, box.bottom - 1, 1, -1), (box.right - 1, box.bottom - 1, -1, -1)):
        pygame.draw.rect(surface, TEXT, pygame.Rect(min(cx, cx + dx * arm), min(cy, cy + dy * thick), arm, thick))
        pygame.draw.rect(surface, TEXT, pygame.Rect(min(cx, cx + dx * thick), min(cy, cy + dy * arm), thick, arm))
    return surface


@lru_cache(maxsize=4)
def _corners(radius: int) -> tuple[pygame.Surface, ...]:
    """Background outside a rounded corner, clear inside: top left, top right, bottom left, bottom right."""
    out = []
    for cx, cy in ((radius, radius), (0, radius), (radius, 0), (0, 0)):
        s = pygame.Surface((radius, radius), pygame.SRCALPHA)
        s.fill((*BG, 255))
        pygame.draw.circle(s, (0, 0, 0, 0), (cx, cy), radius)
        out.append(s)
    return tuple(out)


def _wrap(text: str, f: pygame.font.Font, width: int, hard: bool = False) -> list[str] | None:
    """Lines of at most width px, as even in length as the line count allows (so "Welcome,
    Zoë Müller" breaks after the comma). None when one word alone is wider, unless hard:
    then such a word is broken between letters."""
    words = text.split()
    if not words:
        return [""]
    if hard:
        words = [piece for w in words for piece in _split_word(w, f, width)]
    elif any(f.size(w)[0] > width for w in words):
        return None
    lines = _greedy(words, f, width)
    # Narrow the width as long as the line count stays the same: balanced lines.
    lo, hi = 1, width
    while len(lines) > 1 and lo < hi:
        mid = (lo + hi) // 2
        if all(f.size(w)[0] <= mid for w in words) and len(_greedy(words, f, mid)) <= len(lines):
            hi = mid
        else:
            lo = mid + 1
    return _greedy(words, f, hi) if len(lines) > 1 else lines


def _greedy(words: list[str], f: pygame.font.Font, width: int) -> list[str]:
    lines, line = [], ""
    for word in words:
        trial = f"{line} {word}" if line else word
        if f.size(trial)[0] <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return lines


def _split_word(word: str, f: pygame.font.Font, width: int) -> list[str]:
    pieces, piece = [], ""
    for ch in word:
        if piece and f.size(piece + ch)[0] > width:
            pieces.append(piece)
            piece = ""
        piece += ch
    return pieces + [piece]


def _ellipsize(text: str, f: pygame.font.Font, width: int) -> str:
    if f.size(text)[0] <= width:
        return text
    while text and f.size(text + "…")[0] > width:
        text = text[:-1]
    return text.rstrip() + "…"
