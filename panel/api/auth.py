"""Who may use the local API: bearer tokens with scopes, and back-off for a client that keeps guessing.

Two scopes: `api.token` may do everything (control: door, touch, camera frames);
`api.read_token`, when set, may only read (GET: status, events, snapshots, screen, ui).
After MAX_FAILURES wrong tokens in a row (a request with no token is no guess) from one address, that address is refused
(429, Retry-After) for FIRST_BLOCK seconds, doubling with each further failure up to
LONGEST_BLOCK; the log says so once per block, not once per guess. The addresses
remembered are bounded (MAX_ADDRESSES, the least recent forgotten first).
"""

from __future__ import annotations

import hmac
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from .errors import ApiError

log = logging.getLogger(__name__)

READ, CONTROL = "read", "control"
MAX_FAILURES = 10
FIRST_BLOCK = 1.0
LONGEST_BLOCK = 300.0
MAX_ADDRESSES = 1024


class Auth:
    def __init__(self, token: str, read_token: str = "", clock: Callable[[], float] = time.monotonic):
        self._tokens = [(f"Bearer {token}".encode(), CONTROL)]
        if read_token:
            self._tokens.append((f"Bearer {read_token}".encode(), READ))
        self.clock = clock
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()   # address -> (failures, blocked until)

    def check(self, address: str, authorization: str, control: bool) -> None:
        """Raise ApiError (401, 403 or 429) unless this header may do this from this address."""
        now = self.clock()
        failures, until = self._failures.get(address, (0, 0.0))
        if until > now:
            wait = math.ceil(until - now)
            raise ApiError(429, f"too many wrong tokens from {address}; try again in {wait} s",
                           {"Retry-After": str(wait)})
        given = authorization.encode()
        # Every token compared, in constant time each: the answer's timing names none of them.
        scopes = [scope for expected, scope in self._tokens if hmac.compare_digest(given, expected)]
        if not scopes:
            if authorization:
                self._failed(address, failures + 1, now)
            raise ApiError(401, "missing or wrong bearer token (Authorization: Bearer <token>)",
                           {"WWW-Authenticate": 'Bearer realm="entry-panel"'})
        self._failures.pop(address, None)
        if control and scopes[0] != CONTROL:
            raise ApiError(403, "this token may only read (api.read_token); changing anything needs api.token")

    def _failed(self, address: str, failures: int, now: float) -> None:
        until = 0.0
        if failures >= MAX_FAILURES:
            seconds = min(LONGEST_BLOCK, FIRST_BLOCK * 2 ** (failures - MAX_FAILURES))
            until = now + seconds
            log.warning("local API: %d wrong tokens in a row from %s; refusing it for %g s", failures, address, seconds)
        self._failures[address] = (failures, until)
        self._failures.move_to_end(address)
        while len(self._failures) > MAX_ADDRESSES:
            self._failures.popitem(last=False)
