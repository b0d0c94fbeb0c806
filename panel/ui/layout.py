"""Screen layouts: (panel state, directory, size, time) -> the widgets on screen.

Pure and pygame-free, so tests and the API can ask what is on screen without
drawing it. Sizes are in units of 1/800 of the screen's short side (1 px on the
800x1280 and 1280x800 panels); portrait stacks things, landscape puts them side
by side. Every tappable widget is at least 9 mm (53 px at ~150 dpi) both ways.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..core import events as ev
from ..core.machine import PanelState, Screen
from ..directory import Directory
from .strings import Strings
from .widgets import Rect, Widget

MARGIN = 32         # screen edge to content
GAP = 24            # between blocks
ROW_H = 104         # one directory result, its gap included
SEARCH_LIMIT = 200  # results a visitor can scroll through
HOME_FPS = 5        # the viewfinder's redraws per second at most: enough to aim a code, cheap idle
CALL_FPS = 10       # the self-view's in a call


@dataclass(frozen=True)
class View:
    """Everything a layout needs besides the state."""
    width: int
    height: int
    building: str
    strings: Strings
    directory: Directory
    now: float                      # monotonic seconds, same clock as the state machine
    wall: float                     # Unix time, for the clock in the header
    storage_full: bool = False      # the access log is held in memory: a line for staff

    @property
    def u(self) -> float:
        return min(self.width, self.height) / 800

    @property
    def landscape(self) -> bool:
        return self.width > self.height

    def s(self, v: float) -> int:
        return round(v * self.u)


def layout(state: PanelState, view: View) -> list[Widget]:
    builder = _SCREENS[state.screen]
    return _header(state, view) + builder(state, view)


# -- pieces ------------------------------------------------------------------------
def _banner_shown(state: PanelState) -> bool:
    return not state.cloud_online and state.screen in (
        Screen.HOME, Screen.DIRECTORY, Screen.OUT_OF_ORDER)


def _header(state: PanelState, view: View) -> list[Widget]:
    s, w = view.s, view.width
    wall = view.wall
    clock_w = s(160)
    out = [Widget("building", "heading", view.building,
                  Rect(s(MARGIN), s(20), w - 2 * s(MARGIN) - clock_w - s(GAP), s(80)), style="header"),
           Widget("clock", "status", time.strftime("%H:%M", time.localtime(wall)),
                  Rect(w - s(MARGIN) - clock_w, s(20), clock_w, s(80)), style="clock")]
    if _banner_shown(state):
        out.append(Widget("offline", "banner", view.strings("calls_offline"),
                          Rect(0, s(116), w, s(64)), style="warning"))
    if view.storage_full:
        # For staff, in the bottom margin below every screen's content: nothing moves for the visitor.
        out.append(Widget("storage", "status", view.strings("storage_full"),
                          Rect(s(MARGIN), view.height - s(MARGIN) + s(2), w - 2 * s(MARGIN), s(MARGIN) - s(4))))
    return out


def _content_top(state: PanelState, view: View) -> int:
    return view.s(196) if _banner_shown(state) else view.s(124)


def _button(id: str, label: str, rect: Rect, *action: ev.Event, style: str = "primary", detail: str = "") -> Widget:
    return Widget(id, "button", label, rect, tuple(action), style=style, detail=detail)


def _bottom_buttons(view: View, specs: list[tuple]) -> list[Widget]:
    """Buttons along the bottom: stacked full width in portrait, side by side in landscape."""
    s = view.s
    h, gap, m = s(128), s(GAP), s(MARGIN)
    out = []
    if view.landscape:
        width = (view.width - 2 * m - (len(specs) - 1) * gap) // len(specs)
        for k, (id, label, action, style) in enumerate(specs):
            out.append(_button(id, label, Rect(m + k * (width + gap), view.height - m - h, width, h),
                               *action, style=style))
        return out
    y = view.height - m - len(specs) * h - (len(specs) - 1) * gap
    for id, label, action, style in specs:
        out.append(_button(id, label, Rect(m, y, view.width - 2 * m, h), *action, style=style))
        y += h + gap
    return out


def _message(state: PanelState, view: View, texts: list[tuple], buttons: list[tuple],
             image: tuple | None = None) -> list[Widget]:
    """A message screen: an optional picture and lines of text, centred in the space above
    the buttons (picture on the left in landscape), and the buttons.

    texts: (id, role, label, height, style); image: (id, style[, extra]), a decoration with
    no label of its own (the text says it), as alt="" on the web."""
    s = view.s
    bottom = _bottom_buttons(view, buttons)
    top = _content_top(state, view)
    end = min(b.rect.y for b in bottom) - s(GAP)
    m = s(MARGIN)
    x, w = m, view.width - 2 * m
    heights = [s(h) for _, _, _, h, _ in texts]
    text_h = sum(heights) + s(16) * (len(texts) - 1)
    out = []
    if image and view.landscape:
        # Picture and text side by side, the pair centred; text lines stay short enough to read.
        size = min(s(300), end - top)
        w = min(view.width - 2 * m - size - s(2 * GAP), s(760))
        left = (view.width - size - s(2 * GAP) - w) // 2
        out.append(_picture(image, Rect(left, top + (end - top - size) // 2, size, size)))
        x = left + size + s(2 * GAP)
    elif image:
        size = min(s(280), end - top - text_h - s(2 * GAP))
        y = top + (end - top - size - s(2 * GAP) - text_h) // 2
        out.append(_picture(image, Rect((view.width - size) // 2, y, size, size)))
        top = y + size + s(2 * GAP)
        end = top + text_h
    y = top + (end - top - text_h) // 2
    for (id, role, label, _, style), h in zip(texts, heights):
        out.append(Widget(id, role, label, Rect(x, y, w, h), style=style))
        y += h + s(16)
    return out + bottom


def _picture(image: tuple, rect: Rect) -> Widget:
    return Widget(image[0], "image", "", rect, style=image[1], extra=image[2] if len(image) > 2 else {})


# -- screens -------------------------------------------------------------------------
def _home(state: PanelState, view: View) -> list[Widget]:
    """Both ways in: a key shown to the live viewfinder, or the directory; "or" between them."""
    s, t, m = view.s, view.strings, view.s(MARGIN)
    top = _content_top(state, view)
    title_h, caption_h = s(72), s(56)
    if view.landscape:
        # Viewfinder left, directory right as tall as it; "or" in the gap between.
        gap = s(96)
        cw = (view.width - 2 * m - gap) // 2
        vh = min(cw * 3 // 4, view.height - m - top - title_h - caption_h - s(32))
        y = top + (view.height - m - top - (title_h + vh + caption_h + s(32))) // 2
        finder = Rect(m, y + title_h + s(16), cw, vh)
        button = Rect(m + cw + gap, finder.y, cw, vh)
        divider = Rect(m + cw, finder.y, gap, vh)
        left, width = m, cw
    else:
        width, left = view.width - 2 * m, m
        button = Rect(m, view.height - m - s(200), width, s(200))
        y = top + s(8)
        finder = Rect(m, y + title_h + s(16), width, width * 3 // 4)
        below = finder.y + finder.h + s(16) + caption_h
        divider = Rect(m, below + (button.y - below - s(60)) // 2, width, s(60))
    return [Widget("qr_hint", "heading", t("qr_hint"), Rect(left, y, width, title_h), style="lead_strong"),
            Widget("viewfinder", "video", t("camera_preview"), finder, style="viewfinder",
                   extra={"fps": HOME_FPS, "fit": "contain", "guide": True}),
            Widget("qr_detail", "text", t("qr_detail"), Rect(left, finder.y + finder.h + s(16), width, caption_h),
                   style="muted"),
            Widget("or", "divider", t("either_or"), divider),
            _button("directory", t("directory"), button, ev.OpenDirectory(), style="primary_large",
                    detail=t("directory_hint"))]


def _out_of_order(state: PanelState, view: View) -> list[Widget]:
    t = view.strings
    return _message(state, view,
                    [("title", "heading", t("out_of_order_title"), 90, "title_danger"),
                     ("body", "text", t("out_of_order_body"), 150, "lead")],
                    [("directory", t("directory"), (ev.OpenDirectory(),), "primary")],
                    image=("warning_icon", "warning"))


def _results_area(view: View, top: int) -> Rect:
    """The result list on the directory screen, scroll buttons included."""
    s, m = view.s, view.s(MARGIN)
    y = _below_search(view, top)
    if view.landscape:
        return Rect(m, y, view.width - 3 * m - _keyboard_width(view), view.height - y - m)
    kb = _keyboard_rect(view, top)
    return Rect(m, y, view.width - 2 * m, kb.y - s(GAP) - y)


def _below_search(view: View, top: int) -> int:
    return top + view.s(92) + view.s(16)


def _keyboard_width(view: View) -> int:
    # Landscape: as wide as keys of 56 need (9.5 mm), the rest is for the result list.
    units = _key_units(view.strings)
    return units * view.s(56) + (units - 1) * view.s(8) if view.landscape else view.width - 2 * view.s(MARGIN)


def _key_units(t: Strings) -> int:
    """Keys across the widest keyboard row (Delete, after the last row, counts two)."""
    rows = ["1234567890", *t.keyboard]
    return max(max(len(r) for r in rows[:-1]), len(rows[-1]) + 2)


def _keyboard_rect(view: View, top: int) -> Rect:
    """Portrait: along the bottom. Landscape: right of the list, as tall as it (bigger keys)."""
    s, m = view.s, view.s(MARGIN)
    w = _keyboard_width(view)
    y = _below_search(view, top) if view.landscape else view.height - m - 5 * s(84) - 4 * s(8)
    return Rect(view.width - m - w, y, w, view.height - m - y)


def _keyboard(view: View, top: int) -> list[Widget]:
    """Digits, the language's letter rows, Delete after the last row, then Clear and Space.
    Every key has the same width, set by the longest row."""
    s, t = view.s, view.strings
    box = _keyboard_rect(view, top)
    gap = s(8)
    kh = (box.h - 4 * gap) // 5
    rows = ["1234567890", *t.keyboard]
    units = _key_units(t)
    kw = (box.w - (units - 1) * gap) // units
    wide = 2 * kw + gap
    out, y = [], box.y
    for n, row in enumerate(rows):
        last = n == len(rows) - 1
        row_w = len(row) * (kw + gap) - gap + (gap + wide if last else 0)
        x = box.x + (box.w - row_w) // 2
        for ch in row:
            out.append(Widget(f"key:{ch}", "key", ch, Rect(x, y, kw, kh), (ev.TypeText(ch.lower()),)))
            x += kw + gap
        if last:
            out.append(Widget("key:backspace", "key", t("backspace"), Rect(x, y, wide, kh),
                              (ev.Backspace(),), style="key_wide"))
        y += kh + gap
    out.append(Widget("key:clear", "key", t("clear"), Rect(box.x, y, wide, kh), (ev.ClearQuery(),), style="key_wide"))
    out.append(Widget("key:space", "key", t("space"), Rect(box.x + wide + gap, y, box.w - wide - gap, kh),
                      (ev.TypeText(" "),), style="key_wide"))
    return out


def _directory(state: PanelState, view: View) -> list[Widget]:
    s, t, m = view.s, view.strings, view.s(MARGIN)
    top = _content_top(state, view)
    back_w, search_x = s(180), m + s(180) + s(16)
    out = [_button("back", t("back"), Rect(m, top, back_w, s(92)), ev.GoHome(), style="secondary"),
           Widget("search", "textbox", state.query, Rect(search_x, top, view.width - m - search_x, s(92)),
                  style="search", extra={"placeholder": t("search_placeholder")})]
    area = _results_area(view, top)
    rows = max(1, area.h // s(ROW_H))
    results = view.directory.search(state.query, limit=max(SEARCH_LIMIT, state.scroll + rows))
    last = max(0, len(results) - rows)
    first = min(state.scroll, last)
    arrow_w = s(72)
    list_w = area.w - arrow_w - s(12)
    # The list itself: not tappable, but a swipe on it scrolls (Display.drag) and /ui shows where it is.
    out.append(Widget("results", "list", t("results"), Rect(area.x, area.y, list_w, area.h),
                      extra={"row_h": s(ROW_H), "last": last}))
    unit_only = view.directory.rule == "unit"
    unit_label = t("apartment", unit="{unit}")          # "Wohnung {unit}": the blank is filled per resident
    for i, r in enumerate(results[first:first + rows]):
        name = r.shown_as(view.directory.rule, unit_label=unit_label)
        detail = "" if unit_only else t("apartment", unit=r.unit)
        out.append(_button(f"resident:{r.id}", name, Rect(area.x, area.y + i * s(ROW_H), list_w, s(ROW_H - 8)),
                           ev.CallResident(r.id, name, view.directory.plan(r)), style="row", detail=detail))
    if not results:
        out.append(Widget("no_results", "text", t("no_results"), Rect(area.x, area.y + s(40), list_w, s(80)),
                          style="muted"))
    bx = area.x + area.w - arrow_w
    arrow_h = min(s(160), (area.h - s(16)) // 2)
    out.append(Widget("scroll_up", "button", t("scroll_up"), Rect(bx, area.y, arrow_w, arrow_h),
                      (ev.Scroll(-rows, last),), style="arrow_up", enabled=first > 0))
    down = Rect(bx, area.y + area.h - arrow_h - s(8), arrow_w, arrow_h)
    out.append(Widget("scroll_down", "button", t("scroll_down"), down, (ev.Scroll(rows, last),),
                      style="arrow_down", enabled=first + rows < len(results)))
    return out + _keyboard(view, top)


def _calling(state: PanelState, view: View) -> list[Widget]:
    t = view.strings
    status = t("ringing") if state.ringing else t("connecting")
    return _call_screen(state, view, t("calling"), ("status", status, "status_overlay"),
                        ("cancel", t("cancel"), (ev.CancelCall(),), "danger"),
                        ("ringing", "ring", {"phase": view.now - state.entered_at}), via=ringing_now(state, t))


def ringing_now(state: PanelState, t) -> str:
    """Whom the call rings at this step: "on the app and on the phone +44...", in the screen's language."""
    def one(target) -> str:
        if target.kind == "phone":
            return t("via_phone", number=target.address)
        if target.kind == "sip":
            return t("via_sip", address=target.address.split(":", 1)[-1])
        return t("via_app")
    return t("via_and").join(one(leg.target) for leg in state.legs)


