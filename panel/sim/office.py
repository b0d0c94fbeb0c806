"""The property's back office, as the dev cloud keeps it: residents (move-in, move-out,
contact preference), visitor invitations, property settings, and the access log the
panels upload. Plain data and rules; cloud.py and admin.py put it on the network,
cloud_db.py keeps every change (Office.load reads it back at start).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import asdict, dataclass, field, replace

from ..access.cards import CardError, normalize_card
from ..core import routing
from ..directory import LIMITS, Resident, contact_text, phone_problem, sip_problem
from ..text import text_problem
from .cloud_db import CloudDb


class OfficeError(ValueError):
    """A request the office refuses, with a message for the staff member; `status`: the
    HTTP status it is answered with (400: the request is wrong)."""
    status = 400


class OfficeRefused(OfficeError):
    """A well-formed request the property's state refuses (visitors switched off, a card taken)."""
    status = 409


class NoSuchResident(OfficeError):
    status = 404


def _refuse_text(label: str, value: str, limit: int) -> None:
    problem = text_problem(label, value, limit)
    if problem:
        raise OfficeError(problem)


@dataclass
class Tenant:
    resident: Resident
    contact: str = ""                   # whom a call rings (core/routing.py text form); "": the property's default
    phone: str = ""

    def to_json(self) -> dict:
        return {**asdict(self.resident), "name": self.resident.full_name, "contact": self.contact,
                "phone": self.phone}


@dataclass
class Invitation:
    id: str
    name: str
    email: str
    not_before: float
    not_after: float
    doors: list[str]
    invited_by: str                     # shown in the e-mail: the resident's name, or "staff"
    token: str                          # in the activation link
    inviter: str = ""                   # the inviting resident's id (in the key); "" for staff
    cut_to_limit: bool = False
    activated_at: float | None = None
    credential: str = ""                # issued at activation
    withdrawn: bool = False             # its host moved out: the link gives no key

    def to_json(self) -> dict:
        out = asdict(self)
        out.pop("token")
        out.pop("credential")
        return out


@dataclass
class Settings:
    allow_visitors: bool = True
    visitor_limit_hours: float = 24.0
    contact: str = ""                   # the residents' default contact (text form); "": the app (or SIP)


