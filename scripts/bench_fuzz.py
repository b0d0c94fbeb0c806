#!/usr/bin/env python3
"""Fuzz benchmark: hostile input at every place the panel reads from outside.

    .venv/bin/python scripts/bench_fuzz.py [--inputs 1000000] [--quick] [--seed 1]
                                           [--target NAME ...] [--index I]

Targets (the share of --inputs each gets is in TARGETS):

- credential.*: QR text (random text, base45, CBOR shaped as COSE_Sign1/CWT, some
  re-signed with the trusted key so they reach the claim checks, and byte / character
  mutations of real credentials issued by panel.sim.issuer). read_credential may raise
  only Refused, verify() must return a Decision, and no altered credential is accepted.
- api.body / api.http: POST touch, door/open and camera/frame bodies through the real
  panel.api.server app (in process with aiohttp's mocked requests; a smaller share
  over a real server on 127.0.0.1). A 500 is a crash: the handler should have refused.
- signaling.sync / signaling.call: messages from the cloud into CloudSync.on_message
  and CallService.on_message (with a fake signaling socket and call session), routed
  as CloudLink routes them; nothing may raise, nor any task they spawn.
- serial.modbus: hal.modbus.ModbusRelay against a pty peer answering random and
  mutated RTU replies; set() must succeed or raise RelayError, within a bound.
- osdp.cards / osdp.events: what an OSDP reader reports (card bits, libosdp event
  dicts) through panel.access.cards and OsdpReader's event handling.
- image.decode / image.scanner: hal.camera.decode_image on random and mutated
  PNG / JPEG bytes; the QR scanner's decoders on random frames.

A crash is an exception that escapes a function that should have refused cleanly
(or one the code logged from a catch-all), an input taking longer than --hang
seconds, or the worker process dying (each target runs in its own process). Inputs
are reproducible: input I of a target is drawn from random.Random(f"{seed}:{target}:{I}"),
so `--target T --index I` replays one. Each distinct crash (exception type and the
innermost frame in panel/ or hal/) is printed once, shrunk to a minimal reproducer.
Exit status 1 if anything crashed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import io
import json
import logging
import os
import random
import subprocess
import sys
import time
import traceback
import tty
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cbor2  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

HANG_SECONDS = 2.0
NOW = 1_800_000_000


class Crash(Exception):
    """The target broke its contract without raising (accepted an altered credential, a 500)."""


# -- random values ------------------------------------------------------------------------
def rand_bytes(rng: random.Random, n: int) -> bytes:
    return rng.getrandbits(8 * n).to_bytes(n, "little") if n else b""


_TEXT_POOL = "aZ09 :-_.,/\\\"'{}[]\x00\n\t\u00e9\u20ac\U0001f600\ud800EP1HC$%*+"


def rand_text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_TEXT_POOL) for _ in range(n))


def rand_scalar(rng: random.Random):
    return rng.choice([
        None, True, False, 0, -1, 1, 2**31, -2**63, 2**64 + 1, 10**30, 0.5, -0.0, float("nan"), float("inf"),
        -float("inf"), 1e308, "", "x", "main", "c1", "d1", rand_text(rng, rng.randint(0, 12)),
        rng.randint(-10**6, 10**6), rng.random() * 1e4 - 5e3,
    ])


def rand_json(rng: random.Random, depth: int = 3):
    """Any JSON value Python's json module can produce (NaN and Infinity included)."""
    r = rng.random()
    if depth <= 0 or r < 0.6:
        return rand_scalar(rng)
    if r < 0.8:
        return [rand_json(rng, depth - 1) for _ in range(rng.randint(0, 4))]
    return {rand_text(rng, rng.randint(0, 6)): rand_json(rng, depth - 1) for _ in range(rng.randint(0, 4))}


def rand_cbor(rng: random.Random, depth: int = 3):
    r = rng.random()
    if depth <= 0 or r < 0.55:
        return rng.choice([None, True, False, rng.randint(-70000, 70000), -2**64, 2**64 - 1, rng.random(),
                           rand_text(rng, rng.randint(0, 10)).replace("\ud800", "?"), rand_bytes(rng, rng.choice([0, 1, 16, 32, 64]))])
    if r < 0.7:
        return [rand_cbor(rng, depth - 1) for _ in range(rng.randint(0, 5))]
    if r < 0.8:
        return cbor2.CBORTag(rng.choice([0, 1, 2, 18, 24, 55799, rng.randint(0, 2**16)]), rand_cbor(rng, depth - 1))
    keys = [rng.choice([1, 2, 4, 5, 7, 8, -8, -65537, -65538, -65539, -65540, -65541, rng.randint(-70000, 10)])
            for _ in range(rng.randint(0, 6))]
    return {k: rand_cbor(rng, depth - 1) for k in keys}


def mutate_bytes(rng: random.Random, data: bytes, ops: int | None = None) -> bytes:
    """1-4 edits of the kinds fuzzers find bugs with: bit flips, interesting bytes,
    deletions, insertions, duplicated or truncated chunks."""
    out = bytearray(data)
    for _ in range(ops or rng.randint(1, 4)):
        op = rng.randrange(7)
        i = rng.randrange(len(out) + 1)
        if op == 0 and out and i < len(out):
            out[i] ^= 1 << rng.randrange(8)
        elif op == 1 and i < len(out):
            out[i] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
        elif op == 2 and out:
            del out[i:i + rng.randint(1, 8)]
        elif op == 3:
            out[i:i] = rand_bytes(rng, rng.randint(1, 8))
        elif op == 4 and out:
            j = rng.randrange(len(out))
            out[i:i] = out[j:j + rng.randint(1, 32)]
        elif op == 5:
            del out[i:]
        else:
            out += rand_bytes(rng, rng.randint(1, 16))
    return bytes(out)


