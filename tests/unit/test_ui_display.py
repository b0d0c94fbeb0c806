"""The display: draws only when something changed, taps and swipes become events."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from panel.config import Config  # noqa: E402
from panel.core import events as ev  # noqa: E402
from panel.core.machine import Screen, initial_state, step  # noqa: E402
from panel.directory import Directory, load_property  # noqa: E402
from panel.ui.display import Display  # noqa: E402
from panel.ui.layout import View  # noqa: E402
from panel.ui.strings import Strings  # noqa: E402

PROPERTY = load_property(Config().property_file)
NOON = 1_764_072_000.0


@pytest.fixture(params=[(800, 1280), (1280, 800)], ids=["portrait", "landscape"])
def screen(request):
    w, h = request.param
    directory = Directory(PROPERTY.residents)
    display = Display(w, h)
    state = replace(initial_state(0), cloud_online=True, screen=Screen.DIRECTORY)

    def show(state, now=1.0):
        display.update(state, View(w, h, PROPERTY.name, Strings("en"), directory, now=now, wall=NOON))
        return display
    return show, state, directory


def find(display, id):
    return next(w for w in display.widgets if w.id == id)


def rows(display):
    return [w for w in display.widgets if w.id.startswith("resident:")]


def test_a_swipe_up_on_the_list_scrolls_it_with_the_finger(screen):
    show, state, _ = screen
    display = show(state)
    results = find(display, "results")
    row_h = results.extra["row_h"]
    x, y = results.rect.x + results.rect.w / 2, results.rect.y + results.rect.h - 10
    widget, events = display.drag(x, y, x + 5, y - 2 * row_h - 10)
    assert widget.id == "results"
    assert events == [ev.Touched(), ev.Scroll(2, results.extra["last"])]
    first_before = rows(display)[0].label
    for event in events:
        state, _ = step(state, event, now=2.0)
    display = show(state, now=2.0)
    assert state.scroll == 2 and rows(display)[0].label != first_before
    # And back down: the list follows the finger the other way.
    _, events = display.drag(x, results.rect.y + 10, x, results.rect.y + 10 + row_h)
    assert events[-1] == ev.Scroll(-1, results.extra["last"])


def test_a_finger_that_hardly_moves_taps(screen):
    show, state, _ = screen
    display = show(state)
    row = rows(display)[0]
    x, y = row.rect.x + 40, row.rect.y + 30
    widget, events = display.drag(x, y, x + 6, y - 8)
    assert widget is row
    assert events == [ev.Touched(), row.action[0]]
    assert isinstance(events[1], ev.CallResident) and events[1].name == row.label


def test_swipes_elsewhere_only_count_as_a_touch(screen):
    show, state, _ = screen
    display = show(state)
    key = find(display, "key:Q")
    kx, ky = key.rect.x + 10, key.rect.y + 10
    assert display.drag(kx, ky, kx, ky - 300) == (None, [ev.Touched()])       # from the keyboard
    results = find(display, "results")
    x, y = results.rect.x + 20, results.rect.y + 60
    assert display.drag(x, y, x + 300, y + 40) == (None, [ev.Touched()])      # sideways


def test_draws_only_when_something_changed(screen):
    show, state, directory = screen
    display = show(state)
    frames = display.frames
    show(state, now=1.5)
    show(state, now=9.0)
    assert display.frames == frames
    show(replace(state, query="s"), now=9.5)
    assert display.frames == frames + 1


def test_redraws_do_not_search_again(screen, monkeypatch):
    show, state, directory = screen
    calls = []
    rank = directory._rank
    monkeypatch.setattr(directory, "_rank", lambda *a: calls.append(a) or rank(*a))
    typed = replace(state, query="smi")
    for now in (1.0, 1.5, 2.0, 2.5):
        show(typed, now=now)
    assert len(calls) == 1


def _halves(left=(0, 0, 255), right=(255, 0, 0)) -> np.ndarray:
    """A 640x480 BGR frame: red on the left, blue on the right (asymmetric on purpose)."""
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:, :320], frame[:, 320:] = left, right
    return frame


def _video_show(w, h, screen):
    display = Display(w, h)
    state = replace(initial_state(0), cloud_online=True, screen=screen, resident_name="Olivia Smith")

    def show(now):
        display.update(state, View(w, h, PROPERTY.name, Strings("en"), Directory(PROPERTY.residents),
                                   now=now, wall=NOON))
        return display
    return display, show


@pytest.mark.parametrize("size", [(800, 1280), (1280, 800)], ids=["portrait", "landscape"])
@pytest.mark.parametrize("screen", [Screen.HOME, Screen.CALLING, Screen.IN_CALL])
def test_the_camera_is_shown_mirrored(size, screen):
    """As in a mirror: what is on the camera's left is on the screen's right."""
    display, show = _video_show(*size, screen)
    display.set_preview(_halves())
    show(1.0)
    video = next(w for w in display.widgets if w.role == "video").rect
    rgb = display.renderer.rgb()
    mid = video.y + video.h // 2
    left = rgb[mid, video.x + video.w // 2 - 20]
    right = rgb[mid, video.x + video.w // 2 + 20]
    assert left[2] > 150 and left[0] < 80, f"left of the picture is {left}, not the camera's right (blue)"
    assert right[0] > 150 and right[2] < 80, f"right of the picture is {right}, not the camera's left (red)"


def test_the_video_redraws_at_its_rate_only_for_a_new_frame_and_only_its_rectangle():
    display, show = _video_show(800, 1280, Screen.IN_CALL)
    display.set_preview(_halves())
    show(1.0)
    before, frames = display.renderer.rgb(), display.frames
    video = next(w for w in display.widgets if w.role == "video")
    # The same frame again: nothing to draw, however often asked.
    for k in range(10):
        show(1.0 + k / 100)
    assert display.frames == frames
    # A new frame every 10 ms for a tenth of a second (the timer still on 00:00): at most the
    # widget's rate, 10 a second, so one redraw.
    for k in range(1, 10):
        display.set_preview(_halves(left=(0, 255, 0)))
        show(1.0 + k / 100)
    assert display.frames == frames
    display.set_preview(_halves(left=(0, 255, 0)))
    show(1.0 + 1 / video.extra["fps"])
    assert display.frames == frames + 1
    after = display.renderer.rgb()
    r = video.rect
    outside = np.ones(after.shape[:2], bool)
    outside[r.y:r.y + r.h, r.x:r.x + r.w] = False
    assert (after[outside] == before[outside]).all(), "pixels outside the video changed"
    assert (after[r.y:r.y + r.h, r.x:r.x + r.w] != before[r.y:r.y + r.h, r.x:r.x + r.w]).any()
    assert display.interval == pytest.approx(1 / video.extra["fps"])