def _in_call(state: PanelState, view: View) -> list[Widget]:
    t = view.strings
    elapsed = max(0, int(view.now - state.entered_at))
    # The resident pressed Open Door and the relay did not release it: the visitor is told too.
    fault = state.message == "door_not_released"
    return _call_screen(state, view, t("door_fault_title") if fault else t("in_call"),
                        ("timer", f"{elapsed // 60:02d}:{elapsed % 60:02d}", "timer"),
                        ("end_call", t("end_call"), (ev.EndCall(),), "danger"), ("in_call_icon", "call"),
                        title_style="lead_danger" if fault else "lead")


def _call_screen(state: PanelState, view: View, title: str, status: tuple, button: tuple,
                 image: tuple, title_style: str = "lead", via: str = "") -> list[Widget]:
    """The visitor's own live picture, mirrored, filling the screen above the button (left
    of it in landscape); the resident's name over its top, the status or timer over its
    bottom, each on a scrim. Landscape: the picture (image) above the button on the right."""
    s, m, gap = view.s, view.s(MARGIN), view.s(GAP)
    top = _content_top(state, view)
    out = []
    if view.landscape:
        col = s(360)
        video = Rect(m, top, view.width - 2 * m - gap - col, view.height - m - top)
        x = video.x + video.w + gap
        buttons = [_button(button[0], button[1], Rect(x, video.y + video.h - s(160), col, s(160)), *button[2],
                           style=button[3])]
        size = min(col, s(240))
        room = buttons[0].rect.y - gap - video.y
        out.append(_picture(image, Rect(x + (col - size) // 2, video.y + (room - size) // 2, size, size)))
    else:
        buttons = _bottom_buttons(view, [button])
        video = Rect(m, top, view.width - 2 * m, buttons[0].rect.y - gap - top)
    pad = s(28)
    inner_x, inner_w = video.x + pad, video.w - 2 * pad
    lead = Rect(inner_x, video.y + pad, inner_w, s(50))
    name = Rect(inner_x, lead.y + lead.h + s(4), inner_w, s(150))
    low_h = s(100) if status[0] == "timer" else s(60)
    low = Rect(inner_x, video.y + video.h - pad - low_h, inner_w, low_h)
    # Whom the call rings now, just above the status (a step change shows here).
    via_rect = Rect(inner_x, low.y - s(52), inner_w, s(48))
    if via:
        out.append(Widget("via", "status", via, via_rect, style="via_overlay"))
    # Each scrim reaches a third beyond its text, so the fade starts clear of it.
    scrims = {"scrim_top": (name.y + name.h - video.y) * 4 // 3,
              "scrim_bottom": (video.y + video.h - (via_rect.y if via else low.y)) * 4 // 3}
    return [Widget("self_view", "video", view.strings("self_view"), video, style="self_view",
                   extra={"fps": CALL_FPS, "fit": "cover", **scrims}),
            Widget("title", "text", title, lead, style=title_style),
            Widget("name", "heading", state.resident_name, name, style="title"),
            Widget(status[0], "status", status[1], low, style=status[2]),
            *out, *buttons]


def _call_ended(state: PanelState, view: View) -> list[Widget]:
    t = view.strings
    key = {"declined": "ended_declined", "no_answer": "ended_no_answer", "unavailable": "ended_unavailable",
           "time_limit": "ended_time_limit", "error": "ended_error"}.get(state.message, "ended_hung_up")
    specs = []
    if state.message in ("declined", "no_answer"):
        specs.append(("call_again", t("call_again"), (ev.CallAgain(),), "primary"))
    specs += [("back", t("back"), (ev.OpenDirectory(),), "secondary"),
              ("home", t("home"), (ev.GoHome(),), "secondary")]
    return _message(state, view, [("message", "heading", t(key, name=state.resident_name), 240, "title")], specs,
                    image=("ended_icon", "call_ended"))


def _door_open(state: PanelState, view: View) -> list[Widget]:
    t = view.strings
    return _message(state, view, [("message", "heading", t("door_open"), 170, "title_success")],
                    [("ok", t("ok"), (ev.GoHome(),), "secondary")],
                    image=("door_icon", "door_open"))


def _access_granted(state: PanelState, view: View) -> list[Widget]:
    t = view.strings
    greeting = t("welcome", name=state.message) if state.message else t("door_open")
    return _message(state, view,
                    [("greeting", "heading", greeting, 170, "title_success"),
                     ("message", "text", t("door_open"), 70, "lead")],
                    [("ok", t("ok"), (ev.GoHome(),), "secondary")],
                    image=("door_icon", "door_open"))


def _door_fault(state: PanelState, view: View) -> list[Widget]:
    """Granted, and the relay did not release the door."""
    t = view.strings
    return _message(state, view,
                    [("title", "heading", t("door_fault_title"), 90, "title_danger"),
                     ("body", "text", t("door_fault_body"), 130, "lead")],
                    [("directory", t("directory"), (ev.OpenDirectory(),), "primary"),
                     ("ok", t("ok"), (ev.GoHome(),), "secondary")],
                    image=("warning_icon", "warning"))


def _access_denied(state: PanelState, view: View) -> list[Widget]:
    t = view.strings
    return _message(state, view,
                    [("title", "heading", t("access_refused"), 90, "title_danger"),
                     ("reason", "text", t.reason(state.message), 130, "lead")],
                    [("directory", t("directory"), (ev.OpenDirectory(),), "primary"),
                     ("ok", t("ok"), (ev.GoHome(),), "secondary")],
                    image=("refused_icon", "refused"))


_SCREENS = {
    Screen.HOME: _home,
    Screen.OUT_OF_ORDER: _out_of_order,
    Screen.DIRECTORY: _directory,
    Screen.CALLING: _calling,
    Screen.IN_CALL: _in_call,
    Screen.CALL_ENDED: _call_ended,
    Screen.DOOR_OPEN: _door_open,
    Screen.ACCESS_GRANTED: _access_granted,
    Screen.ACCESS_DENIED: _access_denied,
    Screen.DOOR_FAULT: _door_fault,
}