def mutate_json(rng: random.Random, value, depth: int = 0):
    """A template message with a field dropped, retyped or added (recursively)."""
    if isinstance(value, dict) and value:
        out = dict(value)
        key = rng.choice(list(out))
        r = rng.random()
        if r < 0.2 and key != "type":
            del out[key]
        elif r < 0.6:
            out[key] = mutate_json(rng, out[key], depth + 1) if depth < 3 and rng.random() < 0.5 else rand_json(rng)
        else:
            out[rng.choice([key, rand_text(rng, 4), "id", "residents", "cards", "ids", "device"])] = rand_json(rng)
        return out
    if isinstance(value, list) and value:
        out = list(value)
        i = rng.randrange(len(out))
        r = rng.random()
        if r < 0.3:
            del out[i]
        elif r < 0.7:
            out[i] = mutate_json(rng, out[i], depth + 1) if depth < 3 else rand_json(rng)
        else:
            out.append(rand_json(rng) if rng.random() < 0.5 else out[i])
        return out
    return rand_json(rng)


# -- targets --------------------------------------------------------------------------------
class Harness:
    """One target: gen(rng) -> an input; check(input) returns when the input was
    handled cleanly and raises otherwise. start()/stop() set up real peers."""
    quick = 200           # inputs in the test suite's short run

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Credentials(Harness):
    """Shared set-up of the credential targets: a dev issuer's real credentials."""

    def __init__(self):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from panel.access import ReplayGuard, read_credential, rotating_code, verify
        from panel.access.keys import load_public_key
        from panel.sim.issuer import DevIssuer

        self.issuer = DevIssuer(None)
        self.device = Ed25519PrivateKey.from_private_bytes(b"\x02" * 32)
        self.trusted = {k: load_public_key(v) for k, v in self.issuer.trusted_keys().items()}
        self.read_credential, self.verify, self.ReplayGuard = read_credential, verify, ReplayGuard
        issue = self.issuer.issue
        start = NOW - 60
        device_credential = issue(holder_id="res-2", holder_name="Bea", not_before=start, credential_id="dev-2",
                                  device_key=self.device.public_key())
        self.valid = [
            issue(holder_id="res-1", holder_name="Ana", not_before=start, credential_id="c1"),
            issue(holder_id="vis-1", holder_name="Guest", kind="visitor", hours=4, not_before=start),
            rotating_code(device_credential, self.device, now=NOW),
            device_credential,          # refused on its own: still a good starting point
        ]

    def decide(self, text: str):
        from panel.access.credential import Refused
        try:
            self.read_credential(text, self.trusted)
        except Refused:
            pass
        decision = self.verify(text, now=NOW, door="main", trusted_keys=self.trusted, is_revoked=lambda c: False,
                               visitor_limit_hours=24, replay=self.ReplayGuard())
        if type(decision).__name__ != "Decision":
            raise Crash(f"verify returned {decision!r}")
        return decision


class CredentialText(Credentials):
    def gen(self, rng):
        from panel.access.base45 import ALPHABET, b45encode
        r = rng.random()
        if r < 0.25:
            return rand_text(rng, rng.randint(0, 300))
        if r < 0.5:
            return "EP1:" + "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 600)))
        if r < 0.8:
            return "EP1:" + b45encode(rand_bytes(rng, rng.randint(0, 400)))
        if r < 0.95:
            return rng.choice(["ep1:", "EP1", "HC1:", "EP1:EP1:", " EP1:", ""]) + rng.choice(self.valid)[4:]
        return "EP1:" + "0" * rng.choice([4293, 4294, 4295, 5000])

    def check(self, text):
        if self.decide(text).ok:
            raise Crash("random text accepted as a credential")


