"""Keeping the panel and the cloud in step, over the signaling socket:

- in: the directory, the revocation list and the property's settings, which the
  panel stores so they hold offline and across restarts;
- out: the access log, uploaded from the store's outbox one entry at a time, each
  waiting for the cloud's acknowledgement, so entries arrive in order and, as the
  cloud ignores an id it has seen, exactly once, however often the link drops.

Any entry goes: one whose message would be over MESSAGE_LIMIT is sent without its
snapshot (`snapshot_omitted: "too_large"`); one sent and not acknowledged (the cloud
closed the socket on it, or never answered) goes without its snapshot from the second
attempt (`"rejected"`) and is skipped, logged, after MAX_ATTEMPTS, so the entries
after it are not held up for ever. Attempts are counted in the store (a restart does
not start them again).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable

from .access.cards import CardError, normalize_card
from .call.signaling import MAX_ID, say
from .core import routing
from .directory import Resident, contact_text, phone_problem, sip_problem
from .store import Store

log = logging.getLogger(__name__)

ACK_TIMEOUT = 10.0
# The largest message the panel sends: well under any cloud's limit (the dev cloud's is
# aiohttp's 4 MiB), and far over a bounded snapshot ([store] snapshot_max_bytes) in base64.
MESSAGE_LIMIT = 1024 * 1024
MAX_ATTEMPTS = 5                    # sent, never acknowledged: then skipped
SNAPSHOT_ATTEMPTS = 1               # from this attempt on, without the snapshot
# Bounds on what the cloud may send (a bigger message is refused whole, the old kept).
MAX_RESIDENTS = 20_000                  # the directory search is fast to 10,000
MAX_CARDS = 20                          # per resident
MAX_REVOCATIONS = 200_000
MAX_VISITOR_HOURS = 24 * 366            # as [access] visitor_limit_hours


class CloudSync:
    # The fields read from each type of message, and their types (see call.signaling.check).
    FIELDS = {"directory": {"residents": list}, "revocations": {"ids": list},
              "settings": {"allow_visitors": bool, "visitor_limit_hours": (int, float), "contact": (str, list)},
              "event_ack": {"id": int}}
    TYPES = frozenset(FIELDS)

    def __init__(self, signaling, store: Store, *, on_directory: Callable[[list[Resident]], None],
                 on_revocations: Callable[[list[str]], None], on_settings: Callable[[dict], None]):
        self.signaling = signaling
        self.store = store
        self.on_directory, self.on_revocations, self.on_settings = on_directory, on_revocations, on_settings
        self.uploaded = 0
        self.skipped = 0
        self._wake = asyncio.Event()
        self._waiting: dict[int, asyncio.Future] = {}

    def wake(self) -> None:
        """A new log entry is in the outbox."""
        self._wake.set()

    def on_link(self, up: bool) -> None:
        for fut in self._waiting.values():
            if not fut.done():
                fut.set_result(False)       # not acknowledged: send it again on the next link
        if up:
            self._wake.set()

    def on_message(self, m: dict) -> None:
        kind = m["type"]
        if kind == "event_ack":
            fut = self._waiting.get(m.get("id")) if isinstance(m.get("id"), int) else None
            if fut is not None and not fut.done():
                fut.set_result(True)
        elif kind == "directory":
            residents = _residents(m.get("residents"), self.signaling.complain)
            if residents is not None:
                self.on_directory(residents)
        elif kind == "revocations":
            ids = _revocations(m.get("ids"), self.signaling.complain)
            if ids is not None:
                self.on_revocations(ids)
        elif kind == "settings":
            settings = {}
            if isinstance(m.get("allow_visitors"), bool):
                settings["allow_visitors"] = m["allow_visitors"]
            hours = m.get("visitor_limit_hours")
            if isinstance(hours, (int, float)) and not isinstance(hours, bool) and 0 < hours <= MAX_VISITOR_HOURS:
                settings["visitor_limit_hours"] = float(hours)
            if "contact" in m:
                try:
                    settings["contact"] = contact_text(m["contact"])
                except routing.ContactError as e:
                    self.signaling.complain("contact", "cloud sent a default contact that cannot be used (%s); "
                                            "the old kept", e)
            self.on_settings(settings)

    async def run(self) -> None:
        """Upload the outbox whenever there is something in it and the link is up."""
        self._wake.set()                    # entries left from before a restart
        while True:
            try:
                # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancel
                # that lands as the event is set, and this loop would then outlive shutdown.
                async with asyncio.timeout(30):
                    await self._wake.wait()
            except TimeoutError:
                pass                        # look again anyway: an entry may have timed out earlier
            self._wake.clear()
            while self.signaling.connected and await self._upload_batch():
                pass

    async def _upload_batch(self) -> bool:
        """Upload what is pending; True if all of it was acknowledged and more may wait."""
        items = await asyncio.to_thread(self.store.outbox_pending, 20)
        if not items:
            return False
        for item in items:
            if item.attempts >= MAX_ATTEMPTS:
                await self._skip(item, f"not acknowledged after {item.attempts} attempts")
                continue
            message = await self._message(item)
            if message is None:
                await self._skip(item, f"over the {MESSAGE_LIMIT}-byte message limit even without its snapshot")
                continue
            fut = asyncio.get_running_loop().create_future()
            self._waiting[item.id] = fut
            sent = acked = False
            try:
                sent = await self.signaling.send(message)
                if sent:
                    async with asyncio.timeout(ACK_TIMEOUT):     # see run(): not wait_for
                        acked = await fut                       # False: the link went down
            except TimeoutError:
                pass
            except Exception as e:          # the socket failed under it: likely this message's doing
                sent = True
                log.warning("sending outbox entry %d failed: %s", item.id, e)
            finally:
                self._waiting.pop(item.id, None)
            if not acked:
                if sent:
                    await asyncio.to_thread(self.store.outbox_attempted, item.id)
                log.info("access log upload paused at outbox entry %d (attempt %d); retrying when the link is back",
                         item.id, item.attempts + 1)
                return False
            await asyncio.to_thread(self.store.outbox_sent, [item.id], message["entry"].get("snapshot_omitted", ""))
            self.uploaded += 1
        return True

    async def _message(self, item) -> dict | None:
        """The `event` message for an outbox entry, within MESSAGE_LIMIT (None if it cannot be)."""
        event_id = item.payload.get("event_id")
        snapshot = None
        omitted = "rejected" if item.attempts >= SNAPSHOT_ATTEMPTS else ""
        if event_id and not omitted:
            snapshot = await asyncio.to_thread(self.store.snapshot, event_id)
        message = {"type": "event", "id": item.id, "kind": item.kind, "entry": item.payload,
                   "snapshot": base64.b64encode(snapshot).decode() if snapshot else None}
        size = len(json.dumps(message))
        if size > MESSAGE_LIMIT and snapshot:
            message["snapshot"], omitted = None, "too_large"
            size = len(json.dumps(message))
        if omitted:
            message["entry"] = {**item.payload, "snapshot_omitted": omitted}
        return message if size <= MESSAGE_LIMIT else None

    async def _skip(self, item, why: str) -> None:
        log.error("access log upload: outbox entry %d (log entry %s) skipped: %s", item.id,
                  item.payload.get("event_id"), why)
        await asyncio.to_thread(self.store.outbox_sent, [item.id], f"skipped: {why}")
        self.skipped += 1


def _a_list_within(raw, limit: int, what: str, complain) -> bool:
    if not isinstance(raw, list):
        return False
    if len(raw) > limit:
        complain(what, "cloud sent %s of %d entries (at most %d); update ignored, the old kept", what, len(raw), limit)
        return False
    return True


def _revocations(raw, complain=say) -> list[str] | None:
    """The usable ids of a revocations message: a junk id is left out (loudly) and the
    rest still revoked, as a withdrawn key must not survive its neighbour's typo."""
    if not _a_list_within(raw, MAX_REVOCATIONS, "revocations", complain):
        return None
    ids = [i for i in raw if isinstance(i, str) and 0 < len(i) <= MAX_ID]
    if len(ids) < len(raw):
        complain("revocations", "cloud sent %d revocation ids that are not short strings; those left out",
                 len(raw) - len(ids))
    return ids


