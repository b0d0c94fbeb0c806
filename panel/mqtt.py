"""[mqtt]: the panel's states and events on an MQTT broker, and Home Assistant discovery.

Topics under the prefix (default "entry-panel/<door_id>"):
    availability     online / offline: retained; "offline" is the last will, so the
                     broker says it when the panel dies (kill -9, power, network)
    door/lock        LOCKED / UNLOCKED (the strike), retained
    door/contact     ON (open) / OFF (closed), retained
    call             idle / calling / ringing / answered, retained
    link             up / down (the cloud link), retained
    last_access      the newest access-log entry (JSON), retained
    camera           a JPEG: the snapshot of each log entry, and the live frame every
                     camera_interval_seconds, retained
    doorbell         {"event_type": "ring", ...} when a visitor calls (HA event entity)
    events/<kind>    every event as JSON: access, alarm (log entries), call, door, link
    door/set         commands: the payload [mqtt] open_payload opens the door; anything
                     else is refused and logged. No open_payload: not subscribed.

Everything is published with QoS 1 (the broker acknowledges it). While the broker is
away, events wait in a bounded queue (queue_messages; the oldest go beyond it) and
are sent in order once it is back; states are sent again, as they are then, on every
connection. Discovery configs go to <discovery_prefix>/<component>/<node>/<object>/config,
retained, on every connection: a lock with open, an event (doorbell, "ring"), a
binary_sensor (door), a camera and a sensor (last access), one device.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import ssl
from collections import deque
from collections.abc import Callable

import aiomqtt
import cv2

from . import __version__
from .config import Config
from .core import events as ev
from .events_feed import EventsFeed, Logged, call_state
from .store import Store

log = logging.getLogger("panel")

RECONNECT_SECONDS = (0.5, 30.0)          # first and longest wait between connection attempts


class MqttBridge:
    def __init__(self, config: Config, store: Store, feed: EventsFeed, latest_frame: Callable[[], object],
                 dispatch: Callable[[object], object]):
        m = config.mqtt
        self.config, self.m = config, m
        self.store, self.feed, self.latest_frame, self.dispatch = store, feed, latest_frame, dispatch
        self.door_id = config.panel.door_id
        self.prefix = m.topic_prefix or f"entry-panel/{self.door_id}"
        self.node = "".join(c if c.isalnum() else "_" for c in f"entry_panel_{self.door_id}")
        self.queue: deque = deque()
        self.lost = 0
        self.connected = False
        self.last_error = ""
        self._wake = asyncio.Event()
        feed.listen(self._on_item)

    def status(self) -> dict:
        return {"broker": f"{self.m.host}:{self.m.port}", "connected": self.connected, "queued": len(self.queue),
                "lost": self.lost, "last_error": self.last_error or None}

    # -- what is published ---------------------------------------------------------------
    def _states(self) -> dict[str, str]:
        s = self.feed.state()
        return {"door/lock": "UNLOCKED" if s.door_released else "LOCKED",
                "door/contact": "unknown" if s.door_open is None else ("ON" if s.door_open else "OFF"),
                "call": call_state(s) or "idle", "link": "up" if s.cloud_online else "down"}

    def _on_item(self, item) -> None:
        if isinstance(item, Logged):
            self._put(("log", item.id))
            return
        self._put((f"events/{item['kind']}", json.dumps(item), False))
        if item["kind"] == "call" and item["state"] == "calling":
            self._put(("doorbell", json.dumps({"event_type": "ring", "resident": item["resident"]}), False))
        for topic, value in self._states().items():      # the retained state follows the event
            self._put((topic, value, True))

    def _put(self, message) -> None:
        if len(self.queue) >= self.m.queue_messages:
            self.queue.popleft()
            self.lost += 1
            if self.lost == 1 or self.lost % 100 == 0:
                log.warning("mqtt: the broker is away and %d messages wait; %d lost so far", len(self.queue),
                            self.lost)
        self.queue.append(message)
        self._wake.set()

    def discovery(self) -> dict[str, dict]:
        """Home Assistant discovery topic -> config (the keys its MQTT docs require, and more)."""
        p, node = self.prefix, self.node
        device = {"identifiers": [node], "name": f"{self.config.panel.name} entry panel ({self.door_id})",
                  "manufacturer": "entry-panel", "model": "entry panel", "sw_version": __version__}
        common = {"availability_topic": f"{p}/availability", "payload_available": "online",
                  "payload_not_available": "offline", "device": device}
        door = {"name": "Door", "unique_id": f"{node}_door", "state_topic": f"{p}/door/lock",
                "state_locked": "LOCKED", "state_unlocked": "UNLOCKED", "qos": 1}
        if self.m.open_payload:
            door |= {"command_topic": f"{p}/door/set", "payload_open": self.m.open_payload,
                     "payload_lock": "LOCK", "payload_unlock": self.m.open_payload}
        else:
            door |= {"command_topic": f"{p}/door/set", "optimistic": False}
        configs = {
            "lock/door": door,
            "event/doorbell": {"name": "Doorbell", "unique_id": f"{node}_doorbell", "state_topic": f"{p}/doorbell",
                               "device_class": "doorbell", "event_types": ["ring"]},
            "binary_sensor/contact": {"name": "Door contact", "unique_id": f"{node}_contact",
                                      "state_topic": f"{p}/door/contact", "device_class": "door",
                                      "payload_on": "ON", "payload_off": "OFF"},
            "camera/camera": {"name": "Camera", "unique_id": f"{node}_camera", "topic": f"{p}/camera"},
            "sensor/last_access": {"name": "Last access", "unique_id": f"{node}_last_access",
                                   "state_topic": f"{p}/last_access", "json_attributes_topic": f"{p}/last_access",
                                   "value_template": "{{ value_json.summary }}"},
        }
        return {f"{self.m.discovery_prefix}/{what.split('/')[0]}/{node}/{what.split('/')[1]}/config": {**c, **common}
                for what, c in configs.items()}

    # -- the connection --------------------------------------------------------------------
    async def run(self) -> None:
        delay = RECONNECT_SECONDS[0]
        while True:
            try:
                async with self._client() as client:
                    self.connected, self.last_error, delay = True, "", RECONNECT_SECONDS[0]
                    log.info("mqtt: connected to %s:%d", self.m.host, self.m.port)
                    await self._announce(client)
                    async with asyncio.TaskGroup() as tg:
                        tg.create_task(self._send(client))
                        if self.m.open_payload:
                            tg.create_task(self._commands(client))
            except* aiomqtt.MqttError as group:
                problem = str(group.exceptions[0])
                if self.connected or problem != self.last_error:
                    log.warning("mqtt: %s:%d: %s; retrying (%d events wait)", self.m.host, self.m.port, problem,
                                len(self.queue))
                self.connected, self.last_error = False, problem
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_SECONDS[1])

    def _client(self) -> aiomqtt.Client:
        m = self.m
        tls = None
        if m.tls:
            tls = ssl.create_default_context(cafile=self.config.path(m.ca_file) if m.ca_file else None)
        return aiomqtt.Client(m.host, m.port, username=m.username or None, password=m.password or None,
                              identifier=self.node, tls_context=tls, keepalive=15, timeout=10,
                              will=aiomqtt.Will(f"{self.prefix}/availability", "offline", qos=1, retain=True))

    async def _announce(self, client: aiomqtt.Client) -> None:
        if self.m.discovery:
            for topic, config in self.discovery().items():
                await client.publish(topic, json.dumps(config), qos=1, retain=True)
        for topic, value in self._states().items():
            await client.publish(f"{self.prefix}/{topic}", value, qos=1, retain=True)
        await client.publish(f"{self.prefix}/availability", "online", qos=1, retain=True)

    async def _send(self, client: aiomqtt.Client) -> None:
        """The queue, in order; a message leaves it once the broker acknowledged it."""
        last_picture = asyncio.get_running_loop().time()
        while True:
            while self.queue:
                message = self.queue[0]
                for topic, payload, retain in await self._expand(message):
                    await client.publish(f"{self.prefix}/{topic}", payload, qos=1, retain=retain)
                if self.queue and self.queue[0] is message:
                    self.queue.popleft()
            interval = self.m.camera_interval_seconds
            self._wake.clear()
            try:
                async with asyncio.timeout(interval or None):
                    await self._wake.wait()
            except TimeoutError:
                pass
            now = asyncio.get_running_loop().time()
            if interval and now - last_picture >= interval:
                last_picture = now
                frame = self.latest_frame()
                if frame is not None:
                    ok, jpeg = await asyncio.to_thread(cv2.imencode, ".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 75])
                    if ok:
                        await client.publish(f"{self.prefix}/camera", jpeg.tobytes(), qos=1, retain=True)

    async def _expand(self, message) -> list[tuple[str, object, bool]]:
        """A log entry (read from the store now) becomes its event, last_access and camera picture."""
        if message[0] != "log":
            return [message]
        entries = await asyncio.to_thread(self.store.events, message[1] - 1, 1)
        if not entries or entries[0].id != message[1]:
            return []                                       # pruned meanwhile
        entry = entries[0].to_json()
        out = [(f"events/{entry['kind']}", json.dumps(entry), False)]
        if entry["kind"] == "access":
            verdict = "granted" if entry["granted"] else f"refused ({entry['reason']})"
            summary = f"{entry['who'] or entry['method']}: {verdict}"
            out.append(("last_access", json.dumps({**entry, "summary": summary}), True))
        if entry["has_snapshot"]:
            snapshot = await asyncio.to_thread(self.store.snapshot, entry["id"])
            if snapshot:
                out.append(("camera", snapshot, True))
        return out

    async def _commands(self, client: aiomqtt.Client) -> None:
        topic = f"{self.prefix}/door/set"
        await client.subscribe(topic, qos=1)
        async for message in client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
            if hmac.compare_digest(payload, self.m.open_payload.encode()):
                log.info("mqtt: door open command on %s", topic)
                self.dispatch(ev.DoorOpenRequested("mqtt", "home automation"))
            else:
                log.warning("mqtt: refused a command on %s: the payload is not the configured open_payload "
                            "(LOCK is not a command: the strike relocks by itself)", topic)