class CredentialCose(Credentials):
    """CBOR built as COSE_Sign1 / CWT: random insides, or a real claim set with fields
    retyped, and signed with the trusted key, so the claim checks see it."""

    def gen(self, rng):
        from panel.access import credential as c
        r = rng.random()
        if r < 0.3:
            obj = rand_cbor(rng)
            return cbor2.dumps(cbor2.CBORTag(18, obj) if rng.random() < 0.5 else obj)
        claims = {c.ISS: "dev", c.SUB: "res-1", c.EXP: NOW + 3600, c.NBF: NOW - 60, c.CTI: b"c9",
                  c.NAME: "Ana", c.KIND: rng.choice([1, 2]), c.DOORS: ["main"]}
        if rng.random() < 0.2:
            claims[c.CNF] = {1: {1: 1, -1: 6, -2: bytes(self.device.public_key().public_bytes_raw())}}
        for _ in range(rng.randint(1, 3)):
            key = rng.choice(list(claims) + [rng.randint(-70000, 10)])
            if rng.random() < 0.2:
                claims.pop(key, None)
            else:
                claims[key] = rand_cbor(rng, 2)
        header = {1: -8, 4: self.issuer.kid.encode()}
        if r < 0.45:
            header = rng.choice([{1: -8}, {1: rand_cbor(rng, 1), 4: b"dev-1"}, {1: -8, 4: rand_cbor(rng, 1)},
                                 {1: -8, 4: b"dev-1", rng.randint(-5, 10): rand_cbor(rng, 1)}])
        try:
            payload = cbor2.dumps(claims)
        except Exception:
            payload = b""
        if r > 0.85:   # a rotating code around it, signed by the device key
            inner = c._sign1(self.issuer.private_key, payload, self.issuer.kid)
            presentation = {c.STEP: rng.choice([NOW // 30, rand_cbor(rng, 1)]), c.CRED: inner}
            if rng.random() < 0.3:
                presentation[rng.choice([c.STEP, c.CRED, 3])] = rand_cbor(rng, 1)
            return c._sign1(self.device, cbor2.dumps(presentation), None)
        protected = cbor2.dumps(header)
        signature = self.issuer.private_key.sign(c._sig_structure(protected, payload))
        return cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))

    def check(self, raw: bytes):
        from panel.access.base45 import b45encode
        decision = self.decide("EP1:" + b45encode(raw))
        if decision.ok and decision.kind not in ("resident", "visitor"):
            raise Crash(f"accepted a credential of kind {decision.kind!r}")


class CredentialMutated(Credentials):
    def gen(self, rng):
        from panel.access.base45 import ALPHABET, b45decode
        valid = rng.choice(self.valid)
        if rng.random() < 0.5:
            return ("bytes", valid, mutate_bytes(rng, b45decode(valid[4:])))
        body = list(valid[4:])
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(body))
            op = rng.randrange(3)
            if op == 0:
                body[i] = rng.choice(ALPHABET)
            elif op == 1:
                del body[i]
            else:
                body.insert(i, rng.choice(ALPHABET))
        return ("text", valid, "".join(body))

    def check(self, x):
        from panel.access.base45 import b45decode, b45encode
        how, valid, mutated = x
        text = "EP1:" + (b45encode(mutated) if how == "bytes" else mutated)
        if text == valid:
            return
        with contextlib.suppress(ValueError):
            if how == "text" and b45decode(mutated) == b45decode(valid[4:]):
                return
        if self.decide(text).ok:
            raise Crash("an altered credential was accepted")


class FakePanel:
    """What api.server needs, with the facade's own refusals (Rejected) and its decoder."""

    def __init__(self):
        from hal.camera import decode_image
        from panel.api.server import Rejected
        self.decode_image, self.Rejected = decode_image, Rejected

    def status(self):
        return {"screen": "home"}

    def ui(self):
        return {"widgets": []}

    def touch(self, x, y, to=None):
        for px, py in ((x, y),) if to is None else ((x, y), to):
            if not (0 <= px < 800 and 0 <= py < 480):
                raise self.Rejected(f"({px:g}, {py:g}) is outside the 800x480 screen")
        return {"hit": None, "screen": "home"}

    async def inject_frame(self, data):
        frame = self.decode_image(data)
        if frame is None:
            raise self.Rejected("not an image")
        return {"accepted": True, "width": int(frame.shape[1]), "height": int(frame.shape[0])}

    def open_door(self, who):
        return {"opening": True, "seconds": 3.0, "screen": "home"}


def small_images() -> list[bytes]:
    rng = np.random.default_rng(7)
    out = []
    for ext, shape in ((".png", (8, 8, 3)), (".jpg", (16, 16, 3)), (".png", (5, 7)), (".jpg", (9, 3)),
                       (".png", (4, 4, 4)), (".bmp", (3, 3, 3))):
        ok, data = cv2.imencode(ext, rng.integers(0, 256, shape, dtype=np.uint8))
        out.append(data.tobytes())
    return out


def api_body(rng, images) -> tuple[str, bytes]:
    route = rng.choice(["touch", "touch", "door/open", "camera/frame"])
    if route == "camera/frame":
        r = rng.random()
        body = (rand_bytes(rng, rng.randint(0, 64)) if r < 0.3 else mutate_bytes(rng, rng.choice(images)))
        return route, body
    template = {"x": 100, "y": 50} if route == "touch" else {"who": "integrator"}
    if route == "touch" and rng.random() < 0.3:
        template["to"] = {"x": 300, "y": 50}
    r = rng.random()
    if r < 0.5:
        text = json.dumps(mutate_json(rng, template))
    elif r < 0.7:
        text = json.dumps(rand_json(rng))
    else:
        raw = mutate_bytes(rng, json.dumps(template).encode())
        return route, raw
    return route, text.encode()


class ApiBody(Harness):
    """The real API app, each request handed to it as aiohttp's mocked request."""

    def __init__(self):
        self.images = small_images()

    async def start(self):
        from aiohttp import web
        from panel.api.server import make_app
        self.app = make_app(FakePanel(), "tok")
        self.app.freeze()
        self.web = web

    def gen(self, rng):
        return api_body(rng, self.images)

    async def check(self, x):
        from aiohttp import streams
        from aiohttp.test_utils import make_mocked_request
        route, body = x
        protocol = _Protocol()
        payload = streams.StreamReader(protocol, 2**16, loop=asyncio.get_running_loop())
        payload.feed_data(body)
        payload.feed_eof()
        request = make_mocked_request("POST", f"/api/v1/{route}", headers={"Authorization": "Bearer tok",
                                      "Content-Length": str(len(body))}, payload=payload, app=self.app)
        response = await self.app._handle(request)
        if response.status >= 500:
            raise Crash(f"POST {route} answered {response.status}: {response.text}")


class _Protocol:
    """The least of a transport StreamReader needs to take a body fed in memory."""
    _reading_paused = False

    def pause_reading(self, **kw): ...

    def resume_reading(self, **kw): ...