def _cards(resident: dict, taken: dict[str, str], complain=say) -> tuple[str, ...]:
    """A resident's card numbers from the cloud (a list, or one string of them); one the
    panel cannot read, or one already another resident's, is left out, loudly."""
    raw = resident.get("cards") or ()
    if isinstance(raw, str):
        raw = raw.replace(",", " ").split()
    out = []
    for card in raw if isinstance(raw, (list, tuple)) else ():
        try:
            number = normalize_card(str(card))
        except CardError as e:
            complain("card", "cloud directory, resident %s: %s; card left out", resident.get("id"), e)
            continue
        if taken.setdefault(number, str(resident.get("id"))) != str(resident.get("id")):
            complain("card", "cloud directory: card %s is listed for %s and %s; left with the first",
                     number, taken[number], resident.get("id"))
            continue
        out.append(number)
    return tuple(out)


def _residents(raw, complain=say) -> list[Resident] | None:
    """The directory from the cloud, or None (the panel keeps the one it has) when any
    entry is unusable: all or nothing, as a half directory would hide residents."""
    if not _a_list_within(raw, MAX_RESIDENTS, "directory", complain):
        return None
    out = []
    taken: dict[str, str] = {}
    for r in raw:
        problem = _resident_problem(r)
        if problem:
            complain("directory", "cloud sent a directory entry %s; directory update ignored, the old kept", problem)
            return None
        out.append(Resident(id=str(r["id"]), first_name=r.get("first_name", ""), last_name=r["last_name"],
                            unit=r["unit"], display_name=r.get("display_name", ""), cards=_cards(r, taken, complain),
                            **_reach(r, complain)))
    return out


