"""Messages from the cloud: CloudSync (with the real Gatekeeper) and CallService."""

from __future__ import annotations

import asyncio
import json
import logging

from .harness import NOW, Harness
from .inputs import mutate_bytes, mutate_json, rand_text


SYNC_TEMPLATES = [
    {"type": "event_ack", "id": 1},
    {"type": "directory", "residents": [
        {"id": "r1", "first_name": "Ana", "last_name": "Lima", "unit": "1A", "display_name": "", "cards": ["42:1"]},
        {"id": "r2", "last_name": "Ng", "unit": "2B", "cards": "raw:35:1a, 7:7"}]},
    {"type": "revocations", "ids": ["c1", "holder:r2", "card:42:1"]},
    {"type": "settings", "allow_visitors": True, "visitor_limit_hours": 8},
]


CALL_TEMPLATES = [
    {"type": "ringing", "call_id": "c1", "via": "app"},
    {"type": "call_failed", "call_id": "c1", "reason": "unavailable"},
    {"type": "declined", "call_id": "c1"},
    {"type": "accepted", "call_id": "c1", "device": "d1"},
    {"type": "answer", "call_id": "c1", "sdp": "v=0\r\n"},
    {"type": "hangup", "call_id": "c1", "device": "d1", "reason": "hung_up"},
    {"type": "control", "call_id": "c1", "device": "d1", "video": False},
    {"type": "open_door", "call_id": "c1", "device": "d1", "who": "Ana"},
    {"type": "remote_unlock", "resident_id": "r1", "device": "d1", "who": "Ana"},
]


def receiver(*, sync=None, calls=None):
    """receive(text) as the panel reads a text message from the cloud: the real
    SignalingClient.receive (parsed, checked), then routed by CloudLink's own code (fields
    checked, then the part that speaks the type) to `sync` or `calls` (None: dropped)."""
    from types import SimpleNamespace

    from panel.call.signaling import SignalingClient
    from panel.cloud_link import CloudLink
    drop = SimpleNamespace(on_message=lambda m: None)
    link = SimpleNamespace(sync=sync or drop, calls=calls or drop)
    client = SignalingClient("ws://127.0.0.1:9/", "t", lambda m: CloudLink._on_message(link, m), lambda up: None)
    link.signaling = client
    return client.receive


def as_text(rng, message: dict) -> str:
    """The message as the cloud would send it, now and then with its text mutated."""
    text = json.dumps(message)
    if rng.random() < 0.1:
        text = mutate_bytes(rng, text.encode()).decode("utf-8", "replace")
    return text


def cloud_message(rng, templates) -> dict:
    m = mutate_json(rng, rng.choice(templates)) if rng.random() < 0.9 else {"type": rand_text(rng, 5)}
    if rng.random() < 0.1:
        m["type"] = rng.choice([t["type"] for t in SYNC_TEMPLATES + CALL_TEMPLATES])
    return m


class FakeSignaling:
    """The socket to the cloud: sends go nowhere, complaints are the real client's."""
    connected = True

    def __init__(self):
        from panel.call.signaling import Complaints
        self.sent = []
        self.complain = Complaints(logging.getLogger("fuzz.signaling"))

    async def send(self, message):
        json.dumps(message)                 # what the real socket would do with it
        self.sent.append(message)
        return len(self.sent) % 5 != 0      # now and then the link is down


class _Tasks:
    """Collects exceptions of tasks the handlers spawned (nobody awaits those)."""

    def __init__(self):
        self.errors = []

    def factory(self, loop, coro, **kw):
        task = asyncio.Task(coro, loop=loop, **kw)
        task.add_done_callback(self._done)
        return task

    def _done(self, task):
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(task.exception())

    async def settle(self):
        for _ in range(4):
            await asyncio.sleep(0)
        if self.errors:
            error, self.errors = self.errors[0], []
            raise error


class _NoStore:
    """The store calls the gatekeeper makes from the cloud's messages, done nowhere."""

    def replace_residents(self, residents): ...

    def revoke(self, credential_id, reason=""): ...

    def set_meta(self, key, value): ...