class ApiHttp(Harness):
    """The same bodies over a real server on 127.0.0.1."""
    quick = 60

    def __init__(self):
        self.images = small_images()

    async def start(self):
        import aiohttp
        from panel.api.server import ApiServer
        self.server = ApiServer(FakePanel(), "127.0.0.1", 0, "tok")
        await self.server.start()
        self.session = aiohttp.ClientSession(headers={"Authorization": "Bearer tok"})

    async def stop(self):
        await self.session.close()
        await self.server.stop()

    def gen(self, rng):
        return api_body(rng, self.images)

    async def check(self, x):
        route, body = x
        async with self.session.post(f"http://127.0.0.1:{self.server.port}/api/v1/{route}", data=body,
                                     headers={"Content-Type": "application/octet-stream"}) as resp:
            text = await resp.text()
            if resp.status >= 500:
                raise Crash(f"POST {route} answered {resp.status}: {text}")
            json.loads(text)            # every answer is JSON, errors included


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


def cloud_message(rng, templates) -> dict:
    m = mutate_json(rng, rng.choice(templates)) if rng.random() < 0.9 else {"type": rand_text(rng, 5)}
    if rng.random() < 0.1:
        m["type"] = rng.choice([t["type"] for t in SYNC_TEMPLATES + CALL_TEMPLATES])
    return m      # SignalingClient passes on only dicts whose "type" is a string


class FakeSignaling:
    connected = True

    def __init__(self):
        self.sent = []

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
        self.sync = CloudSync(FakeSignaling(), None, on_directory=self.gate.on_directory,
                              on_revocations=self.gate.on_revocations, on_settings=self.gate.on_settings)

    async def stop(self):
        asyncio.get_running_loop().set_task_factory(None)

    def gen(self, rng):
        return [cloud_message(rng, SYNC_TEMPLATES) for _ in range(rng.randint(1, 2))]

    async def check(self, messages):
        for m in messages:
            self.sync.on_message(m)
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

        self.service = service.CallService(
            signaling=FakeSignaling(), door_name="Main door", camera=None, fps=10, open_microphone=lambda: None,
            speaker=None, ice_servers=[], video_codecs=["VP8"], dispatch=dispatch,
            may_unlock=lambda resident, device: isinstance(resident, str) and resident == "r1")

    async def stop(self):
        from panel.call import service
        service.CallSession, service.memory.give_back = self._saved
        await self.service.close()
        asyncio.get_running_loop().set_task_factory(None)

    def gen(self, rng):
        messages = [cloud_message(rng, CALL_TEMPLATES) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.5:
            messages.insert(0, {"type": "accepted", "call_id": "c1", "device": "d1"})
        return messages

    async def check(self, messages):
        for m in messages:
            self.service.on_message(m)
        await self.tasks.settle()


def crc16_modbus(data: bytes) -> bytes:
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc.to_bytes(2, "little")


def rtu(body: bytes) -> bytes:
    return body + crc16_modbus(body)


class SerialModbus(Harness):
    """ModbusRelay on one end of a pty; this end answers each request with the next reply."""
    quick = 30
    TIMEOUT = 0.05

    async def start(self):
        from hal.modbus import ModbusRelay
        from hal.relay import RelayError
        self.RelayError = RelayError
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.replies: list[bytes] = []
        asyncio.get_running_loop().add_reader(self.master, self._request)
        self.relay = ModbusRelay(os.ttyname(self.slave), timeout=self.TIMEOUT)

    async def stop(self):
        await self.relay.close()
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)
        os.close(self.slave)

    def _request(self):
        with contextlib.suppress(BlockingIOError):
            os.read(self.master, 4096)
        if self.replies:
            reply = self.replies.pop(0)
            if reply:
                os.write(self.master, reply)

    def gen(self, rng):
        on = rng.random() < 0.5
        good = [rtu(bytes([1, 5, 0, 0, 0xFF if on else 0, 0])), rtu(bytes([1, 1, 1, int(on)]))]
        replies = []
        for i, valid in enumerate(good):
            r = rng.random()
            if r < 0.3:
                reply = valid
            elif r < 0.55:
                reply = mutate_bytes(rng, valid)
            elif r < 0.7:       # a well-formed frame saying something else
                fc = rng.choice([1, 5, 0x81, 0x85, 3, rng.randrange(256)])
                reply = rtu(bytes([rng.choice([1, 1, 2, 0]), fc]) + rand_bytes(rng, rng.randint(0, 6)))
            elif r < 0.8:       # a byte count that promises more than follows
                reply = rtu(bytes([1, 1, rng.choice([0, 2, 250, 255]), 1]))
            elif r < 0.9:
                reply = rand_bytes(rng, rng.randint(1, 24))
            else:
                reply = b""     # silence
            replies.append(reply)
        return (on, replies)

    async def check(self, x):
        on, replies = x
        self.replies = list(replies)
        try:
            await self.relay.set(on)
        except self.RelayError:
            pass
        self.replies = []


