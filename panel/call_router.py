"""Which call service rings each leg of a call (core/routing.py's Target.link): the app
and the cloud's phone line through the cloud link's CallService, SIP URIs and phone
numbers (through `[sip] trunk`) through the SIP link's SipCallService. Stops and door
outcomes go back to the service that placed the leg."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .core import effects as fx
from .core import events as ev


class CallRouter:
    KEEP = 16           # the latest SIP legs remembered (a door outcome comes after the call)

    def __init__(self, cloud, sip, *, dispatch: Callable[[ev.Event], list], trunk: str = ""):
        """cloud: a CallService or None; sip: a SipCallService or None; trunk: a SIP URI with
        {number} for the number dialled ("sip:{number}@pbx.example")."""
        self.cloud, self.sip, self.dispatch, self.trunk = cloud, sip, dispatch, trunk
        self._sip_legs: dict[str, None] = {}       # in order, at most KEEP

    def carriers(self) -> list[tuple[type, Callable]]:
        return [(fx.StartCall, self.start_call), (fx.StopCall, self.stop_call), (fx.DoorOutcome, self.door_outcome)]

    def start_call(self, e: fx.StartCall) -> None:
        t = e.target
        if t.link == "sip" and self.sip is not None and (t.kind == "sip" or self.trunk):
            self._sip_legs[e.call_id] = None
            while len(self._sip_legs) > self.KEEP:
                del self._sip_legs[next(iter(self._sip_legs))]
            uri = t.address if t.kind == "sip" else self.trunk.format(number=t.address)
            self.sip.start_call(e.call_id, uri, t.kind)
        elif t.link == "cloud" and self.cloud is not None:
            self.cloud.start_call(e.call_id, e.resident_id, t.kind, t.address)
        else:       # the core rings only links that are up; this one is not configured at all
            asyncio.get_running_loop().call_soon(self.dispatch, ev.CallFailed(e.call_id, "unavailable"))

    def stop_call(self, e: fx.StopCall) -> None:
        if e.call_id in self._sip_legs:
            self.sip.stop_call(e.call_id, e.reason)
        elif self.cloud is not None:
            self.cloud.stop_call(e.call_id, e.reason)

    def door_outcome(self, outcome: fx.DoorOutcome) -> None:
        """A release asked in a SIP call has no device to reply to (the panel hangs up);
        the others are the cloud's."""
        if outcome.call_id not in self._sip_legs and self.cloud is not None:
            self.cloud.door_outcome(outcome)
