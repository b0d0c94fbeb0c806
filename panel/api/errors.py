"""What the API answers when it says no: the panel side's Rejected (and its kinds), and
ApiError, an HTTP status with a one-line reason. Kept apart so every API module can raise them."""

from __future__ import annotations


class Rejected(Exception):
    """The panel refuses what the caller asked for, saying why (the API answers 400).

    The panel side raises this, never an HTTP error: HTTP stays in panel/api."""


class TooLarge(Rejected):
    """What was sent is over a configured limit (the API answers 413)."""


class Busy(Rejected):
    """The panel has as much of this work in hand as it takes; try again shortly (503)."""


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.headers = status, headers or {}
