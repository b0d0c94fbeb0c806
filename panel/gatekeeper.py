"""The gatekeeper: decides on keys and cards on the panel itself, with no network.

Holds what those decisions need and keeps it across restarts through the store: the
issuers' public keys, the revocation list, the property's settings (visitors allowed,
the visitor time limit) and the directory of residents (card owners, remote unlock).
The cloud's updates arrive through `on_directory`, `on_revocations`, `on_settings`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine

from hal import events as hw
from hal.clock import Clock

from .access import ReplayGuard, load_trusted_keys, verify
from .access.cards import check_card
from .config import Config
from .core import events as ev
from .directory import Directory, Property, Resident
from .shell import supervised
from .store import Store
from .trusted_time import META_KEY, PERSIST_SECONDS, TrustedTime

log = logging.getLogger("panel")


class Gatekeeper:
    def __init__(self, config: Config, store: Store, clock: Clock, *, spawn: Callable[[Coroutine], None],
                 on_directory: Callable[[Directory], None] = lambda d: None):
        self.door_id = config.panel.door_id
        self.display_order = config.directory.display
        self.store = store
        self.clock = clock
        self.spawn = spawn
        self.on_directory_changed = on_directory
        self.trusted_keys = load_trusted_keys(config.access.trusted_keys)
        self.allow_visitors = config.access.allow_visitors          # the cloud's settings win once known
        self.visitor_limit_hours = config.access.visitor_limit_hours
        self.contact = ""                           # the residents' default contact: the property's, then the cloud's
        self.sip_calls, self.trunk = bool(config.sip.accounts), bool(config.sip.accounts and config.sip.trunk)
        self.directory = Directory([])
        self.revoked: set[str] = set()              # mirrors the store's revocations, for a fast check
        self.replay = ReplayGuard()
        self.time = TrustedTime(clock)              # the last trusted time comes from the store in load()

    async def load(self, prop: Property) -> None:
        """Start-up: the property file's residents until the cloud has sent its directory
        (the store keeps the cloud's from then on, offline and across restarts: the contacts
        and SIP URIs the office set), then the settings the store kept."""
        self.contact = prop.contact
        if await asyncio.to_thread(self.store.get_meta, "directory_from") != "cloud":
            await asyncio.to_thread(self.store.replace_residents, list(prop.residents))
        self.revoked = await asyncio.to_thread(self.store.revocations)
        saved = await asyncio.to_thread(self.store.get_meta, "settings")
        if saved:
            self._apply_settings(json.loads(saved))
        self.directory = self._directory(await asyncio.to_thread(self.store.residents))
        self.time = TrustedTime(self.clock, TrustedTime.parse(await asyncio.to_thread(self.store.get_meta, META_KEY)))
        self.spawn(supervised("trusted time", self._keep_trusted_time, self.clock))

    async def _keep_trusted_time(self) -> None:
        """The latest trusted time to disk every minute, so it outlives a reboot."""
        while True:
            latest = self.time.to_save()
            if latest is not None:
                await asyncio.to_thread(self.store.set_meta, META_KEY, repr(latest))
                self.time.saved(latest)
            await self.clock.sleep(PERSIST_SECONDS)

    # -- decisions -------------------------------------------------------------------------
    def check_code(self, text: str) -> ev.CredentialChecked:
        """A QR code the camera read."""
        try:
            t = self.time.read()
            d = verify(text, now=t.now, trusted_floor=t.last_trusted or 0.0, clock_trusted=t.trusted,
                       door=self.door_id, trusted_keys=self.trusted_keys,
                       is_revoked=self.revoked.__contains__,
                       is_holder_revoked=lambda holder: f"holder:{holder}" in self.revoked,
                       visitor_limit_hours=self.visitor_limit_hours,
                       allow_visitors=self.allow_visitors, replay=self.replay)
        except Exception:
            log.exception("checking a scanned code failed")
            return ev.CredentialChecked(False, "error")
        return ev.CredentialChecked(d.ok, d.reason, d.holder_id, d.holder_name, d.kind, d.credential_id)

    def check_card(self, read: hw.CardPresented) -> ev.CredentialChecked:
        """A card held to the door's reader: checked like a QR key, logged as "card"."""
        def owner_of(number: str):
            r = self.directory.card_owner(number)
            return None if r is None else (r.id, r.full_name)
        try:
            c = check_card(read.format, read.bits, read.data, owner_of=owner_of,
                           is_revoked=self.revoked.__contains__)
        except Exception:
            log.exception("checking a card read failed: %r", read)
            return ev.CredentialChecked(False, "error", method="card")
        return ev.CredentialChecked(c.ok, c.reason, c.holder_id, c.holder_name, "resident" if c.ok else "",
                                    f"card:{c.number}" if c.number else "", method="card")

    def may_unlock(self, resident_id: str, device: str) -> bool:
        """Remote unlock: a resident of this property whose device and person are not revoked."""
        return (self.directory.get(resident_id) is not None and f"holder:{resident_id}" not in self.revoked
                and f"device:{device}" not in self.revoked)

    async def revoke(self, credential_id: str, reason: str = "") -> None:
        """Withdraw a credential (or "holder:<id>" for all of a holder's) now and across restarts."""
        self.revoked.add(credential_id)         # effective at once, before the disk write
        await asyncio.to_thread(self.store.revoke, credential_id, reason)

    # -- from the cloud -----------------------------------------------------------------------
    def _directory(self, residents: list[Resident]) -> Directory:
        return Directory(residents, self.display_order, contact=self.contact, sip_calls=self.sip_calls,
                         trunk=self.trunk)

    def on_directory(self, residents: list[Resident]) -> None:
        self.directory = self._directory(residents)
        self.spawn(self._keep_directory(residents))
        log.info("directory from the cloud: %d residents", len(residents))
        self.on_directory_changed(self.directory)

    def on_revocations(self, ids: list[str]) -> None:
        for credential_id in set(ids) - self.revoked:
            self.spawn(self.revoke(credential_id, "cloud"))

    async def _keep_directory(self, residents: list[Resident]) -> None:
        await asyncio.to_thread(self.store.replace_residents, residents)
        await asyncio.to_thread(self.store.set_meta, "directory_from", "cloud")

    def on_settings(self, settings: dict) -> None:
        self._apply_settings(settings)
        if "contact" in settings:
            self.directory = self._directory(self.directory.residents)
            self.on_directory_changed(self.directory)
        self.spawn(asyncio.to_thread(self.store.set_meta, "settings", json.dumps(settings)))

    def _apply_settings(self, settings: dict) -> None:
        self.allow_visitors = settings.get("allow_visitors", self.allow_visitors)
        self.visitor_limit_hours = settings.get("visitor_limit_hours", self.visitor_limit_hours)
        self.contact = settings.get("contact", self.contact)
