"""Request bodies of the local API (panel/api/server.py), in process and over 127.0.0.1."""

from __future__ import annotations

import asyncio
import json

from .harness import Crash, Harness
from .images import small_images
from .inputs import mutate_bytes, mutate_json, rand_bytes, rand_json


class FakePanel:
    """What api.server needs, with the facade's own refusals (Rejected, TooLarge) and its
    decoder with the configured pixel limit."""

    def __init__(self):
        from hal.camera import ImageTooLarge, decode_image
        from panel.api.server import Rejected, TooLarge
        from panel.config import ApiSection
        self.decode_image, self.ImageTooLarge, self.Rejected, self.TooLarge = decode_image, ImageTooLarge, Rejected, TooLarge
        self.max_pixels = ApiSection().max_frame_pixels

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
        try:
            frame = self.decode_image(data, self.max_pixels)
        except self.ImageTooLarge as e:
            raise self.TooLarge(str(e)) from None
        if frame is None:
            raise self.Rejected("not an image")
        return {"accepted": True, "width": int(frame.shape[1]), "height": int(frame.shape[0])}

    def open_door(self, who):
        return {"opening": True, "seconds": 3.0, "screen": "home"}


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
        from panel.api.auth import Auth
        from panel.api.server import make_app
        from panel.config import ApiSection
        self.app = make_app(FakePanel(), Auth("tok"), ApiSection())
        self.app.freeze()

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
        from panel.config import ApiSection
        self.server = ApiServer(FakePanel(), ApiSection(port=0, tls="off"), "tok",
                                state_dir=None)     # where a TLS certificate would go; plain HTTP here
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
