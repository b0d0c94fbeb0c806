"""Screen layouts: (panel state, directory, size, time) -> the widgets on screen.

Pure and pygame-free, so tests and the API can ask what is on screen without
drawing it. Sizes scale with the short side of the screen; portrait and landscape
arrange the same widgets differently.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..core import events as ev
from ..core.machine import PanelState, Screen
from ..directory import Directory
from .strings import Strings
from .widgets import Rect, Widget

KEY_ROWS = ["1234567890", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM"]


@dataclass(frozen=True)
class View:
    """Everything a layout needs besides the state."""
    width: int
    height: int
    building: str
    strings: Strings
    directory: Directory
    now: float                      # monotonic seconds, same clock as the state machine
    wall: float | None = None       # Unix time for the clock in the header

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


def result_rows(view: View) -> int:
    """How many directory results fit on one page."""
    _, _, _, h = _results_area(view)
    return max(1, h // view.s(104))


# -- pieces ------------------------------------------------------------------------
def _header(state: PanelState, view: View) -> list[Widget]:
    s, w = view.s, view.width
    wall = view.wall if view.wall is not None else time.time()
    out = [Widget("building", "heading", view.building, Rect(s(32), s(20), w - s(280), s(80)), style="header"),
           Widget("clock", "status", time.strftime("%H:%M", time.localtime(wall)),
                  Rect(w - s(232), s(20), s(200), s(80)), style="clock")]
    if not state.cloud_online and state.screen in (Screen.HOME, Screen.DIRECTORY, Screen.OUT_OF_ORDER):
        out.append(Widget("offline", "banner", view.strings("calls_offline"),
                          Rect(0, s(116), w, s(64)), style="warning"))
    return out


def _content_top(state: PanelState, view: View) -> int:
    return view.s(196) if not state.cloud_online and state.screen in (
        Screen.HOME, Screen.DIRECTORY, Screen.OUT_OF_ORDER) else view.s(132)


def _button(id: str, label: str, rect: Rect, *action: ev.Event, style: str = "primary", detail: str = "") -> Widget:
    return Widget(id, "button", label, rect, tuple(action), style=style, detail=detail)


def _bottom_buttons(view: View, specs: list[tuple]) -> list[Widget]:
    """Wide buttons at the bottom of the screen, in the order given, top to bottom."""
    s = view.s
    h, gap = s(140), s(24)
    width = min(view.width - s(64), s(900))
    x = (view.width - width) // 2
    y = view.height - s(48) - len(specs) * h - (len(specs) - 1) * gap
    out = []
    for id, label, action, style in specs:
        out.append(_button(id, label, Rect(x, y, width, h), *action, style=style))
        y += h + gap
    return out


def _centered_text(view: View, id: str, role: str, label: str, y: int, h: int, style: str) -> Widget:
    s = view.s
    return Widget(id, role, label, Rect(s(48), y, view.width - s(96), h), style=style)


# -- screens -------------------------------------------------------------------------
def _home(state: PanelState, view: View) -> list[Widget]:
    s, t = view.s, view.strings
    top = _content_top(state, view)
    if view.landscape:
        pw = view.width // 2 - s(64)
        preview = Rect(s(48), top + s(24), pw, pw * 3 // 4)
        right = view.width // 2 + s(16)
        rw = view.width - right - s(48)
        hint = Widget("qr_hint", "text", t("qr_hint"), Rect(right, top + s(40), rw, s(160)), style="lead")
        button = _button("directory", t("directory"), Rect(right, view.height - s(240), rw, s(180)),
                         ev.OpenDirectory(), style="primary_large")
    else:
        pw = view.width - s(96)
        preview = Rect(s(48), top + s(40), pw, pw * 3 // 4)
        hint = _centered_text(view, "qr_hint", "text", t("qr_hint"), preview.y + preview.h + s(24), s(100), "lead")
        button = _button("directory", t("directory"), Rect(s(48), view.height - s(260), pw, s(200)),
                         ev.OpenDirectory(), style="primary_large")
    return [Widget("preview", "image", t("camera_preview"), preview, style="camera"), hint, button]


def _out_of_order(state: PanelState, view: View) -> list[Widget]:
    s, t = view.s, view.strings
    top = _content_top(state, view)
    return [_centered_text(view, "title", "heading", t("out_of_order_title"), top + s(120), s(100), "title_danger"),
            _centered_text(view, "body", "text", t("out_of_order_body"), top + s(240), s(200), "lead"),
            _button("directory", t("directory"), Rect(s(48), view.height - s(260), view.width - s(96), s(200)),
                    ev.OpenDirectory(), style="primary_large")]


def _results_area(view: View) -> tuple[int, int, int, int]:
    """x, y, w, h of the result list on the directory screen."""
    s = view.s
    top = s(196) + s(112)   # below the banner's place and the search row
    if view.landscape:
        return s(32), top, view.width // 2 - s(48), view.height - top - s(24)
    keyboard_h = s(5 * 88 + 4 * 10 + 24)
    return s(32), top, view.width - s(64), view.height - top - keyboard_h - s(24)


def _keyboard(view: View) -> list[Widget]:
    s = view.s
    if view.landscape:
        x0, width = view.width // 2 + s(16), view.width // 2 - s(48)
    else:
        x0, width = s(32), view.width - s(64)
    gap, kh = s(10), s(88)
    y = view.height - s(24) - 5 * kh - 4 * gap
    kw = (width - 9 * gap) // 10
    out = []
    for row in KEY_ROWS:
        extra = 1 if row == "ZXCVBNM" else 0
        row_w = (len(row) + extra * 2) * (kw + gap) - gap
        x = x0 + (width - row_w) // 2
        for ch in row:
            out.append(Widget(f"key:{ch}", "key", ch, Rect(x, y, kw, kh), (ev.TypeText(ch.lower()),)))
            x += kw + gap
        if extra:
            out.append(Widget("key:backspace", "key", view.strings("backspace"), Rect(x, y, 2 * kw + gap, kh),
                              (ev.Backspace(),), style="key_wide"))
        y += kh + gap
    space_w = width - 2 * (2 * kw + gap) - 2 * gap
    out.append(Widget("key:clear", "key", view.strings("clear"), Rect(x0, y, 2 * kw + gap, kh),
                      (ev.ClearQuery(),), style="key_wide"))
    out.append(Widget("key:space", "key", view.strings("space"), Rect(x0 + 2 * kw + 2 * gap, y, space_w, kh),
                      (ev.TypeText(" "),), style="key_wide"))
    return out


def _directory(state: PanelState, view: View) -> list[Widget]:
    s, t = view.s, view.strings
    top = s(196)
    out = [_button("back", t("back"), Rect(s(32), top, s(180), s(92)), ev.GoHome(), style="secondary"),
           Widget("search", "textbox", state.query, Rect(s(232), top, view.width - s(264), s(92)),
                  style="search", extra={"placeholder": t("search_placeholder")})]
    x, y, w, h = _results_area(view)
    rows = result_rows(view)
    results = view.directory.search(state.query, limit=max(200, state.scroll + rows))
    last = max(0, len(results) - rows)
    first = min(state.scroll, last)
    row_h = s(104)
    list_w = w - s(112)
    for i, r in enumerate(results[first:first + rows]):
        name = r.shown_as(view.directory.rule)
        detail = "" if view.directory.rule == "unit" else t("apartment", unit=r.unit)
        out.append(_button(f"resident:{r.id}", name, Rect(x, y + i * row_h, list_w, row_h - s(8)),
                           ev.CallResident(r.id, name), style="row", detail=detail))
    if not results:
        out.append(Widget("no_results", "text", t("no_results"), Rect(x, y + s(40), w, s(80)), style="muted"))
    bx = x + list_w + s(12)
    out.append(Widget("scroll_up", "button", t("scroll_up"), Rect(bx, y, s(100), s(160)),
                      (ev.Scroll(-rows, last),), style="arrow_up", enabled=first > 0))
    out.append(Widget("scroll_down", "button", t("scroll_down"), Rect(bx, y + h - s(160), s(100), s(160)),
                      (ev.Scroll(rows, last),), style="arrow_down", enabled=first + rows < len(results)))
    return out + _keyboard(view)


def _calling(state: PanelState, view: View) -> list[Widget]:
    s, t = view.s, view.strings
    status = t("ringing") if state.ringing else t("connecting")
    return [_centered_text(view, "title", "text", t("calling"), s(220), s(70), "lead"),
            _centered_text(view, "name", "heading", state.resident_name, s(300), s(110), "title"),
            Widget("ringing", "image", status, Rect(view.width // 2 - s(150), s(460), s(300), s(300)),
                   style="ring", extra={"phase": view.now - state.entered_at}),
            _centered_text(view, "status", "status", status, s(790), s(70), "lead")] + \
        _bottom_buttons(view, [("cancel", t("cancel"), (ev.CancelCall(),), "danger")])


def _in_call(state: PanelState, view: View) -> list[Widget]:
    s, t = view.s, view.strings
    elapsed = max(0, int(view.now - state.entered_at))
    return [_centered_text(view, "title", "text", t("in_call"), s(220), s(70), "lead"),
            _centered_text(view, "name", "heading", state.resident_name, s(300), s(110), "title"),
            _centered_text(view, "timer", "status", f"{elapsed // 60:02d}:{elapsed % 60:02d}", s(440), s(100),
                           "timer")] + \
        _bottom_buttons(view, [("end_call", t("end_call"), (ev.EndCall(),), "danger")])


def _call_ended(state: PanelState, view: View) -> list[Widget]:
    s, t = view.s, view.strings
    key = {"declined": "ended_declined", "no_answer": "ended_no_answer", "unavailable": "ended_unavailable",
           "time_limit": "ended_time_limit", "error": "ended_error"}.get(state.message, "ended_hung_up")
    text = t(key, name=state.resident_name)
    specs = []
    if state.message in ("declined", "no_answer"):
        specs.append(("call_again", t("call_again"), (ev.CallAgain(),), "primary"))
    specs += [("back", t("back"), (ev.OpenDirectory(),), "secondary"),
              ("home", t("home"), (ev.GoHome(),), "secondary")]
    return [_centered_text(view, "message", "heading", text, s(300), s(240), "title")] + _bottom_buttons(view, specs)


def _door_open(state: PanelState, view: View) -> list[Widget]:
    s, t = view.s, view.strings
    return [Widget("door_icon", "image", t("door_open"), Rect(view.width // 2 - s(140), s(220), s(280), s(280)),
                   style="door_open"),
            _centered_text(view, "message", "heading", t("door_open"), s(540), s(220), "title_success")] + \
        _bottom_buttons(view, [("ok", t("ok"), (ev.GoHome(),), "secondary")])


def _access_granted(state: PanelState, view: View) -> list[Widget]:
    s, t = view.s, view.strings
    greeting = t("welcome", name=state.message) if state.message else t("door_open")
    return [Widget("door_icon", "image", t("door_open"), Rect(view.width // 2 - s(140), s(220), s(280), s(280)),
                   style="door_open"),
            _centered_text(view, "greeting", "heading", greeting, s(540), s(200), "title_success"),
            _centered_text(view, "message", "text", t("door_open"), s(760), s(80), "lead")] + \
        _bottom_buttons(view, [("ok", t("ok"), (ev.GoHome(),), "secondary")])


def _access_denied(state: PanelState, view: View) -> list[Widget]:
    s, t = view.s, view.strings
    return [Widget("refused_icon", "image", t("access_refused"), Rect(view.width // 2 - s(140), s(220), s(280), s(280)),
                   style="refused"),
            _centered_text(view, "title", "heading", t("access_refused"), s(540), s(110), "title_danger"),
            _centered_text(view, "reason", "text", t.reason(state.message), s(670), s(180), "lead")] + \
        _bottom_buttons(view, [("directory", t("directory"), (ev.OpenDirectory(),), "primary"),
                               ("ok", t("ok"), (ev.GoHome(),), "secondary")])


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
}
