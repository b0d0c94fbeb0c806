"""The events feed: state changes as events (call, door, link), and a slow subscriber dropped."""

from dataclasses import replace

from panel import events_feed
from panel.core.machine import PanelState, Screen
from panel.events_feed import EventsFeed, Logged, state_events

IDLE = PanelState()
CALLING = replace(IDLE, screen=Screen.CALLING, call_id="c1", resident_id="r01", resident_name="Olivia Smith")


def states(events):
    return [(e["kind"], e["state"]) for e in events]


def test_a_call_is_calling_ringing_answered_then_ended_with_its_reason():
    ringing = replace(CALLING, ringing=True)
    answered = replace(ringing, screen=Screen.IN_CALL)
    ended = replace(IDLE, screen=Screen.CALL_ENDED, message="hung_up")
    steps = [IDLE, CALLING, ringing, answered, ended]
    got = [e for a, b in zip(steps, steps[1:]) for e in state_events(a, b)]
    assert states(got) == [("call", "calling"), ("call", "ringing"), ("call", "answered"), ("call", "ended")]
    assert got[-1]["reason"] == "hung_up" and got[-1]["call_id"] == "c1"
    declined = state_events(ringing, replace(IDLE, screen=Screen.CALL_ENDED, message="declined"))
    assert declined[0]["reason"] == "declined"


def test_door_and_link_changes():
    released = replace(IDLE, door_released=True, door_open=True)
    assert states(state_events(replace(IDLE, door_open=False), released)) == [("door", "released"), ("door", "open")]
    assert states(state_events(IDLE, replace(IDLE, door_fault="relay not answering"))) == [("door", "fault")]
    assert states(state_events(IDLE, replace(IDLE, cloud_online=True))) == [("link", "up")]
    assert state_events(IDLE, replace(IDLE, query="ab")) == []         # not an event for integrators


async def test_a_subscriber_that_falls_behind_is_dropped_and_told(monkeypatch):
    monkeypatch.setattr(events_feed, "QUEUE_LIMIT", 3)
    feed = EventsFeed(lambda: IDLE)
    slow, heard = feed.subscribe(), []
    feed.listen(heard.append)
    for i in range(1, 6):
        feed.on_logged(i)
    assert feed.subscribers == 0 and len(heard) == 5        # listeners still get everything
    got = [await slow.get() for _ in range(3)]
    assert got[-1] is None and all(isinstance(g, Logged) for g in got[:-1])