def _reach(resident: dict, complain=say) -> dict:
    """How a resident from the cloud is called: their SIP URI, phone number and contact; one
    the panel cannot use is left out, loudly (the resident is still listed, called by the default)."""
    out = {}
    sip, phone, contact = resident.get("sip") or "", resident.get("phone") or "", resident.get("contact") or ""
    problem = sip_problem(sip) if isinstance(sip, str) else "sip is not a string"
    if problem:
        complain("sip", "cloud directory, resident %s: %s; left out", resident.get("id"), problem)
    else:
        out["sip"] = sip
    problem = phone_problem(phone) if isinstance(phone, str) and len(phone) <= MAX_ID else "phone is not a number"
    if problem:
        complain("phone", "cloud directory, resident %s: %s; left out", resident.get("id"), problem)
    else:
        out["phone"] = phone
    try:
        out["contact"] = contact_text(contact)
    except routing.ContactError as e:
        complain("contact", "cloud directory, resident %s: contact %s; the property's default used",
                 resident.get("id"), e)
    return out


def _resident_problem(r) -> str:
    if not isinstance(r, dict):
        return f"that is {type(r).__name__}, not an object"
    if not all(k in r for k in ("id", "last_name", "unit")):
        return "without id, last_name or unit"
    if not isinstance(r["id"], (str, int)) or isinstance(r["id"], bool):
        return "whose id is not a string"
    for key in ("id", "first_name", "last_name", "unit", "display_name"):
        value = r.get(key, "")
        if key != "id" and not isinstance(value, str):
            return f"whose {key} is not a string"
        if len(str(value)) > MAX_ID:
            return f"whose {key} is {len(str(value))} characters long (at most {MAX_ID})"
    cards = r.get("cards") or []
    if not isinstance(cards, (list, str)) or len(cards if isinstance(cards, list) else cards.split()) > MAX_CARDS \
            or (isinstance(cards, str) and len(cards) > MAX_ID * MAX_CARDS):
        return f"with cards that are not a list of at most {MAX_CARDS}"
    return ""
