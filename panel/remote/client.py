"""The panel's local HTTP API (/api/v1, docs in DESIGN.md), as integrators and HIL rigs use it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp


class ApiError(Exception):
    """The API answered with an error status: `status`, `body` (its text), what was asked."""

    def __init__(self, method: str, path: str, status: int, body: str):
        super().__init__(f"{method} {path}: HTTP {status}: {body[:500]}")
        self.method, self.path, self.status, self.body = method, path, status, body


_DEFAULT = object()


class PanelClient:
    """`async with PanelClient(url, token) as panel: await panel.press("Directory")`.

    `url` is the API root as the panel prints it (`http://127.0.0.1:8780/api/v1`).
    Every call raises ApiError for a non-2xx answer, with its status and body.
    An https URL needs `fingerprint`, the SHA-256 the panel prints for its self-signed
    certificate ("AB:CD:..."): the connection is refused unless the certificate matches.
    """

    def __init__(self, url: str, token: str | None, *, timeout: float = 30.0, fingerprint: str | None = None):
        self.url, self.token = url.rstrip("/"), token
        ssl = None
        if fingerprint:
            ssl = aiohttp.Fingerprint(bytes.fromhex(fingerprint.replace(":", "")))
        elif self.url.startswith("https:"):
            raise ValueError("an https panel URL needs the certificate fingerprint the panel prints (fingerprint=...)")
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout),
                                             connector=aiohttp.TCPConnector(ssl=ssl) if ssl else None)

    async def __aenter__(self) -> PanelClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        await self.session.close()

    # -- raw ------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, token=_DEFAULT, **kwargs):
        """aiohttp's request context manager for `path` under the API root, with the bearer
        token (another with `token=...`, none with `token=None`). Does not check the status."""
        token = self.token if token is _DEFAULT else token
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.session.request(method, self.url + path, headers=headers, **kwargs)

    async def _call(self, method: str, path: str, *, want: str = "json", **kwargs):
        async with self.request(method, path, **kwargs) as r:
            if not 200 <= r.status < 300:
                raise ApiError(method, path, r.status, await r.text())
            return await r.json() if want == "json" else await r.read()

    async def get_json(self, path: str) -> dict:
        return await self._call("GET", path)

    async def post_json(self, path: str, body: dict | None = None) -> dict:
        return await self._call("POST", path, json=body if body is not None else {})

    # -- the API --------------------------------------------------------------------------
    async def status(self) -> dict:
        return await self.get_json("/status")

    async def screen(self) -> str:
        """The name of the screen shown now (status' "screen")."""
        return (await self.status())["screen"]

    async def events(self, after: int = 0, limit: int | None = None) -> dict:
        """The access log after event id `after`, oldest first: {"events": [...], "last_id": N}."""
        query = f"?after={after}" + (f"&limit={limit}" if limit is not None else "")
        return await self.get_json("/events" + query)

    async def snapshot(self, event_id: int) -> bytes:
        return await self._call("GET", f"/events/{event_id}/snapshot.jpg", want="bytes")

    async def screen_png(self) -> bytes:
        return await self._call("GET", "/screen.png", want="bytes")

    async def ui(self) -> dict:
        """The visible widgets: {"screen", "size", "widgets": [{id, role, label, rect}, ...]}."""
        return await self.get_json("/ui")

    async def widget(self, label: str) -> dict:
        """The first visible widget with exactly this label; LookupError naming what is there."""
        ui = await self.ui()
        for w in ui["widgets"]:
            if w["label"] == label:
                return w
        raise LookupError(f"no widget labelled {label!r} on {ui['screen']}: {[w['label'] for w in ui['widgets']]}")

    async def center(self, label: str) -> tuple[float, float]:
        x, y, w, h = (await self.widget(label))["rect"]
        return x + w / 2, y + h / 2

    async def touch(self, x: float, y: float, to: tuple[float, float] | None = None) -> dict:
        """A tap at (x, y), or a swipe lifted at `to`: {"hit": widget or None, "screen": ...}."""
        body = {"x": x, "y": y}
        if to is not None:
            body["to"] = {"x": to[0], "y": to[1]}
        return await self.post_json("/touch", body)

    async def press(self, label: str) -> dict:
        """Tap the middle of the widget with this label, as a finger would."""
        return await self.touch(*await self.center(label))

    async def inject_frame(self, image: bytes) -> dict:
        """Show the simulated camera an image (PNG, JPEG, ... bytes)."""
        kind = "image/jpeg" if image[:2] == b"\xff\xd8" else "image/png"
        return await self._call("POST", "/camera/frame", data=image, headers={"Content-Type": kind})

    async def open_door(self, who: str = "") -> dict:
        return await self.post_json("/door/open", {"who": who} if who else {})

    # -- waiting --------------------------------------------------------------------------
    async def until_status(self, condition: Callable[[dict], object], *, timeout: float = 10.0,
                           what: str = "the panel's status", step: float = 0.05) -> dict:
        """Poll status until condition(status) is truthy and return that status; after
        `timeout` raise TimeoutError naming `what` and the last status seen."""
        end = time.monotonic() + timeout
        while True:
            s = await self.status()
            if condition(s):
                return s
            if time.monotonic() > end:
                raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}; last status: {s}")
            await asyncio.sleep(step)

    async def until_screen(self, screen: str, timeout: float = 10.0) -> dict:
        return await self.until_status(lambda s: s["screen"] == screen, timeout=timeout,
                                       what=f"screen {screen!r}")
