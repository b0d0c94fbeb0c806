"""Every screen, in both orientations and every language, with long names: fingers fit,
nothing overlaps or leaves the screen, no text is cut or missing."""

from __future__ import annotations

import os
from dataclasses import replace
from itertools import combinations

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from panel.config import Config  # noqa: E402
from panel.core.machine import Screen, initial_state  # noqa: E402
from panel.directory import Directory, load_property  # noqa: E402
from panel.ui.layout import View, layout  # noqa: E402
from panel.ui.renderer import Renderer, fit  # noqa: E402
from panel.ui.strings import Strings, languages  # noqa: E402

FINGER = 53                 # 9 mm at ~150 dpi (10.1" 800x1280)
SIZES = [(800, 1280), (1280, 800)]
LONG = "Maximilian Alexander von Hohenberg-Strassburg"
EN_KEYS = set(Strings("en")._en)     # a label equal to a key means a missing string

PROPERTY = load_property(Config().property_file)
DIRECTORY = Directory(PROPERTY.residents)


def scenes() -> dict[str, tuple]:
    """name -> (state, directory, building)."""
    on = replace(initial_state(0), cloud_online=True)
    ended = replace(on, screen=Screen.CALL_ENDED, resident_name=LONG, resident_id="r30")
    d = (DIRECTORY, PROPERTY.name)
    out = {
        "home": (on, *d),
        "home-offline-long-building": (replace(on, cloud_online=False), DIRECTORY,
                                       "Wohnanlage Am Alten Schlachthof Nord-West"),
        "directory-empty-query": (replace(on, screen=Screen.DIRECTORY), *d),
        "directory-smi": (replace(on, screen=Screen.DIRECTORY, query="smi"), *d),
        "directory-long-name": (replace(on, screen=Screen.DIRECTORY, query="hohenb"), *d),
        "directory-long-query": (replace(on, screen=Screen.DIRECTORY, query="maximilian alexander von hohenb"), *d),
        "directory-scrolled-offline": (replace(on, screen=Screen.DIRECTORY, scroll=12, cloud_online=False), *d),
        "directory-no-results": (replace(on, screen=Screen.DIRECTORY, query="xqzv"), *d),
        "directory-initial": (replace(on, screen=Screen.DIRECTORY, query="ho"),
                              Directory(PROPERTY.residents, "initial"), PROPERTY.name),
        "directory-unit": (replace(on, screen=Screen.DIRECTORY),
                           Directory(PROPERTY.residents, "unit"), PROPERTY.name),
        "connecting": (replace(on, screen=Screen.CALLING, resident_name=LONG), *d),
        "ringing": (replace(on, screen=Screen.CALLING, resident_name="Olivia Smith", ringing=True), *d),
        "in-call": (replace(on, screen=Screen.IN_CALL, resident_name=LONG, entered_at=-3599), *d),
        "door-open": (replace(on, screen=Screen.DOOR_OPEN), *d),
        "door-fault": (replace(on, screen=Screen.DOOR_FAULT, message="qr"), *d),
        "in-call-door-fault": (replace(on, screen=Screen.IN_CALL, resident_name=LONG, message="door_not_released"),
                               *d),
        "access-granted": (replace(on, screen=Screen.ACCESS_GRANTED, message=LONG), *d),
        "access-granted-anonymous": (replace(on, screen=Screen.ACCESS_GRANTED), *d),
        "out-of-order-offline": (replace(on, screen=Screen.OUT_OF_ORDER, door_fault="relay", cloud_online=False), *d),
    }
    for message in ("declined", "no_answer", "unavailable", "time_limit", "error", "hung_up"):
        out[f"ended-{message}"] = (replace(ended, message=message), *d)
    for reason in ("malformed", "visitor_limit", "replayed", "error", "not_in_call", "unknown_issuer"):
        out[f"refused-{reason}"] = (replace(on, screen=Screen.ACCESS_DENIED, message=reason), *d)
    return out


SCENES = scenes()
CASES = [(name, size, lang) for name in SCENES for size in SIZES for lang in languages()]


def widgets_of(name, size, lang):
    state, directory, building = SCENES[name]
    w, h = size
    view = View(w, h, building, Strings(lang), directory, now=0.4, wall=1_764_072_000.0)
    return layout(state, view)


@pytest.fixture(scope="module")
def renderers():
    return {size: Renderer(*size) for size in SIZES}


