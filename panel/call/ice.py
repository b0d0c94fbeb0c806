"""ICE settings aiortc does not expose: which addresses a call may use.

aiortc creates its aioice connections itself, so there is no per-connection hook
for the two things a restricted panel needs:

- local candidates only on the given addresses. aioice gathers every interface
  except loopback, so on a single machine (tests, the emulator) it offers no usable
  candidate at all, and on a panel with several networks it may offer the wrong one;
- remote candidates and incoming connectivity checks only from the given addresses.
  Chromium sends checks from its LAN address too; answering them would send traffic
  to an address the panel was told not to use.

`restrict(addresses)` installs both rules process-wide (a panel runs one set of
calls); `restrict([])` lifts them. Configured by `[call] ice_addresses`.
"""

from __future__ import annotations

import logging

from aioice import ice

log = logging.getLogger(__name__)

_original_get_host_addresses = ice.get_host_addresses
_original_add_remote_candidate = ice.Connection.add_remote_candidate
_original_request_received = ice.Connection.request_received
_allowed: frozenset[str] = frozenset()


def restrict(addresses: list[str] | tuple[str, ...]) -> None:
    global _allowed
    _allowed = frozenset(addresses)
    if _allowed:
        ice.get_host_addresses = _restricted_host_addresses
        ice.Connection.add_remote_candidate = _filtered_add_remote_candidate
        ice.Connection.request_received = _filtered_request_received
    else:
        ice.get_host_addresses = _original_get_host_addresses
        ice.Connection.add_remote_candidate = _original_add_remote_candidate
        ice.Connection.request_received = _original_request_received


def allowed() -> frozenset[str]:
    return _allowed


def _restricted_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return [a for a in sorted(_allowed) if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]


async def _filtered_add_remote_candidate(self, candidate) -> None:
    # None is end-of-candidates; an mDNS name or another address is dropped unresolved.
    if candidate is not None and candidate.host not in _allowed:
        log.debug("ICE: ignoring remote candidate %s (not in ice_addresses)", candidate.host)
        return
    await _original_add_remote_candidate(self, candidate)


def _filtered_request_received(self, message, addr, protocol) -> None:
    if addr[0] not in _allowed:
        return          # no answer at all: the check came from an address we must not use
    _original_request_received(self, message, addr, protocol)
