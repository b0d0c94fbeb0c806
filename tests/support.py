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
from panel.config import Config, load  # noqa: E402
from panel.remote import PanelClient  # noqa: E402

TOKEN = "test-token-0123456789abcdef"
LOOPBACK = ("127.0.0.1",)       # ICE addresses on one machine: the panel's config, and each softphone's own


def make_config(tmp_path, **sections) -> Config:
    """The demo's config (assets/config/demo.toml: simulated camera, audio and GPIO
    relay) with a private state folder, any free port and a known token; then overrides."""
    config = load(None).replace("panel", state_dir=str(tmp_path / "state")).replace("api", port=0, token=TOKEN)
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
    """An in-process panel and a PanelClient for its API (`panel.client`): the same client
    HIL tests and benchmarks drive a panel process with. Its API methods are the client's."""

    def __init__(self, app: App, task: asyncio.Task, client: PanelClient):
        self.app, self.task, self.client = app, task, client

    @property
    def session(self) -> aiohttp.ClientSession:
        return self.client.session

    @property
    def url(self) -> str:
        return self.client.url

    def request(self, method: str, path: str, token: str | None = TOKEN, **kwargs):
        """aiohttp's request context manager (status not checked), with `token`."""
        return self.client.request(method, path, token=token, **kwargs)

    def __getattr__(self, name):
        # get_json, post_json, status, events, ui, widget, press, touch, inject_frame, open_door...
        return getattr(self.client, name)

    async def stop(self) -> None:
        self.app.stop()
        await asyncio.wait_for(self.task, 10)


async def start_panel(config: Config, clock=None) -> RunningPanel:
    """clock: a hal.clock.Clock to give the panel (a VirtualClock: its wall time and what vouches for it)."""
    ready = asyncio.get_running_loop().create_future()
    app = App(config, on_ready=lambda info: ready.done() or ready.set_result(info), clock=clock)
    task = asyncio.create_task(app.run())
    done, _ = await asyncio.wait([ready, task], timeout=20, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()           # raises what went wrong at start-up
    assert ready in done, "panel did not come up"
    return RunningPanel(app, task, PanelClient(f"http://127.0.0.1:{app.api.port}/api/v1", config.api.token))


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
        await panel.client.close()
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
    call = {"ice_addresses": list(LOOPBACK), **sections.pop("call", {})}
    access = {"trusted_keys": cloud.issuer.trusted_keys(), **sections.pop("access", {})}
    config = make_config(tmp_path, cloud={"url": cloud.panel_url, "token": cloud.panel_token}, call=call,
                         access=access, **sections)
    running = await start_panel(config)
    running.cloud = cloud
    await until(lambda: running.app.state.cloud_online, what="cloud link up")
    return cloud, running


VP8 = {"mimeType": "video/VP8", "clockRate": 90000, "payloadType": 96}
OPUS = {"mimeType": "audio/opus", "clockRate": 48000, "channels": 2, "payloadType": 111}


async def first_encoders(pc) -> dict[str, object]:
    """The encoder each of pc's senders creates for its first frame, as aiortc's RTP loop
    would ask for it (`_next_encoded_frame`), by kind; no network needed."""
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters
    out = {}
    for sender in pc.getSenders():
        codec = RTCRtpCodecParameters(**(VP8 if sender.kind == "video" else OPUS))
        await sender._next_encoded_frame(codec)
        out[sender.kind] = sender._RTCRtpSender__encoder
    return out


def local_hosts(pc) -> set[str]:
    """The addresses of pc's gathered local candidates, every transport."""
    return {c.ip for t in pc.getTransceivers()
            for c in t.receiver.transport.transport.iceGatherer.getLocalCandidates()}


def assert_aiortc_and_aioice_unpatched() -> None:
    """aiortc's and aioice's module functions and classes are their own (nobody in this
    process replaced them)."""
    import aioice
    import aioice.ice
    from aiortc import codecs, rtcicetransport, rtcrtpsender, rtp
    assert rtcrtpsender.get_encoder is codecs.get_encoder
    assert rtp.compute_audio_level_dbov.__module__ == "aiortc.rtp"
    assert rtcrtpsender.RTCRtpSender._next_encoded_frame.__module__ == "aiortc.rtcrtpsender"
    assert aioice.ice.get_host_addresses.__module__ == "aioice.ice"
    assert rtcicetransport.Connection is aioice.Connection is aioice.ice.Connection
    for name in ("get_component_candidates", "add_remote_candidate", "request_received", "gather_candidates"):
        method = getattr(aioice.ice.Connection, name)
        assert (method.__module__, method.__qualname__) == ("aioice.ice", f"Connection.{name}"), name


async def stock_aiortc_peer() -> dict:
    """A stock aiortc RTCPeerConnection made here and now, sending video and audio, as any
    aiortc user would make one (but no STUN server: nothing leaves the machine). What
    it gathered (`hosts`), what aioice's own get_host_addresses says (`expected_hosts`),
    its senders' classes and first encoders."""
    from aioice.ice import get_host_addresses
    from aiortc import RTCConfiguration, RTCPeerConnection
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

    assert_aiortc_and_aioice_unpatched()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
        pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        return {"hosts": local_hosts(pc), "expected_hosts": set(get_host_addresses(use_ipv4=True, use_ipv6=True)),
                "senders": {type(s) for s in pc.getSenders()}, "encoders": await first_encoders(pc),
                "connections": {type(t.receiver.transport.transport.iceGatherer._connection)
                                for t in pc.getTransceivers()}}
    finally:
        await pc.close()


def assert_stock(peer: dict) -> None:
    """stock_aiortc_peer() found aiortc's own encoders, with aiortc's defaults, and
    aioice's own gathering."""
    import aioice
    from aiortc.codecs.opus import OpusEncoder
    from aiortc.codecs.vpx import DEFAULT_BITRATE, Vp8Encoder
    from aiortc.rtcrtpsender import RTCRtpSender
    assert peer["senders"] == {RTCRtpSender}
    video, audio = peer["encoders"]["video"], peer["encoders"]["audio"]
    assert type(video) is Vp8Encoder and video.target_bitrate == DEFAULT_BITRATE
    assert not hasattr(video, "max_bitrate")                       # no ceiling of ours
    assert type(audio) is OpusEncoder
    assert (audio.codec.bit_rate, audio.codec.layout.name) == (96000, "stereo")   # aiortc's, not mono 32 kbps
    assert peer["connections"] == {aioice.Connection}
    assert peer["hosts"] == peer["expected_hosts"]
    assert "127.0.0.1" not in peer["hosts"]                        # aioice leaves loopback out