@dataclass
class Office:
    tenants: dict[str, Tenant] = field(default_factory=dict)
    invitations: dict[str, Invitation] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)
    revocations: dict[str, str] = field(default_factory=dict)     # id -> reason
    log: list[dict] = field(default_factory=list)                 # uploaded by panels, in arrival order
    doors: tuple[str, ...] = ("main",)                            # the property's door ids
    _seen_events: set[tuple[str, int]] = field(default_factory=set)
    db: CloudDb = field(default_factory=lambda: CloudDb(None))    # where every change is kept

    @classmethod
    def load(cls, db: CloudDb, residents, doors=("main",), contact: str = "") -> "Office":
        """The office as db kept it; on first use, the property's residents and default contact
        (kept from then on: a move-out outlives a restart, the property file only seeds)."""
        office = cls(doors=tuple(doors), db=db)
        if db.get("seeded") is None:
            for r in residents:
                office._keep_tenant(Tenant(r, r.contact, r.phone))
            office.settings.contact = contact
            db.put("settings", json.dumps(asdict(office.settings)))
            db.put("seeded", "1")
        else:
            for t in db.tenants():
                r = t["resident"]
                office.tenants[r["id"]] = Tenant(Resident(**{**r, "cards": tuple(r["cards"])}), t["contact"], t["phone"])
        office.invitations = {i["id"]: Invitation(**i) for i in db.invitations()}
        office.revocations = db.revocations()
        if (settings := db.get("settings")) is not None:
            office.settings = Settings(**json.loads(settings))
        for panel, event_id, entry in db.log():
            office._seen_events.add((panel, event_id))
            office.log.append(entry)
        return office

    def _keep_tenant(self, tenant: Tenant) -> None:
        self.tenants[tenant.resident.id] = tenant
        self.db.put_tenant(tenant.resident.id, asdict(tenant))

    def _keep_invitation(self, invitation: Invitation) -> None:
        self.invitations[invitation.id] = invitation
        self.db.put_invitation(invitation.id, asdict(invitation))

    # -- residents ---------------------------------------------------------------------
    def residents(self) -> list[Resident]:
        return [t.resident for t in self.tenants.values()]

    def move_in(self, *, first_name: str, last_name: str, unit: str, display_name: str = "",
                contact="", phone: str = "", sip: str = "", cards: list[str] = ()) -> Tenant:
        first_name, last_name, unit = first_name.strip(), last_name.strip(), unit.strip()
        for label, value in (("first_name", first_name), ("last_name", last_name), ("unit", unit),
                             ("display_name", display_name)):
            _refuse_text(label, value, LIMITS[label])
        if not last_name:
            raise OfficeError("a last name is needed")
        if not unit:
            raise OfficeError("an apartment (unit) is needed")
        contact, phone, sip = _reach(contact, phone, sip)
        try:
            numbers = tuple(normalize_card(str(c)) for c in cards)
        except CardError as e:
            raise OfficeError(str(e)) from None
        if len(set(numbers)) != len(numbers):
            raise OfficeError("the same card is listed twice")
        taken = {c: t for t in self.tenants.values() for c in t.resident.cards}
        for number in numbers:
            if number in taken:
                raise OfficeRefused(f"card {number} is already {taken[number].resident.full_name}'s")
        resident_id = "r-" + secrets.token_hex(4)
        tenant = Tenant(Resident(resident_id, first_name, last_name, unit, display_name.strip(), numbers, sip=sip,
                                 phone=phone, contact=contact), contact, phone)
        self._keep_tenant(tenant)
        return tenant

    def set_contact(self, resident_id: str, *, contact=None, phone: str | None = None,
                    sip: str | None = None) -> Tenant:
        """Change how a resident is called: their contact, phone number, SIP URI (None: as it was)."""
        tenant = self.tenants.get(resident_id)
        if tenant is None:
            raise NoSuchResident(f"no resident {resident_id!r}")
        r = tenant.resident
        contact, phone, sip = _reach(tenant.contact if contact is None else contact,
                                     tenant.phone if phone is None else phone, r.sip if sip is None else sip)
        self._keep_tenant(Tenant(replace(r, sip=sip, phone=phone, contact=contact), contact, phone))
        return self.tenants[resident_id]

    def move_out(self, resident_id: str) -> Tenant:
        tenant = self.tenants.pop(resident_id, None)
        if tenant is None:
            raise NoSuchResident(f"no resident {resident_id!r}")
        # Everything the resident holds stops working at once: every credential issued
        # to them (by holder id) and every device signed in as them.
        # The visitor keys they handed out name them as inviter, so the panel refuses
        # those too; invitations not yet activated give no key at all.
        self.db.drop_tenant(resident_id)
        self.revocations[f"holder:{resident_id}"] = "moved out"
        self.db.revoke(f"holder:{resident_id}", "moved out")
        for invitation in list(self.invitations.values()):
            if invitation.inviter == resident_id:
                invitation.withdrawn = True
                self._keep_invitation(invitation)
        return tenant

    # -- invitations ----------------------------------------------------------------------
    def invite(self, *, name: str, email: str, not_before: float, not_after: float, doors: list[str],
               invited_by: str, inviter: str = "") -> Invitation:
        name, email = name.strip(), email.strip()
        _refuse_text("name", name, LIMITS["display_name"])
        if not self.settings.allow_visitors:
            raise OfficeRefused("visitor access is switched off for this property")
        if not name:
            raise OfficeError("the visitor's name is needed")
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            raise OfficeError(f"{email!r} is not an e-mail address")
        if not_after <= not_before:
            raise OfficeError("'until' must be later than 'from'")
        if not doors:
            raise OfficeError("at least one door is needed")
        unknown = [d for d in doors if d not in self.doors]
        if unknown:
            raise OfficeError(f"no door {unknown[0]!r} at this property: use one of {', '.join(self.doors)}")
        limit = not_before + self.settings.visitor_limit_hours * 3600
        cut = not_after > limit
        invitation = Invitation(id="inv-" + secrets.token_hex(4), name=name, email=email, not_before=not_before,
                                not_after=min(not_after, limit), doors=list(doors), invited_by=invited_by,
                                token=secrets.token_urlsafe(16), cut_to_limit=cut, inviter=inviter)
        self._keep_invitation(invitation)
        return invitation

    def activated(self, invitation: Invitation, credential: str) -> None:
        """The visitor opened the link: the key issued is the one the link shows from now on."""
        invitation.credential, invitation.activated_at = credential, time.time()
        self._keep_invitation(invitation)

    # -- settings -----------------------------------------------------------------------------
    def set_settings(self, *, allow_visitors: bool | None = None, visitor_limit_hours: float | None = None,
                     contact=None) -> None:
        if contact is not None:
            try:
                self.settings.contact = contact_text(contact)
            except routing.ContactError as e:
                raise OfficeError(f"contact: {e}") from None
        if allow_visitors is not None:
            self.settings.allow_visitors = allow_visitors
        if visitor_limit_hours is not None:
            self.settings.visitor_limit_hours = visitor_limit_hours
        self.db.put("settings", json.dumps(asdict(self.settings)))

    def by_token(self, token: str) -> Invitation | None:
        return next((i for i in self.invitations.values() if secrets.compare_digest(i.token, token)), None)

    # -- the access log panels upload ----------------------------------------------------------
    def record(self, panel: str, event_id: int, entry: dict) -> bool:
        """Keep an uploaded entry once; a resend (the panel missed our ack) is not a new entry."""
        key = (panel, event_id)
        if key in self._seen_events:
            return False
        self._seen_events.add(key)
        kept = {**entry, "panel": panel, "received_at": time.time(), "unit": self._unit_of(entry)}
        self.log.append(kept)
        self.db.add_log(panel, event_id, kept)
        return True

    def _unit_of(self, entry: dict) -> str:
        """The apartment an entry concerns, as it is when the entry arrives (a move-out later
        does not rewrite the log): a visitor's host's, or the resident's own, found by name."""
        invitation = self.invitations.get(str(entry.get("credential_id", "")))
        if invitation is not None:
            host = self.tenants.get(invitation.inviter)
            return host.resident.unit if host else ""
        who = str(entry.get("who", ""))
        return next((t.resident.unit for t in self.tenants.values()
                     if who and who in (t.resident.full_name, t.resident.display_name)), "")


def _reach(contact, phone: str, sip: str) -> tuple[str, str, str]:
    """A resident's contact (text form), phone number and SIP URI, checked together: a contact
    that rings their phone or SIP URI needs one."""
    phone, sip = str(phone or "").strip(), str(sip or "").strip()
    try:
        text = contact_text(contact)
    except routing.ContactError as e:
        raise OfficeError(f"contact: {e}") from None
    problem = phone_problem(phone) or sip_problem(sip)
    if problem:
        raise OfficeError(problem)
    rung = {t for step in routing.parse(text) for t in step.ring}
    if "phone" in rung and not phone:
        raise OfficeError("a phone number is needed for a contact that rings the phone")
    if "sip" in rung and not sip:
        raise OfficeError("a SIP address (sip:user@host) is needed for a contact that rings sip")
    return text, phone, sip
