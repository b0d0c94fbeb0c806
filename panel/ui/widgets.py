"""Widgets: what is on screen, as data. The renderer draws them; the API lists them."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.events import Event


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int

    def contains(self, px: float, py: float) -> bool:
        return self.x <= px < self.x + self.w and self.y <= py < self.y + self.h

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]


@dataclass(frozen=True)
class Widget:
    id: str
    role: str                       # button | key | text | heading | textbox | image | video | banner | status | list | divider
    label: str
    rect: Rect
    action: tuple[Event, ...] = ()  # events a tap sends to the state machine
    style: str = "normal"           # drawing hint: primary | danger | success | muted | title | ...
    detail: str = ""                # a second line (a resident's apartment, say)
    enabled: bool = True
    extra: dict = field(default_factory=dict, compare=False)

    def to_json(self) -> dict:
        out = {"id": self.id, "role": self.role, "label": self.label, "rect": self.rect.as_list()}
        if self.detail:
            out["detail"] = self.detail
        if self.action or self.role in ("button", "key"):
            out["enabled"] = self.enabled
        return out


def hit(widgets: list[Widget], x: float, y: float) -> Widget | None:
    """The widget a finger at (x, y) presses: the last drawn (topmost) enabled one with an action."""
    for w in reversed(widgets):
        if w.action and w.enabled and w.rect.contains(x, y):
            return w
    return None