class SignalingSync(Harness):
    """CloudSync with the real Gatekeeper behind it; after each message a QR key and a
    card are checked, so what the cloud changed must still decide cleanly."""

    async def start(self):
        from hal.clock import VirtualClock
        from hal.events import CardPresented
        from panel.config import load
        from panel.gatekeeper import Gatekeeper
        from panel.sim.issuer import DevIssuer
        from panel.sync import CloudSync
        issuer = DevIssuer(None)
        config = load(None).replace("access", trusted_keys=issuer.trusted_keys())
        door = config.panel.door_id
        self.tasks = _Tasks()
        asyncio.get_running_loop().set_task_factory(self.tasks.factory)
        self.gate = Gatekeeper(config, _NoStore(), VirtualClock(NOW), spawn=asyncio.ensure_future)
        self.codes = [issuer.issue(holder_id="r1", holder_name="Ana", doors=[door], not_before=NOW - 60),
                      issuer.issue(holder_id="v1", holder_name="Guest", kind="visitor", hours=4, doors=[door],
                                   not_before=NOW - 60)]
        self.card = CardPresented(format="wiegand", bits=26, data="95000080", reader=0)     # card 42:1
        signaling = FakeSignaling()
        self.sync = CloudSync(signaling, None, on_directory=self.gate.on_directory,
                              on_revocations=self.gate.on_revocations, on_settings=self.gate.on_settings)
        self.receive = receiver(sync=self.sync)

    async def stop(self):
        asyncio.get_running_loop().set_task_factory(None)

    def gen(self, rng):
        return [as_text(rng, cloud_message(rng, SYNC_TEMPLATES)) for _ in range(rng.randint(1, 2))]

    async def check(self, messages):
        for text in messages:
            self.receive(text)
        await self.tasks.settle()
        for code in self.codes:
            self.gate.check_code(code)
        self.gate.check_card(self.card)


class FakeSession:
    def __init__(self, call_id, device, **kw):
        self.call_id, self.device = call_id, device

    async def offer(self):
        return "v=0\r\n"

    async def answer(self, sdp):
        if not sdp.startswith("v=0"):
            raise ValueError("not an SDP answer")

    def set_video(self, on):
        assert isinstance(on, bool)

    async def close(self):
        pass


class SignalingCall(Harness):
    async def start(self):
        from panel.call import service
        from panel.core import effects as fx
        from panel.core import events as ev
        self.tasks = _Tasks()
        asyncio.get_running_loop().set_task_factory(self.tasks.factory)
        self._saved = service.CallSession, service.memory.give_back
        service.CallSession, service.memory.give_back = FakeSession, lambda: None
        self.ev = ev

        def dispatch(event):
            assert isinstance(event, ev.Event), event
            if isinstance(event, ev.DoorOpenRequested):
                return [fx.PulseDoor(3.0)] if event.call_id == "c1" else []
            if isinstance(event, ev.CallAccepted) and event.call_id != "c1":
                return [fx.Ignored("CallAccepted", "home")]
            return []

        signaling = FakeSignaling()
        self.service = service.CallService(
            signaling=signaling, door_name="Main door", camera=None, fps=10, open_microphone=lambda: None,
            speaker=None, ice_servers=[], video_codecs=["VP8"], dispatch=dispatch,
            may_unlock=lambda resident, device: isinstance(resident, str) and resident == "r1")
        self.receive = receiver(calls=self.service)

    async def stop(self):
        from panel.call import service
        service.CallSession, service.memory.give_back = self._saved
        await self.service.close()
        asyncio.get_running_loop().set_task_factory(None)

    def gen(self, rng):
        messages = [as_text(rng, cloud_message(rng, CALL_TEMPLATES)) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.5:      # usually in a call, so messages about it reach the session
            messages.insert(0, json.dumps({"type": "accepted", "call_id": "c1", "device": "d1"}))
        return messages

    async def check(self, messages):
        for text in messages:
            self.receive(text)
        await self.tasks.settle()
