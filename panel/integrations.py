"""What integrators connect to: the events feed (GET events/stream reads it), and
[[webhooks]] and [mqtt], which it feeds."""

from __future__ import annotations

from .events_feed import EventsFeed
from .mqtt import MqttBridge
from .webhooks import Webhooks


class Integrations:
    def __init__(self, app):
        cfg = app.config
        self.feed = EventsFeed(lambda: app.shell.state)     # the shell's changes and the log's new entries
        app.shell.watch(self.feed.on_state)
        # Built before the access log runs: the store must know which entries webhooks want.
        self.webhooks = Webhooks(cfg.webhooks, app.store, self.feed, app.clock, cfg.panel.door_id)
        self.mqtt = MqttBridge(cfg, app.store, self.feed, lambda: app.camera and app.camera.latest,
                               app.dispatch) if cfg.mqtt.host else None

    def loops(self) -> dict:
        return {"webhooks": self.webhooks.run, **({"mqtt": self.mqtt.run} if self.mqtt else {})}

    def status(self) -> dict:
        """GET status: each webhook (state ok | retrying, queued, lost, last_error); the MQTT link."""
        return {"webhooks": self.webhooks.status(), "mqtt": self.mqtt.status() if self.mqtt else None}
