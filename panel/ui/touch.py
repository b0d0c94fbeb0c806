"""The touchscreen as the shell sees it: what is drawn now, and what a finger does.

`TouchScreen` lays out the panel's state with the directory and the time of the
injected clock, draws when something changed, turns taps and swipes (from the local
API, or from the window's mouse) into the shell's events, and redraws for what time
alone changes (the clock, the call timer, the ringing animation, the camera's picture
at the rate the screen asks: Display.interval).
"""

from __future__ import annotations

from collections.abc import Callable

from hal.clock import Clock

from ..core.machine import PanelState, Screen
from ..directory import Directory
from .display import Display, encode_png
from .layout import View
from .strings import Strings

__all__ = ["TouchScreen", "OffScreen", "encode_png"]


class OffScreen(ValueError):
    """A touch outside the screen."""


class TouchScreen:
    def __init__(self, display: Display, *, building: str, strings: Strings, clock: Clock, window: bool,
                 state: Callable[[], PanelState], directory: Callable[[], Directory],
                 preview: Callable[[], object], dispatch: Callable[[object], object],
                 on_quit: Callable[[], None], storage_full: Callable[[], bool] = lambda: False):
        self.display = display
        self.building, self.strings, self.clock, self.window = building, strings, clock, window
        self.state, self.directory, self.preview = state, directory, preview
        self.dispatch, self.on_quit = dispatch, on_quit
        self.storage_full = storage_full

    def redraw(self, *_changed) -> None:
        state = self.state()
        self.display.set_preview(self.preview())      # drawn if the screen shows video, at its rate
        width, height = self.display.size
        self.display.update(state, View(width, height, self.building, self.strings, self.directory(),
                                        self.clock.monotonic(), self.clock.wall(), self.storage_full()))

    def touch(self, x: float, y: float, to: tuple[float, float] | None = None) -> dict:
        """A finger down at (x, y) and, for a swipe, lifted at `to` (a tap when None)."""
        width, height = self.display.size
        for px, py in ((x, y),) if to is None else ((x, y), to):
            if not (0 <= px < width and 0 <= py < height):
                raise OffScreen(f"({px:g}, {py:g}) is outside the {width}x{height} screen")
        self.redraw()
        widget, events = self.display.tap(x, y) if to is None else self.display.drag(x, y, *to)
        for event in events:
            self.dispatch(event)
        return {"hit": widget.to_json() if widget else None, "screen": self.state().screen.value}

    def ui(self) -> dict:
        self.redraw()
        return self.display.ui_json(self.state().screen.value)

    def rgb(self):
        """The screen's pixels now (copied on the loop thread; encode them off it)."""
        self.redraw()
        return self.display.renderer.rgb()

    async def run(self) -> None:
        """Redraws for time-driven changes; in a window, also reads the mouse as a finger."""
        import pygame
        pressed_at = None
        while True:
            fast = self.window or self.state().screen is Screen.CALLING
            await self.clock.sleep(1 / 30 if fast else self.display.interval)
            if self.window:
                for e in pygame.event.get():
                    if e.type == pygame.QUIT:
                        self.on_quit()
                    elif e.type == pygame.MOUSEBUTTONDOWN and e.button == 1:
                        pressed_at = e.pos
                    elif e.type == pygame.MOUSEBUTTONUP and e.button == 1 and pressed_at is not None:
                        # A finger lifted: a tap where it went down, or a swipe (scrolls a list).
                        # SDL reports a release outside the window (mouse capture): keep it on screen.
                        width, height = self.display.size
                        to = (min(max(e.pos[0], 0), width - 1), min(max(e.pos[1], 0), height - 1))
                        self.touch(*pressed_at, to=to)
                        pressed_at = None
            self.redraw()
