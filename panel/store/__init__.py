"""SQLite store: access log, outbox, directory cache, revocations."""

from .db import AccessEvent, OutboxItem, Retention, Store, StoreError, StoreUnavailable

__all__ = ["AccessEvent", "OutboxItem", "Retention", "Store", "StoreError", "StoreUnavailable"]
