"""The screen as the app sees it: lay out, draw when something changed, answer taps.

Renders only when what would be drawn differs from the last frame (widgets, the
ringing animation, a new camera frame), so an idle panel costs almost nothing. A
screen's video (the home viewfinder, the self-view in a call) shows a new frame at
most at its widget's `fps`, and then only its own rectangle is drawn again.
"""

from __future__ import annotations

import cv2
import numpy as np

from .. import trace
from ..core.events import Event, Scroll, Touched
from ..core.machine import PanelState, Screen
from .layout import View, layout
from .renderer import Renderer
from .widgets import Widget, hit

ANIMATED = (Screen.CALLING,)
IDLE_INTERVAL = 0.5     # s between redraws with nothing moving but the clock
TOUCH_SLOP = 24         # px a finger may wander and still tap (about 4 mm)


class Display:
    def __init__(self, width: int, height: int, window: bool = False, fullscreen: bool = False):
        self.renderer = Renderer(width, height, window=window, fullscreen=fullscreen)
        self.widgets: list[Widget] = []
        self.frames = 0                 # how many times the screen was drawn
        self._drawn_key = None
        self._preview: np.ndarray | None = None
        self._preview_version = 0
        self._drawn_version = 0         # the preview version on screen
        self._video_at = float("-inf")  # when the video was last drawn (view.now)
        self.interval = IDLE_INTERVAL   # how soon the screen may need drawing again, s

    @property
    def size(self) -> tuple[int, int]:
        return self.renderer.size

    def close(self) -> None:
        self.renderer.close()

    def set_preview(self, frame: np.ndarray | None) -> None:
        if frame is not None and frame is not self._preview:
            self._preview = frame
            self._preview_version += 1

    def update(self, state: PanelState, view: View) -> bool:
        """Lay out the state; draw if it looks different. True when drawn."""
        trace.point("ui.update.start", screen=state.screen.value)
        widgets = layout(state, view)
        key = (tuple(widgets),
               round((view.now - state.entered_at) * 10) if state.screen in ANIMATED else None)
        self.widgets = widgets
        video = next((w for w in widgets if w.role == "video"), None)
        period = 1 / video.extra["fps"] if video else IDLE_INTERVAL
        self.interval = min(IDLE_INTERVAL, period)
        new_frame = (video is not None and self._preview_version != self._drawn_version
                     and view.now - self._video_at >= period)
        if key == self._drawn_key and not new_frame:
            trace.point("ui.update.end", drawn=False)
            return False
        # Only the frame changed: draw the video's rectangle (and what lies on it) alone.
        self.renderer.draw(widgets, self._preview, only=video if key == self._drawn_key else None)
        self._drawn_key = key
        if video is not None:
            self._drawn_version, self._video_at = self._preview_version, view.now
        self.frames += 1
        trace.point("ui.update.end", drawn=True)
        return True

    def tap(self, x: float, y: float) -> tuple[Widget | None, list[Event]]:
        """What a finger at (x, y) does: the widget hit and the events to send."""
        w = hit(self.widgets, x, y)
        return w, [Touched(), *(w.action if w else ())]

    def drag(self, x0: float, y0: float, x1: float, y1: float) -> tuple[Widget | None, list[Event]]:
        """A finger put down at (x0, y0) and lifted at (x1, y1). Hardly moved: a tap where it
        went down. A vertical swipe that starts on a list scrolls it with the finger: up by a
        row's height shows the next row. Anything else only counts as a touch."""
        if abs(x1 - x0) <= TOUCH_SLOP and abs(y1 - y0) <= TOUCH_SLOP:
            return self.tap(x0, y0)
        lists = [w for w in self.widgets if w.role == "list" and w.rect.contains(x0, y0)]
        if not lists or abs(y1 - y0) < abs(x1 - x0):
            return None, [Touched()]
        w = lists[-1]
        rows = round((y0 - y1) / w.extra["row_h"])
        return w, [Touched(), *([Scroll(rows, w.extra["last"])] if rows else [])]

    def ui_json(self, screen: str) -> dict:
        w, h = self.size
        return {"screen": screen, "size": [w, h], "widgets": [x.to_json() for x in self.widgets]}


def encode_png(rgb: np.ndarray) -> bytes:
    """A frame from Renderer.rgb() as PNG bytes (thread-safe: no pygame involved)."""
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return data.tobytes()
