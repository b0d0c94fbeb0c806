"""SQLite store: access log, outbox, directory cache, revocations."""

from .db import AccessEvent, OutboxItem, Store, StoreError

__all__ = ["AccessEvent", "OutboxItem", "Store", "StoreError"]
