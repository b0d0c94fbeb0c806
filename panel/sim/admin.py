"""The dev cloud's back office on the web: the staff JSON API (bearer staff token),
the staff page, residents inviting visitors, and the visitor's activation page.

    GET    /api/admin/residents                     list
    POST   /api/admin/residents                     move in  {first_name, last_name, unit, display_name?,
                                                              contact?, phone?, sip?, cards?}
    PATCH  /api/admin/residents/{id}                how they are called {contact?, phone?, sip?}
    DELETE /api/admin/residents/{id}                move out
      contact: whom a call rings, in order (panel/core/routing.py): text, "app 20, phone", or steps,
      [{"ring": ["app", "sip"], "seconds": 20}, {"ring": ["phone"]}]; "" = the property's default
    GET    /api/admin/invitations                   list
    POST   /api/admin/invitations                   invite   {name, email, from, until, doors?}
    GET    /api/admin/settings | PUT {allow_visitors?, visitor_limit_hours?, contact? (the default)}
    GET    /api/admin/property                      name, doors, and the log's methods and results in words
    GET    /api/admin/log?result=&method=&door=&from=&until=&q=   access log, newest first (office_log.py)
    GET    /api/admin/log.csv?...same filters...    the same as a CSV download
    GET    /api/admin/log/{n}/snapshot.jpg
    GET    /api/admin/mail                          what the local SMTP sink received, newest first
    GET    /api/admin/phone                         calls shown on the simulated phone line
    POST   /api/resident/invitations?resident=&token=   a resident invites a visitor
    POST   /api/resident/device-credential?resident=&token=   {public_key}: the phone's device credential
    GET    /api/qr.png?text=...                     a QR image of a text
    GET    /admin                                   the staff page
    GET    /invite/{token}                          the visitor's activation page (their QR key)
"""

from __future__ import annotations

import base64
import hmac
import io
import json
import logging
from datetime import datetime
from email.utils import formataddr
from typing import TYPE_CHECKING

from aiohttp import web

from ..access import STEP_SECONDS, qr_code
from ..access.keys import load_public_key
from . import office_log
from .mail import mail_json, send_mail
from .office import OfficeError
from .office_log import LogFilter

if TYPE_CHECKING:
    from .cloud import DevCloud

log = logging.getLogger(__name__)