@pytest.mark.parametrize("name,size,lang", CASES)
def test_fingers_fit_and_nothing_overlaps_or_leaves_the_screen(name, size, lang):
    widgets = widgets_of(name, size, lang)
    width, height = size
    for w in widgets:
        r = w.rect
        assert r.x >= 0 and r.y >= 0 and r.x + r.w <= width and r.y + r.h <= height, f"{w.id} off screen: {r}"
    tappable = [w for w in widgets if w.action]
    for w in tappable:
        assert w.rect.w >= FINGER and w.rect.h >= FINGER, f"{w.id} is {w.rect.w}x{w.rect.h}, under 9 mm"
    for a, b in combinations(tappable, 2):
        assert not _overlap(a.rect, b.rect), f"{a.id} {a.rect} overlaps {b.id} {b.rect}"
    # Nothing drawn sits on a button either (texts, pictures, the list frame aside).
    shown = [w for w in widgets if not w.action and w.role != "list"]
    for a in tappable:
        for b in shown:
            assert not _overlap(a.rect, b.rect), f"{b.id} {b.rect} lies on {a.id} {a.rect}"


@pytest.mark.parametrize("name,size,lang", CASES)
def test_every_text_fits_its_widget_and_none_is_missing(name, size, lang, renderers):
    renderer = renderers[size]
    for w in widgets_of(name, size, lang):
        if w.role in ("text", "heading", "button", "key", "banner", "divider") and w.style not in ("arrow_up",
                                                                                                  "arrow_down"):
            assert w.label.strip(), f"{w.id} has no label"
            assert w.label not in EN_KEYS, f"{w.id} shows the key {w.label!r}: a string is missing"
            assert "{" not in w.label, f"{w.id}: unfilled blank in {w.label!r}"
        for box in renderer.texts(w):
            x, y, bw, bh = box.rect
            fitted = fit(box.text, bw, bh, box.size, box.bold, box.max_lines)
            assert not fitted.truncated, f"{w.id}: {box.text!r} does not fit {bw}x{bh} at {box.size}px"


VIDEO_SCREENS = {"home": "viewfinder", "home-offline-long-building": "viewfinder", "connecting": "self_view",
                 "ringing": "self_view", "in-call": "self_view"}


@pytest.mark.parametrize("name,size,lang", [c for c in CASES if c[0] in VIDEO_SCREENS])
def test_home_and_call_screens_show_the_camera_with_the_call_over_it(name, size, lang):
    """The visitor sees themselves: a video widget big enough to see a face and aim a code
    (at least 40 % of the width, 30 % of the height), every text of a call inside it on a scrim."""
    widgets = widgets_of(name, size, lang)
    video = [w for w in widgets if w.role == "video"]
    assert [w.id for w in video] == [VIDEO_SCREENS[name]]
    v = video[0].rect
    assert v.w >= size[0] * 0.4 and v.h >= size[1] * 0.3, f"{v} is small"
    if VIDEO_SCREENS[name] == "self_view":
        extra = video[0].extra
        over = {w.id: w.rect for w in widgets if w.id in ("title", "name", "status", "timer")}
        assert "name" in over and ("timer" in over) == (name == "in-call")
        for id, r in over.items():
            assert v.x <= r.x and r.x + r.w <= v.x + v.w and v.y <= r.y and r.y + r.h <= v.y + v.h, f"{id} off the video"
            on_top = r.y + r.h <= v.y + extra["scrim_top"]
            on_bottom = r.y >= v.y + v.h - extra["scrim_bottom"]
            assert on_top or on_bottom, f"{id} {r} is on the picture with no scrim behind it"
    else:
        assert {"qr_hint", "qr_detail", "or", "directory"} <= {w.id for w in widgets}


def test_other_screens_show_no_camera():
    for name in ("directory-smi", "door-open", "ended-declined", "refused-malformed"):
        assert not [w for w in widgets_of(name, (800, 1280), "en") if w.role == "video"], name


def test_directory_rows_follow_the_property_rule():
    rows = lambda name, lang="en": [w for w in widgets_of(name, (800, 1280), lang) if w.id.startswith("resident:")]
    assert [w.label for w in rows("directory-initial")] == ["M. von Hohenberg-Strassburg"]
    unit = rows("directory-unit", "de")
    assert unit and all(w.label.startswith("Wohnung ") and not w.detail for w in unit)
    assert rows("directory-smi")[0].detail == "Apartment 1A"


def test_german_keyboard_is_qwertz_with_umlauts():
    keys = [w.label for w in widgets_of("directory-smi", (1280, 800), "de") if w.role == "key"]
    assert keys.index("Z") < keys.index("U") < keys.index("Ü") < keys.index("A")
    assert {"Ä", "Ö", "Ü", "Löschen", "Leeren", "Leertaste"} <= set(keys)


def test_scroll_buttons_page_through_the_results():
    widgets = widgets_of("directory-empty-query", (800, 1280), "en")
    rows = [w for w in widgets if w.id.startswith("resident:")]
    down = next(w for w in widgets if w.id == "scroll_down")
    up = next(w for w in widgets if w.id == "scroll_up")
    assert down.enabled and not up.enabled
    assert down.action[0].rows == len(rows)
    assert down.action[0].last == len(PROPERTY.residents) - len(rows)


def _overlap(a, b) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h