class OsdpCards(Harness):
    def gen(self, rng):
        fmt = rng.choice(["wiegand", "raw", "raw", "ascii", rand_text(rng, 3)])
        nbytes = rng.choice([0, 1, 3, 4, 5, 8, rng.randint(0, 40)])
        bits = rng.choice([26, 26, 35, 37, 0, -1, 1, nbytes * 8, nbytes * 8 + 1, rng.randint(-10, 400)])
        data = rand_bytes(rng, nbytes).hex()
        if rng.random() < 0.1:
            data = rand_text(rng, rng.randint(0, 8))
        enrolled = rng.choice(["42:12345", "raw:35:1abc", rand_text(rng, 8), f"{rng.randint(0, 999)}:{rng.randint(0, 99999)}",
                               f"raw:{rng.randint(0, 9999)}:{rand_bytes(rng, rng.randint(0, 6)).hex()}", " 7:7 ", "RAW:8:FF"])
        return (fmt, bits, data, enrolled)

    def check(self, x):
        from panel.access.cards import CardError, check_card, normalize_card
        fmt, bits, data, enrolled = x
        try:
            owner = normalize_card(enrolled)
        except CardError:
            owner = None
        result = check_card(fmt, bits, data, owner_of=lambda n: ("r1", "Ana") if n == owner else None,
                            is_revoked=lambda key: key.endswith(":1"))
        if result.ok and result.number != owner:
            raise Crash(f"card {result.number} let in as {owner}")


class OsdpEvents(Harness):
    """libosdp's event dicts, with fields libosdp could report (any length, format, reader)."""

    async def start(self):
        from osdp import CardFormat, Event, StatusReportType
        from hal.osdp import OsdpReader
        self.seen = []
        self.reader = OsdpReader("/nonexistent/osdp-fuzz", on_event=self.seen.append)
        self.reader._loop = asyncio.get_running_loop()
        self.reader._state_changed = asyncio.Event()
        self.Event, self.CardFormat, self.StatusReportType = Event, CardFormat, StatusReportType

    async def stop(self):
        self.reader._closed = True
        if self.reader._reconnect is not None:
            self.reader._reconnect.cancel()

    def gen(self, rng):
        E = self.Event
        kind = rng.choice([E.CardRead, E.KeyPress, E.Status, E.Notification, E.ManufacturerReply])
        data = rand_bytes(rng, rng.choice([0, 1, 4, 8, rng.randint(0, 64)]))
        if kind == E.CardRead:
            event = {"event": kind, "reader_no": rng.choice([0, 1, 255]), "direction": 0,
                     "format": rng.choice([self.CardFormat.Unspecified, self.CardFormat.Wiegand, self.CardFormat.ASCII, 99]),
                     "length": rng.choice([len(data) * 8, 26, 0, 1, 65535, rng.randint(0, 600)]), "data": data}
        elif kind == E.KeyPress:
            event = {"event": kind, "reader_no": rng.randint(0, 255), "data": data}
        elif kind == E.Status:
            types = self.StatusReportType
            event = {"event": kind, "type": rng.choice([types.Local, types.Input, types.Output, types.Remote, 42]),
                     "report": data}
        elif kind == E.Notification:
            event = {"event": kind, "type": rng.choice([0, 1, 2, 3, 42]), "arg0": rng.choice([0, 1, -1, 2**31]),
                     "arg1": rng.randint(0, 10)}
        else:
            event = {"event": kind, "vendor_code": rng.randint(0, 2**24), "command": rng.randint(0, 255),
                     "data": data}
        if kind != E.Notification:      # libosdp always fills a notification's type and arg0
            for key in rng.sample(sorted(event), rng.choice([0, 0, 0, 1])):
                if key != "event":
                    del event[key]
        return event

    def check(self, event):
        from hal.events import CardPresented
        from panel.access.cards import CardError, card_number
        self.seen.clear()
        self.reader._handle_event(dict(event))
        for e in self.seen:             # a card read goes on to the panel's card check
            if isinstance(e, CardPresented):
                with contextlib.suppress(CardError):
                    card_number(e.format, e.bits, e.data)


def crc16_osdp(data: bytes) -> bytes:
    """CRC-16/AUG-CCITT, as OSDP frames carry it (least significant byte first)."""
    crc = 0x1D0F
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc.to_bytes(2, "little")


def osdp_reply(seq: int, code: int, data: bytes, address: int = 0) -> bytes:
    body = bytes([0x53, address | 0x80]) + (len(data) + 8).to_bytes(2, "little") + bytes([0x04 | seq, code]) + data
    return body + crc16_osdp(body)


class _ReplyChannel:
    """libosdp's channel to a made-up PD: each packet the CP writes is answered at once with
    the next reply of the input, framed with the packet's sequence number and a good CRC
    (then mutated, for "mutated" replies; "raw" bytes go as they are)."""

    def __init__(self, replies):
        import osdp

        class Channel(osdp.Channel):
            def read(ch, n):
                data = bytes(self.inbox[:n])
                del self.inbox[:n]
                return data

            def write(ch, buf):
                self.written += 1
                if self.replies:
                    buf = bytes(buf)
                    i = buf.find(0x53)
                    seq = buf[i + 4] & 3 if 0 <= i < len(buf) - 4 else 0
                    kind, *rest = self.replies.pop(0)
                    if kind == "raw":
                        self.inbox += rest[0]
                    else:
                        frame = osdp_reply(seq, rest[0], rest[1])
                        self.inbox += mutate_bytes(random.Random(rest[2]), frame) if kind == "mutated" else frame
                return len(buf)

            def flush(ch):
                self.inbox.clear()

        self.inbox = bytearray()
        self.replies = list(replies)
        self.written = 0
        self.channel = Channel()


OSDP_ID = ("framed", 0x45, bytes.fromhex("bebafe0101afbeaddeaddead"))     # what libosdp's own PD answers
OSDP_CAP = ("framed", 0x46, bytes.fromhex("0201010301010401010501010801000901000a0001100200"))


