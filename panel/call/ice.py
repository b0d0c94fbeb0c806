"""ICE settings aiortc does not expose: which addresses one peer connection may use.

A restricted connection needs two things aiortc has no option for:

- local candidates only on the given addresses. aioice gathers every interface
  except loopback, so on a single machine (tests, the emulator) it offers no usable
  candidate at all, and on a panel with several networks it may offer the wrong one;
- remote candidates and incoming connectivity checks only from the given addresses.
  Chromium sends checks from its LAN address too; answering them would send traffic
  to an address the panel was told not to use.

The seam: each aiortc `RTCIceGatherer` holds the aioice `Connection` it gathers with
(`gatherer._connection`, shared with its `RTCIceTransport`). `restrict(gatherer,
addresses)` turns that one object into a `RestrictedConnection`, a subclass that
overrides three public aioice methods and adds no state but its address set:

- `get_component_candidates(component, addresses)`: aioice's `gather_candidates`
  passes it the interfaces' addresses; we bind the given ones instead;
- `add_remote_candidate`: candidates from other addresses are dropped (mDNS names
  too, unresolved); end-of-candidates passes;
- `request_received`: a check from another address gets no answer at all.

Nothing else in the process changes: aioice's module functions and its `Connection`
class stay as they are, so any other RTCPeerConnection in the process (the Python
softphone in tests, a stock aiortc peer) gathers and answers as aiortc does. aiortc
constructs the `Connection` inside `RTCIceGatherer.__init__`, with no factory to
pass, which is why the object's class is changed rather than a subclass constructed;
`panel/call/peer.py` calls `restrict` on every gatherer a peer connection creates,
before anything is gathered. Configured by `[call] ice_addresses`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aioice import Connection, TransportPolicy

log = logging.getLogger(__name__)


class RestrictedConnection(Connection):
    """aioice's Connection, using and answering only `allowed` addresses. Not constructed:
    `restrict` re-classes the connection aiortc made."""

    allowed: frozenset[str] = frozenset()

    async def get_component_candidates(self, component: int, addresses: list[str], timeout: int = 5):
        # aioice passes no addresses with the relay policy; keep that (no host candidates).
        if self._transport_policy == TransportPolicy.ALL:
            addresses = [a for a in sorted(self.allowed)
                         if (":" in a and self._use_ipv6) or (":" not in a and self._use_ipv4)]
        return await super().get_component_candidates(component, addresses, timeout)

    async def add_remote_candidate(self, remote_candidate) -> None:
        # None is end-of-candidates; an mDNS name or another address is dropped unresolved.
        if remote_candidate is not None and remote_candidate.host not in self.allowed:
            log.debug("ICE: ignoring remote candidate %s (not in ice_addresses)", remote_candidate.host)
            return
        await super().add_remote_candidate(remote_candidate)

    def request_received(self, message, addr, protocol) -> None:
        if addr[0] not in self.allowed:
            return          # no answer at all: the check came from an address we must not use
        super().request_received(message, addr, protocol)


def restrict(gatherer, addresses: Iterable[str]) -> None:
    """This RTCIceGatherer's connection (and so its RTCIceTransport) uses only `addresses`.
    Call before it gathers. Other gatherers are untouched."""
    connection = gatherer._connection
    if not isinstance(connection, Connection) or connection._local_candidates_start:
        raise RuntimeError("ice.restrict: expects an aioice Connection that has not gathered yet")
    connection.__class__ = RestrictedConnection
    connection.allowed = frozenset(addresses)


def allowed(gatherer) -> frozenset[str] | None:
    """The addresses this gatherer is restricted to, None when it is not."""
    connection = gatherer._connection
    return connection.allowed if isinstance(connection, RestrictedConnection) else None
