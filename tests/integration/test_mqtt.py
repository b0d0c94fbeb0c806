"""[mqtt] against a real Mosquitto: Home Assistant discovery, the lock's open command,
the last will on kill -9, events queued while the broker is away."""

from __future__ import annotations

import asyncio
import json

import aiomqtt
import pytest

from panel.remote import PanelProcess
from tests.configs import with_simulated_parts
from tests.mosquitto import Mosquitto
from tests.support import TOKEN, make_config, start_panel, until

SECRET = "open-sesame-0123456789"
PREFIX = "entry-panel/main"

# What Home Assistant's MQTT docs require of each entity's discovery config (and what
# this panel's entities need to work: the lock's open, the event's types, the device).
REQUIRED = {
    "lock": {"command_topic", "payload_open", "state_topic"},
    "event": {"state_topic", "event_types", "device_class"},
    "binary_sensor": {"state_topic", "device_class"},
    "camera": {"topic"},
    "sensor": {"state_topic"},
}


@pytest.fixture
def broker(tmp_path):
    b = Mosquitto(tmp_path / "broker").start()
    yield b
    b.stop()


class Listener:
    """A subscriber collecting (topic, payload) from the broker."""

    def __init__(self, port: int, topics: list[str], identifier: str | None = None):
        self.port, self.topics, self.identifier = port, topics, identifier
        self.messages: list[tuple[str, bytes, bool]] = []
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def __aenter__(self):
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.subscribed.wait(), 10)
        return self

    async def _run(self):
        async with aiomqtt.Client("127.0.0.1", self.port, identifier=self.identifier,
                                  clean_session=False if self.identifier else None) as client:
            for t in self.topics:
                await client.subscribe(t, qos=1)
            self.subscribed.set()
            async for m in client.messages:
                self.messages.append((str(m.topic), bytes(m.payload), m.retain))

    async def __aexit__(self, *exc):
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def payloads(self, topic: str) -> list[bytes]:
        return [p for t, p, _ in self.messages if t == topic]


async def test_discovery_the_open_command_and_the_last_will(tmp_path, broker):
    config = tmp_path / "panel.toml"
    config.write_text(with_simulated_parts(
        f'[panel]\nstate_dir = "{tmp_path}/state"\n[api]\nport = 0\ntoken = "{TOKEN}"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nopen_payload = "{SECRET}"\n'))
    panel = await PanelProcess.run(config).astart()
    try:
        async with Listener(broker.port, ["homeassistant/#", f"{PREFIX}/#"]) as heard, panel.client() as api:
            await until(lambda: heard.payloads(f"{PREFIX}/availability")[-1:] == [b"online"], what="online")
            configs = {t.split("/")[1]: json.loads(p) for t, p, _ in heard.messages
                       if t.startswith("homeassistant/") and t.endswith("/config")}
            assert set(configs) == set(REQUIRED)
            for component, keys in REQUIRED.items():
                missing = keys - set(configs[component])
                assert not missing, f"{component} discovery lacks {missing}"
                assert configs[component]["availability_topic"] == f"{PREFIX}/availability"
                assert configs[component]["device"]["identifiers"]
            assert configs["event"]["device_class"] == "doorbell" and configs["event"]["event_types"] == ["ring"]
            lock = configs["lock"]
            # A wrong payload opens nothing; the lock's own open payload opens the door.
            async with aiomqtt.Client("127.0.0.1", broker.port) as ha:
                await ha.publish(lock["command_topic"], "OPEN", qos=1)
                await ha.publish(lock["command_topic"], lock["payload_open"], qos=1)
            entries = await until(lambda: _entries(api), what="the door opened by the MQTT command")
            assert [(e["method"], e["granted"]) for e in entries] == [("mqtt", True)]
            await until(lambda: b"UNLOCKED" in heard.payloads(lock["state_topic"]), what="the lock's state")
            await until(lambda: heard.payloads(f"{PREFIX}/last_access"), what="the last access sensor")
            await until(lambda: any(p[:2] == b"\xff\xd8" for p in heard.payloads(f"{PREFIX}/camera")),
                        what="a JPEG for the camera entity")
            await panel.akill()
            await until(lambda: heard.payloads(f"{PREFIX}/availability")[-1:] == [b"offline"],
                        what="the last will: offline")
    finally:
        await panel.astop()


async def _entries(api):
    return (await api.events())["events"]


async def test_events_queued_while_the_broker_is_away_arrive_after_it_is_back(tmp_path, broker):
    panel = await start_panel(make_config(tmp_path, mqtt={"host": "127.0.0.1", "port": broker.port}))
    try:
        # A subscriber with a session the broker keeps: it gets what was published while it was away.
        async with Listener(broker.port, [f"{PREFIX}/events/access"], identifier="recorder"):
            pass
        await until(lambda: panel.app.integrations.mqtt.connected, what="the panel connected")
        await asyncio.to_thread(broker.stop)
        await until(lambda: not panel.app.integrations.mqtt.connected, what="the panel to see the broker gone")
        for who in ("one", "two", "three"):
            await panel.open_door(who)
        status = await panel.until_status(lambda s: s["mqtt"]["queued"] >= 3)
        assert status["mqtt"]["connected"] is False
        await asyncio.to_thread(broker.start)
        async with Listener(broker.port, [f"{PREFIX}/events/access"], identifier="recorder") as heard:
            await until(lambda: len(heard.payloads(f"{PREFIX}/events/access")) >= 3, timeout=15,
                        what="the three queued access events")
            who = [json.loads(p)["who"] for p in heard.payloads(f"{PREFIX}/events/access")]
        assert who == ["one", "two", "three"]
        after = await panel.until_status(lambda s: s["mqtt"]["connected"] and s["mqtt"]["queued"] == 0)
        assert after["mqtt"]["lost"] == 0 and after["mqtt"]["last_error"] is None
    finally:
        await panel.client.close()
        await panel.stop()
