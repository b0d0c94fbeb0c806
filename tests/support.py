"""Test helpers: a running panel on 127.0.0.1 with a throwaway state folder, and waiting."""

from __future__ import annotations

import asyncio
import os
import threading
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import aiohttp  # noqa: E402

from hal.events import HardwareEvent  # noqa: E402
from panel.app import App  # noqa: E402
from panel.config import Config  # noqa: E402

TOKEN = "test-token-0123456789abcdef"


def make_config(tmp_path, **sections) -> Config:
    """Defaults with a private state folder, any free port and a known token; then overrides."""
    config = Config().replace("panel", state_dir=str(tmp_path / "state")).replace("api", port=0, token=TOKEN)
    for section, changes in sections.items():
        config = config.replace(section, **changes)
    return config


class Events:
    """An on_event(event) recorder for hal.events that tests wait on; notes when (the
    running loop's time, virtual under looptime) and on which thread each event came."""

    def __init__(self):
        self.log: list[tuple[float, HardwareEvent]] = []
        self.threads: set[int] = set()
        self._changed = asyncio.Event()

    def __call__(self, event: HardwareEvent):
        assert isinstance(event, HardwareEvent), f"not a hal.events event: {event!r}"
        self.threads.add(threading.get_ident())
        try:
            now = asyncio.get_running_loop().time()
        except RuntimeError:
            now = time.monotonic()
        self.log.append((now, event))
        self._changed.set()
        self._changed = asyncio.Event()

    @property
    def events(self) -> list[HardwareEvent]:
        return [e for _, e in self.log]

    @property
    def kinds(self) -> list[type]:
        """The classes of the events in order, e.g. [StrikeRelocked, StrikeReleased, StrikeRelocked]."""
        return [type(e) for _, e in self.log]

    def of(self, kind: type = HardwareEvent) -> list:
        return [e for _, e in self.log if isinstance(e, kind)]

    def times(self, kind: type = HardwareEvent) -> list[float]:
        return [t for t, e in self.log if isinstance(e, kind)]

    async def wait(self, kind: type = HardwareEvent, count: int = 1, timeout: float = 5.0):
        async with asyncio.timeout(timeout):
            while len(self.of(kind)) < count:
                await self._changed.wait()


class RunningPanel:
    def __init__(self, app: App, task: asyncio.Task, session: aiohttp.ClientSession):
        self.app, self.task, self.session = app, task, session

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.app.api.port}/api/v1"

    def request(self, method: str, path: str, token: str | None = TOKEN, **kwargs):
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.session.request(method, self.url + path, headers=headers, **kwargs)

    async def get_json(self, path: str) -> dict:
        async with self.request("GET", path) as r:
            assert r.status == 200, await r.text()
            return await r.json()

    async def post_json(self, path: str, body) -> dict:
        async with self.request("POST", path, json=body) as r:
            assert r.status == 200, await r.text()
            return await r.json()

    async def widget(self, label: str) -> dict:
        ui = await self.get_json("/ui")
        matches = [w for w in ui["widgets"] if w["label"] == label]
        assert matches, f"no widget labelled {label!r} on {ui['screen']}: {[w['label'] for w in ui['widgets']]}"
        return matches[0]

    async def press(self, label: str) -> dict:
        """Tap the middle of the widget with this label, as a finger would."""
        x, y, w, h = (await self.widget(label))["rect"]
        return await self.post_json("/touch", {"x": x + w / 2, "y": y + h / 2})

    async def stop(self) -> None:
        self.app.stop()
        await asyncio.wait_for(self.task, 10)


async def start_panel(config: Config) -> RunningPanel:
    ready = asyncio.get_running_loop().create_future()
    app = App(config, on_ready=lambda info: ready.done() or ready.set_result(info))
    task = asyncio.create_task(app.run())
    done, _ = await asyncio.wait([ready, task], timeout=20, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()           # raises what went wrong at start-up
    assert ready in done, "panel did not come up"
    return RunningPanel(app, task, aiohttp.ClientSession())


async def until(condition, timeout: float = 5.0, what: str = "condition", step: float = 0.02):
    """Wait until condition() (sync or async) is truthy and return it; fail after timeout.

    A condition wait, not a sleep: it returns as soon as the thing has happened.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(step)


async def within(seconds: float, what: str, coro) -> None:
    """Await coro; if it takes longer than `seconds`, fail naming every task still
    pending and where it waits, instead of hanging until the test's timeout."""
    try:
        async with asyncio.timeout(seconds):
            await coro
    except TimeoutError:
        import io
        out = io.StringIO()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.print_stack(limit=4, file=out)
        raise AssertionError(f"{what} took over {seconds:g} s; pending tasks:\n{out.getvalue()}") from None


async def stop_world(cloud, panel, phones=()) -> None:
    """Tear down what start_cloud_and_panel made (and the softphones), bounded in time."""
    async def stop():
        for p in phones:
            await p.close()
        await panel.session.close()
        if not panel.task.done():
            await panel.stop()
        await cloud.stop()
    await within(30, "stopping the phones, the panel and the dev cloud", stop())


async def start_cloud_and_panel(tmp_path, **sections):
    """The dev cloud and a panel linked to it, ICE restricted to 127.0.0.1; link up."""
    from panel.config import Config
    from panel.sim.cloud import DevCloud

    cloud = DevCloud(Config().property_file, panel_token="panel-token-for-tests")
    await cloud.start()
    call = {"ice_addresses": ["127.0.0.1"], **sections.pop("call", {})}
    access = {"trusted_keys": cloud.issuer.trusted_keys(), **sections.pop("access", {})}
    config = make_config(tmp_path, cloud={"url": cloud.panel_url, "token": cloud.panel_token}, call=call,
                         access=access, **sections)
    running = await start_panel(config)
    running.cloud = cloud
    await until(lambda: running.app.state.cloud_online, what="cloud link up")
    return cloud, running
