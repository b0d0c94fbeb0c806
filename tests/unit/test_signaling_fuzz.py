"""Hostile input from the cloud, fuzzed: random JSON values through the panel's message
entry points (the socket's text, the link's router, the call service, the sync)
never raise and never reach the log as a failure."""

from __future__ import annotations

import asyncio
import json
import logging

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from panel.call.service import CallService
from panel.call.signaling import Complaints, SignalingClient
from panel.cloud_link import CloudLink
from panel.core import effects as fx
from panel.sync import CloudSync

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TYPES = sorted({*CallService.FIELDS, *CloudSync.FIELDS, "event", "error"})
FIELD_NAMES = sorted({name for fields in (*CallService.FIELDS.values(), *CloudSync.FIELDS.values())
                      for name in fields} | {"cards", "first_name", "last_name", "unit", "id"})

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=5),
                                                                inner, max_size=5),
    max_leaves=12)
# Messages shaped like the protocol's: a known type, known field names, any values.
messages = st.builds(lambda kind, fields: {**fields, "type": kind}, st.sampled_from(TYPES),
                     st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=6))
residents = st.builds(lambda rs: {"type": "directory", "residents": rs},
                      st.lists(st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=6), max_size=5))


class Failures(logging.Handler):
    """Records ERROR lines (log.exception's among them)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record)


class FakeSignaling:
    connected = True

    def __init__(self):
        self.complain = Complaints(logging.getLogger("fuzz"))
        self.sent = []

    async def send(self, message):
        self.sent.append(message)
        return True


def world():
    """The real router, call service and sync, with the core and the store left out: the
    core ignores every event (so no media session starts), the parts' outputs are recorded."""
    signaling = FakeSignaling()
    got = []
    calls = CallService(signaling=signaling, door_name="Main", camera=None, fps=1, open_microphone=lambda: None,
                        speaker=None, ice_servers=[], video_codecs=["VP8"],
                        dispatch=lambda e: got.append(e) or [fx.Ignored(type(e).__name__, "home")],
                        may_unlock=lambda resident, device: False)
    sync = CloudSync(signaling, store=None, on_directory=got.append, on_revocations=got.append,
                     on_settings=got.append)
    link = object.__new__(CloudLink)        # the router alone: no hardware, no store
    link.signaling, link.calls, link.sync = signaling, calls, sync
    client = SignalingClient("ws://127.0.0.1:9/ws/panel", "t", link._on_message, lambda up: None)
    return client, link, calls, sync


LOOP = asyncio.new_event_loop()            # one for all examples: a loop each is most of the time


def run(entry_points) -> list:
    """Feed each (function, argument) on a loop, let spawned sends run; the ERROR lines."""
    failures = Failures()
    logging.getLogger("panel").addHandler(failures)

    async def main():
        for fn, arg in entry_points:
            fn(arg)
        await asyncio.sleep(0)
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            await task
    try:
        LOOP.run_until_complete(main())
    finally:
        logging.getLogger("panel").removeHandler(failures)
    return failures.records


@FUZZ
@given(st.one_of(json_values, messages, residents))
def test_any_json_value_on_the_socket_never_raises(value):
    client, link, calls, sync = world()
    assert run([(client.receive, json.dumps(value))]) == []


@FUZZ
@given(st.text(max_size=40) | st.binary(max_size=40).map(lambda b: b.decode("latin-1")))
def test_any_text_on_the_socket_never_raises(text):
    client, *_ = world()
    assert run([(client.receive, text)]) == []


@FUZZ
@given(st.one_of(messages, residents))
def test_the_parts_own_handlers_never_raise_unchecked(message):
    """Even past the router's checks (a caller that skips them), the handlers hold."""
    client, link, calls, sync = world()
    part = sync if message["type"] in CloudSync.FIELDS else calls
    assert run([(part.on_message, message)]) == []