class OsdpWire(OsdpEvents):
    """libosdp's control panel (hal.osdp.refresh.ControlPanel) reading made-up PD replies:
    after the PD's real ID and capabilities (usually), well-framed replies of every kind
    with random contents, mutated frames and raw garbage. What libosdp reports goes on
    through OsdpReader's event handling and the card decoding, as on the panel."""
    quick = 200

    def gen(self, rng):
        codes = [0x40, 0x41, 0x45, 0x46, 0x48, 0x49, 0x4A, 0x4B, 0x50, 0x51, 0x53, 0x54, 0x76, 0x78, 0x79,
                 0x7A, 0x90, 0xB1, rng.randrange(256)] + [0x50, 0x53, 0x48] * 4     # card, keys, tamper: often
        replies = [OSDP_ID, OSDP_CAP] if rng.random() < 0.7 else []
        for _ in range(rng.randint(1, 4)):
            code = rng.choice(codes)
            if code == 0x50 and rng.random() < 0.7:      # a card read: reader, format, bit count, bits
                bits = rng.choice([26, 0, 1, 8, 64, 65535, rng.randrange(65536)])
                data = bytes([rng.randrange(4), rng.randrange(3)]) + bits.to_bytes(2, "little") + \
                    rand_bytes(rng, rng.choice([(bits + 7) // 8 % 256, 0, 1, 4, rng.randint(0, 40)]))
            elif code == 0x53 and rng.random() < 0.7:    # key presses: reader, count, keys
                data = bytes([rng.randrange(4), rng.choice([0, 1, 4, 255])]) + rand_bytes(rng, rng.randint(0, 8))
            else:
                data = rand_bytes(rng, rng.choice([0, 1, 2, 5, 12, 24, rng.randint(0, 120)]))
            r = rng.random()
            if r < 0.6:
                replies.append(("framed", code, data))
            elif r < 0.9:
                replies.append(("mutated", code, data, rng.getrandbits(32)))
            else:
                replies.append(("raw", rand_bytes(rng, rng.randint(1, 40))))
        return replies

    def check(self, replies):
        import osdp

        from hal.events import CardPresented
        from hal.osdp.refresh import ControlPanel
        from panel.access.cards import CardError, card_number
        wire = _ReplyChannel(replies)
        events = []
        cp = ControlPanel([osdp.PDInfo(0, wire.channel, flags=[osdp.LibFlag.EnableNotification], name="fuzz")],
                          log_level=osdp.LogLevel.Emergency, event_handler=lambda pd, e: events.append(e))
        buzz = {"command": osdp.Command.Buzzer, "reader": 0, "control_code": 1, "on_count": 1, "off_count": 1,
                "rep_count": 1}
        for _ in range(60):
            cp.ctx.refresh()
            if not wire.replies and not wire.inbox:
                break
            if wire.written >= 2:
                cp.ctx.submit_command(0, buzz)       # online: a command, so the CP sends (and reads) at once
        cp.ctx.refresh()
        self.seen.clear()
        for event in events:
            self.reader._handle_event(dict(event))
        for e in self.seen:
            if isinstance(e, CardPresented):
                with contextlib.suppress(CardError):
                    card_number(e.format, e.bits, e.data)


class ImageDecode(Harness):
    def __init__(self):
        from hal.camera import decode_image
        self.decode_image = decode_image
        self.images = small_images()

    def gen(self, rng):
        r = rng.random()
        if r < 0.15:
            return rand_bytes(rng, rng.randint(0, 200))
        if r < 0.3:
            return rng.choice([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"BM", b"GIF89a", b"RIFF"]) + \
                rand_bytes(rng, rng.randint(0, 200))
        return mutate_bytes(rng, rng.choice(self.images))

    def check(self, data):
        frame = self.decode_image(data)
        if frame is not None and not (frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8):
            raise Crash(f"decode_image gave a {frame.shape} {frame.dtype} frame, not BGR")


class ImageScanner(Harness):
    quick = 60

    def __init__(self):
        from panel.scanner.decoders import CascadeDecoder, ZbarDecoder
        from panel.scanner.scanner import Scanner
        self.scanner = Scanner(CascadeDecoder(use_zbar=True), rescan_seconds=0)
        self.zbar = ZbarDecoder()
        from panel.access import qr_code
        buf = io.BytesIO()
        qr_code("EP1:" + "0" * 60).save(buf, kind="png", scale=3, border=2)
        self.qr = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE)

    def gen(self, rng):
        return {"h": rng.choice([1, 2, 7, 33, rng.randint(1, 240)]), "w": rng.choice([1, 3, 16, rng.randint(1, 320)]),
                "channels": rng.choice([1, 3, 4]), "fill": rng.choice(["noise", "flat", "stripes", "qr", "qr_noise"]),
                "seed": rng.getrandbits(32)}

    def frame(self, x):
        g = np.random.default_rng(x["seed"])
        h, w = max(1, int(x.get("h", 1))), max(1, int(x.get("w", 1)))
        fill = x.get("fill", "flat")
        if fill == "noise":
            gray = g.integers(0, 256, (h, w), dtype=np.uint8)
        elif fill == "stripes":
            gray = np.tile(((np.arange(w) // max(1, w // 8)) % 2 * 255).astype(np.uint8), (h, 1))
        elif fill.startswith("qr"):
            gray = cv2.resize(self.qr, (w, h), interpolation=cv2.INTER_NEAREST)
            if fill == "qr_noise":
                flips = g.random((h, w)) < 0.08
                gray = np.where(flips, 255 - gray, gray).astype(np.uint8)
        else:
            gray = np.full((h, w), int(g.integers(0, 256)), np.uint8)
        channels = x.get("channels", 1)
        if channels == 3:
            return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        if channels == 4:
            return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGRA)
        return gray

    def check(self, x):
        frame = self.frame(x)
        for texts in (self.scanner.process(frame), self.zbar.decode(frame if frame.ndim == 2 else frame[:, :, 0])):
            if not all(isinstance(t, str) for t in texts):
                raise Crash(f"decoder returned {texts!r}")


# name -> (harness class, share of --inputs)
TARGETS = {
    "credential.text": (CredentialText, 0.15),
    "credential.cose": (CredentialCose, 0.15),
    "credential.mutated": (CredentialMutated, 0.15),
    "api.body": (ApiBody, 0.10),
    "api.http": (ApiHttp, 0.005),
    "signaling.sync": (SignalingSync, 0.10),
    "signaling.call": (SignalingCall, 0.10),
    "serial.modbus": (SerialModbus, 0.001),
    "osdp.cards": (OsdpCards, 0.10),
    "osdp.events": (OsdpEvents, 0.019),
    "osdp.wire": (OsdpWire, 0.02),
    "image.decode": (ImageDecode, 0.09),
    "image.scanner": (ImageScanner, 0.01),
}


# -- running ---------------------------------------------------------------------------------
@dataclass
class Found:
    signature: str
    index: int
    count: int
    error: str
    input: object
    minimal: object = None


@dataclass
class Result:
    target: str
    inputs: int = 0
    crashed: int = 0
    seconds: float = 0.0
    found: dict[str, Found] = field(default_factory=dict)
    process_crash: str = ""

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds if self.seconds else 0.0


class _LoggedErrors(logging.Handler):
    """Exceptions the code caught in a catch-all and logged: a crash it survived."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        if record.exc_info:
            self.records.append(record)


def signature(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if "/panel/" in f.filename or "/hal/" in f.filename] or frames[-1:]
    where = f"{Path(own[-1].filename).relative_to(ROOT) if own[-1].filename.startswith(str(ROOT)) else own[-1].filename}" \
            f":{own[-1].lineno}" if own else "?"
    return f"{type(exc).__name__} at {where}"


def draw(name: str, seed: int, index: int, harness: Harness):
    return harness.gen(random.Random(f"{seed}:{name}:{index}"))


async def attempt(harness: Harness, x, hang: float, logged: _LoggedErrors) -> tuple[str, str] | None:
    """None if `x` was handled cleanly, else (signature, error)."""
    logged.records.clear()
    started = time.perf_counter()
    try:
        if harness.is_async:
            async with asyncio.timeout(hang):       # no task of its own: _Tasks sees only the handlers'
                await harness.check(x)
        else:
            harness.check(x)
    except (asyncio.TimeoutError, TimeoutError):
        return f"hang over {hang:g} s", f"no answer within {hang:g} s"
    except Exception as exc:        # noqa: BLE001 - every escape is what we count
        if isinstance(exc, Crash) and logged.records:
            return _logged(logged.records[0], f"{exc}; ")     # the cause the code logged says more
        return signature(exc), f"{type(exc).__name__}: {exc}"[:300]
    if time.perf_counter() - started > hang:
        return f"hang over {hang:g} s", f"took {time.perf_counter() - started:.1f} s"
    if logged.records:
        return _logged(logged.records[0])
    return None


def _logged(record: logging.LogRecord, before: str = "") -> tuple[str, str]:
    exc = record.exc_info[1]
    return "logged " + signature(exc), f"{before}logged {record.getMessage()!r}: {type(exc).__name__}: {exc}"[:400]


@contextlib.asynccontextmanager
async def harnessed(name: str):
    """The target's harness, started, and a handler catching what the code logs with a traceback."""
    harness = TARGETS[name][0]()
    harness.is_async = inspect.iscoroutinefunction(harness.check)
    logged = _LoggedErrors()
    root = logging.getLogger()
    root.addHandler(logged)
    level = root.level
    root.setLevel(min(level, logging.ERROR) or logging.ERROR)     # so log.exception() reaches `logged`
    try:
        await harness.start()
        try:
            yield harness, logged
        finally:
            await harness.stop()
    finally:
        root.removeHandler(logged)
        root.setLevel(level)


async def replay(name: str, x, hang: float = HANG_SECONDS) -> tuple[str, str] | None:
    """One given input of a target: None if handled cleanly, else (signature, error)."""
    async with harnessed(name) as (harness, logged):
        return await attempt(harness, x, hang, logged)


async def run_target(name: str, count: int, seed: int, *, hang: float = HANG_SECONDS, first: int = 0,
                     shrink_budget: int = 400) -> Result:
    result = Result(name)
    async with harnessed(name) as (harness, logged):
        started = time.perf_counter()
        for i in range(first, first + count):
            x = draw(name, seed, i, harness)
            bad = await attempt(harness, x, hang, logged)
            result.inputs += 1
            if bad:
                result.crashed += 1
                sig, error = bad
                if sig in result.found:
                    result.found[sig].count += 1
                else:
                    result.found[sig] = Found(sig, i, 1, error, x)
        result.seconds = time.perf_counter() - started
        for found in result.found.values():
            if found.signature.startswith("hang"):
                found.minimal = found.input
                continue
            found.minimal = await shrink_async(harness, found, hang, logged, shrink_budget)
    return result


async def shrink_async(harness, found: Found, hang: float, logged, budget: int):
    """A smaller input failing with the same signature: greedy steps from _smaller(),
    at most `budget` runs."""
    best = found.input
    tries = 0
    changed = True
    while changed and tries < budget:
        changed = False
        for candidate in _smaller(best):
            tries += 1
            if tries > budget:
                break
            try:
                bad = await attempt(harness, candidate, hang, logged)
            except Exception:       # noqa: BLE001
                bad = None
            if bad and bad[0] == found.signature:
                best, changed = candidate, True
                break
    return best


def _smaller(v):
    """Inputs one step smaller than v: chunks of bytes/text removed, items or keys dropped,
    and the same inside containers."""
    if isinstance(v, (bytes, str)):
        n = len(v)
        chunk = n // 2
        while chunk >= 1:
            for i in range(0, n, chunk):
                yield v[:i] + v[i + chunk:]
            chunk //= 2
        return
    if isinstance(v, dict):
        for k in v:
            if k != "type":
                yield {kk: vv for kk, vv in v.items() if kk != k}
        for k in v:
            for s in _smaller(v[k]):
                yield {**v, k: s}
        return
    if isinstance(v, (list, tuple)):
        kind = type(v)
        if kind is list:
            for i in range(len(v)):
                yield v[:i] + v[i + 1:]
        for i in range(len(v)):
            for s in _smaller(v[i]):
                yield kind(list(v[:i]) + [s] + list(v[i + 1:]))
        return
    if isinstance(v, int) and not isinstance(v, bool) and v not in (0, 1):
        yield 0
        yield 1


def shares(total: int, names: list[str]) -> dict[str, int]:
    weights = {n: TARGETS[n][1] for n in names}
    scale = sum(weights.values())
    out = {n: max(1, round(total * w / scale)) for n, w in weights.items()}
    out[max(out, key=out.get)] += total - sum(out.values())    # exactly `total` in all
    return out


def _short(value, limit: int = 400) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def result_json(r: Result) -> dict:
    return {"target": r.target, "inputs": r.inputs, "crashed": r.crashed, "seconds": r.seconds,
            "process_crash": r.process_crash,
            "found": [{"signature": f.signature, "index": f.index, "count": f.count, "error": f.error,
                       "minimal": _short(f.minimal)} for f in r.found.values()]}


def run_isolated(name: str, count: int, seed: int, hang: float) -> dict:
    """The target in its own process, so a segfault in a C library is a row, not the end."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--count", str(count),
           "--seed", str(seed), "--hang", str(hang)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode in (0, 1) and lines:
        return json.loads(lines[-1])
    tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit status {proc.returncode}"
    return {"target": name, "inputs": count, "crashed": 1, "seconds": time.perf_counter() - started,
            "process_crash": f"worker died ({how}): {tail}",
            "found": [{"signature": f"process crash ({how})", "index": -1, "count": 1, "error": tail,
                       "minimal": f"rerun: {' '.join(cmd[1:])}"}]}


def print_report(rows: list[dict], seed: int, seconds: float) -> None:
    from _bench_util import table
    body = [[r["target"], r["inputs"], r["crashed"], len(r["found"]),
             f"{r['inputs'] / r['seconds']:.0f}" if r["seconds"] else "-"] for r in rows]
    total = sum(r["inputs"] for r in rows)
    body.append(["**all**", total, sum(r["crashed"] for r in rows), sum(len(r["found"]) for r in rows),
                 f"{total / seconds:.0f}" if seconds else "-"])
    print(f"\nseed {seed}, {total} inputs in {seconds:.0f} s\n")
    print(table(["target", "inputs", "crashes", "distinct", "inputs/s"], body, right={1, 2, 3, 4}))
    for r in rows:
        for f in r["found"]:
            print(f"\n{r['target']}: {f['signature']} ({f['count']} inputs; first: --target {r['target']} "
                  f"--seed {seed} --index {f['index']})\n  {f['error']}\n  minimal input: {f['minimal']}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=1_000_000, help="inputs in all, shared across the targets")
    parser.add_argument("--quick", action="store_true", help="20 000 inputs in all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target", action="append", choices=sorted(TARGETS), help="only these (repeatable)")
    parser.add_argument("--index", type=int, help="replay this one input of --target, printing it and the outcome")
    parser.add_argument("--hang", type=float, default=HANG_SECONDS, help="seconds an input may take")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        import faulthandler
        faulthandler.enable()
        r = asyncio.run(run_target(args.worker, args.count, args.seed, hang=args.hang))
        print(json.dumps(result_json(r)))
        return 1 if r.crashed else 0
    names = args.target or list(TARGETS)
    if args.index is not None:
        (name,) = names
        harness = TARGETS[name][0]()
        print(f"{name} input {args.index} (seed {args.seed}): {_short(draw(name, args.seed, args.index, harness), 4000)}")
        r = asyncio.run(run_target(name, 1, args.seed, hang=args.hang, first=args.index))
        print_report([result_json(r)], args.seed, r.seconds)
        return 1 if r.crashed else 0
    total = 20_000 if args.quick else args.inputs
    print(f"fuzzing {total} inputs, seed {args.seed}", flush=True)
    started = time.perf_counter()
    rows = []
    for name, count in shares(total, names).items():
        rows.append(run_isolated(name, count, args.seed, args.hang))
        r = rows[-1]
        print(f"  {name}: {r['inputs']} inputs, {r['crashed']} crashes, {r['seconds']:.1f} s", flush=True)
    print_report(rows, args.seed, time.perf_counter() - started)
    return 1 if any(r["crashed"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