def add_routes(app: web.Application, cloud: "DevCloud") -> None:
    api = StaffApi(cloud)
    app.add_routes([
        web.get("/admin", api.page),
        web.get("/api/admin/residents", api.residents), web.post("/api/admin/residents", api.move_in),
        web.delete("/api/admin/residents/{id}", api.move_out), web.patch("/api/admin/residents/{id}", api.reach),
        web.get("/api/admin/invitations", api.invitations), web.post("/api/admin/invitations", api.invite),
        web.get("/api/admin/settings", api.get_settings), web.put("/api/admin/settings", api.put_settings),
        web.get("/api/admin/property", api.property),
        web.get("/api/admin/log", api.log), web.get("/api/admin/log.csv", api.log_csv),
        web.get("/api/admin/log/{n}/snapshot.jpg", api.snapshot),
        web.get("/api/admin/mail", api.mail), web.get("/api/admin/phone", api.phone),
        web.post("/api/resident/invitations", api.resident_invite),
        web.post("/api/resident/device-credential", api.device_credential),
        web.get("/api/qr.png", api.qr_png),
        web.get("/invite/{token}", api.activate),
    ])


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class StaffApi:
    def __init__(self, cloud: "DevCloud"):
        self.cloud = cloud
        self.office = cloud.office

    def _staff(self, request: web.Request) -> bool:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.cloud.staff_token}".encode())

    async def _body(self, request: web.Request) -> dict:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise OfficeError("the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise OfficeError("expected a JSON object")
        return body

    def _guard(handler):
        """Staff only; OfficeError -> its status (400, 404, 409) with its message."""
        async def wrapped(self, request: web.Request):
            if not self._staff(request):
                return _error(401, "staff token needed (Authorization: Bearer <staff token>)")
            try:
                return await handler(self, request)
            except OfficeError as e:
                return _error(e.status, str(e))
        return wrapped

    # -- pages -------------------------------------------------------------------------------
    async def page(self, request: web.Request) -> web.Response:
        from .cloud import WEBAPP
        return web.FileResponse(WEBAPP / "admin.html")

    async def activate(self, request: web.Request) -> web.Response:
        invitation = self.office.by_token(request.match_info["token"])
        if invitation is None:
            return web.Response(status=404, text=_page("Invitation not found",
                                                       "<p>This link is not valid. Ask your host for a new one.</p>"),
                                content_type="text/html")
        if invitation.withdrawn:
            return web.Response(status=410, text=_page("Invitation withdrawn",
                                                       "<p>This invitation was withdrawn: your host has moved out.</p>"),
                                content_type="text/html")
        if not invitation.credential:
            self.office.activated(invitation, self.cloud.issuer.issue(
                holder_id=f"visitor:{invitation.id}", holder_name=invitation.name, kind="visitor",
                doors=invitation.doors, not_before=invitation.not_before,
                hours=(invitation.not_after - invitation.not_before) / 3600, credential_id=invitation.id,
                invited_by=invitation.inviter or None))
        buf = io.BytesIO()
        qr_code(invitation.credential).save(buf, kind="png", scale=8, border=4)
        png = base64.b64encode(buf.getvalue()).decode()
        window = f"{_when(invitation.not_before)} to {_when(invitation.not_after)}"
        body = (f"<p>Hello {_html(invitation.name)}, show this code to the camera of the entrance panel.</p>"
                f'<img id="qr" alt="Your key to {_html(self.cloud.property_name)}" '
                f'src="data:image/png;base64,{png}" data-credential="{invitation.credential}">'
                f"<p>Valid {window}.</p>")
        return web.Response(text=_page(f"Your key to {self.cloud.property_name}", body), content_type="text/html")

    # -- residents -------------------------------------------------------------------------------
    @_guard
    async def residents(self, request):
        return web.json_response([t.to_json() for t in self.office.tenants.values()])

    @_guard
    async def move_in(self, request):
        b = await self._body(request)
        tenant = self.office.move_in(first_name=str(b.get("first_name", "")), last_name=str(b.get("last_name", "")),
                                     unit=str(b.get("unit", "")), display_name=str(b.get("display_name", "")),
                                     contact=b.get("contact", ""), phone=str(b.get("phone", "")),
                                     sip=str(b.get("sip", "")), cards=_card_list(b.get("cards")))
        await self.cloud.push_directory()
        out = tenant.to_json()
        out["app_link"] = self.cloud.app_link(tenant.resident.id)
        return web.json_response(out, status=201)

    @_guard
    async def reach(self, request):
        b = await self._body(request)
        tenant = self.office.set_contact(request.match_info["id"], contact=b.get("contact"),
                                         phone=None if b.get("phone") is None else str(b["phone"]),
                                         sip=None if b.get("sip") is None else str(b["sip"]))
        await self.cloud.push_directory()
        return web.json_response(tenant.to_json())

    @_guard
    async def move_out(self, request):
        tenant = self.office.move_out(request.match_info["id"])
        await self.cloud.moved_out(tenant.resident.id)
        return web.json_response({"moved_out": tenant.to_json()})

    # -- invitations ----------------------------------------------------------------------------------
    @_guard
    async def invitations(self, request):
        return web.json_response([i.to_json() for i in self.office.invitations.values()])

    @_guard
    async def invite(self, request):
        return await self._invite(await self._body(request), invited_by="staff")

    def _resident(self, request: web.Request):
        q = request.query
        resident = self.cloud.residents.get(q.get("resident", ""))
        if resident is None or not hmac.compare_digest(q.get("token", "").encode(),
                                                       self.cloud.device_token(resident.id).encode()):
            return None
        return resident

    async def device_credential(self, request):
        """The phone sends its public key; it gets the credential it makes rotating codes from."""
        resident = self._resident(request)
        if resident is None:
            return _error(401, "resident sign-in needed")
        try:
            body = await self._body(request)
            public_key = load_public_key(str(body.get("public_key", "")))
        except (OfficeError, ValueError) as e:
            return _error(400, f"public_key: {e}")
        credential = self.cloud.issuer.issue(holder_id=resident.id, holder_name=resident.full_name,
                                             hours=24 * 30, device_key=public_key)
        return web.json_response({"credential": credential, "step_seconds": STEP_SECONDS})

    async def qr_png(self, request):
        """Render a QR code (the dev cloud draws what the phone computed; a phone app draws it itself)."""
        text = request.query.get("text", "")
        if not text or len(text) > 2000:
            return _error(400, "text: 1 to 2000 characters")
        buf = io.BytesIO()
        qr_code(text).save(buf, kind="png", scale=6, border=4)
        return web.Response(body=buf.getvalue(), content_type="image/png", headers={"Cache-Control": "no-store"})

    async def resident_invite(self, request):
        resident = self._resident(request)
        if resident is None:
            return _error(401, "resident sign-in needed")
        try:
            return await self._invite(await self._body(request), invited_by=resident.full_name,
                                      inviter=resident.id)
        except OfficeError as e:
            return _error(e.status, str(e))

    async def _invite(self, b: dict, invited_by: str, inviter: str = "") -> web.Response:
        doors = b.get("doors", ["main"])
        if not isinstance(doors, list) or not all(isinstance(d, str) for d in doors):
            raise OfficeError("doors must be a list of door ids")
        invitation = self.office.invite(name=str(b.get("name", "")), email=str(b.get("email", "")),
                                        not_before=_time(b.get("from"), "from"), not_after=_time(b.get("until"), "until"),
                                        doors=doors, invited_by=invited_by, inviter=inviter)
        link = f"{self.cloud.url}/invite/{invitation.token}"
        place = self.cloud.property_name
        host = self.office.tenants.get(inviter)
        by = (f"{invited_by} invited you to {place} (apartment {host.resident.unit})." if host
              else f"The property office of {place} invited you.")
        doors = invitation.doors
        door_words = f"the {doors[0]} door" if len(doors) == 1 else f"these doors: {', '.join(doors)}"
        text = (f"Hello {invitation.name},\n\n{by}\n\n"
                f"Open this link to get your key, a QR code you show to the camera of the entrance panel:\n\n"
                f"{link}\n\n"
                f"Your key opens {door_words} at {place} from {_when(invitation.not_before)} "
                f"to {_when(invitation.not_after)}.\n\n"
                f"If you did not expect this invitation, you can ignore this e-mail.\n")
        try:
            await send_mail(*self.cloud.smtp, sender=formataddr((place, "noreply@dev-cloud.invalid")),
                            to=invitation.email, subject=f"Your invitation to {place}", text=text)
            mailed = True
        except OSError as e:
            log.warning("invitation e-mail to %s not sent: %s", invitation.email, e)
            mailed = False
        message = "Invitation sent." if mailed else "Invitation created, but the e-mail could not be sent."
        if invitation.cut_to_limit:
            message += (f" It was shortened to the property's visitor limit of "
                        f"{self.office.settings.visitor_limit_hours:g} hours.")
        return web.json_response({"invitation": invitation.to_json(), "mailed": mailed, "message": message},
                                 status=201)

    # -- settings, log, mail -------------------------------------------------------------------------
    @_guard
    async def get_settings(self, request):
        return self._settings()

    def _settings(self) -> web.Response:
        s = self.office.settings
        return web.json_response({"allow_visitors": s.allow_visitors, "visitor_limit_hours": s.visitor_limit_hours,
                                  "contact": s.contact})

    @_guard
    async def put_settings(self, request):
        b = await self._body(request)
        allow, hours = b.get("allow_visitors"), b.get("visitor_limit_hours")
        if "allow_visitors" in b and not isinstance(allow, bool):
            raise OfficeError("allow_visitors must be true or false")
        if "visitor_limit_hours" in b:
            if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 < hours <= 24 * 365:
                raise OfficeError("visitor_limit_hours must be a number of hours above 0")
            hours = float(hours)
        self.office.set_settings(allow_visitors=allow, visitor_limit_hours=hours, contact=b.get("contact"))
        await self.cloud.push_settings()
        return self._settings()

    def _log(self, request) -> list[dict]:
        """The log entries the query's filters keep, newest first, as office_log.to_json."""
        keep = LogFilter.from_query(request.query, self.office.doors)
        return [office_log.to_json(n, e) for n, e in reversed(list(enumerate(self.office.log))) if keep.matches(e)]

    @_guard
    async def log(self, request):
        return web.json_response(self._log(request))

    @_guard
    async def log_csv(self, request):
        body = office_log.to_csv(self._log(request), self.cloud.url)
        name = f"access-log-{datetime.now():%Y-%m-%d}.csv"
        # A BOM: spreadsheet programs then read the names' accents as UTF-8.
        return web.Response(body=("\ufeff" + body).encode(), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @_guard
    async def property(self, request):
        return web.json_response({"name": self.cloud.property_name, "doors": list(self.office.doors),
                                  "methods": office_log.METHODS, "results": list(office_log.RESULTS)})

    @_guard
    async def snapshot(self, request):
        try:
            entry = self.office.log[int(request.match_info["n"])]
        except (ValueError, IndexError):
            return _error(404, "no such log entry")
        if not entry.get("snapshot"):
            return _error(404, "no snapshot for this entry")
        return web.Response(body=entry["snapshot"], content_type="image/jpeg")

    @_guard
    async def mail(self, request):
        sink = self.cloud.mail_sink
        return web.json_response([mail_json(n, m) for n, m in enumerate(sink.messages if sink else [])][::-1])

    @_guard
    async def phone(self, request):
        return web.json_response(self.cloud.phone_line)


def _card_list(value) -> list[str]:
    """ "cards": a list of card numbers, or one string of them separated by commas or spaces."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return value.replace(",", " ").split()
    if isinstance(value, list) and all(isinstance(c, str) for c in value):
        return value
    raise OfficeError('"cards" must be a list of card numbers such as ["42:12345"]')


def _time(value, name: str) -> float:
    """Seconds since the epoch, or an ISO 8601 date-time (with or without a zone: local)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            pass
    raise OfficeError(f"'{name}' must be a date and time like 2026-12-24T18:00, got {value!r}")


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%a %d %b %Y %H:%M")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width'>"
            f"<title>{_html(title)}</title><link rel=stylesheet href=/static/app.css>"
            f"<main class=invite><h1>{_html(title)}</h1>{body}</main></html>")
