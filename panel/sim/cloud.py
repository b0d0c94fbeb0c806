"""The dev cloud: signaling between the panel and residents' devices, device sign-in,
and the resident web app (resident.py: the app's files and each resident's history),
on 127.0.0.1. Protocol: docs/signaling.md.

It plays the part of a property's cloud service for the emulator and the tests. It
knows the property's residents (the same property file the panel reads) and lets a
device sign in as a resident with a per-resident token (HMAC of a secret).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import WSCloseCode, web

from .. import trace
from ..core import routing
from ..directory import Resident, load_property
from . import admin, resident
from .issuer import DevIssuer
from .cloud_db import CloudDb
from .mail import MailSink
from .office import Office

log = logging.getLogger(__name__)

WEBAPP = Path(__file__).resolve().parent / "webapp"
CLOSE_UNAUTHORIZED = 4401
LOG_KEEP = 500                  # signaling messages DevCloud.log keeps
MAX_MESSAGE_BYTES = 4 * 1024 * 1024     # a bigger message closes the socket (1009), as aiohttp's default
MAX_RING_SNAPSHOT = 64 * 1024           # bytes of the visitor's JPEG sent with a ring; a bigger one is left out


@dataclass
class Device:
    id: str
    resident_id: str
    ws: web.WebSocketResponse


@dataclass
class Call:
    id: str
    resident_id: str
    ringing: set[str] = field(default_factory=set)     # device ids still ringing
    device: str = ""                                    # the device that accepted


class DevCloud:
    def __init__(self, property_file: str | Path, *, panel_token: str | None = None, host: str = "127.0.0.1",
                 port: int = 0, secret: bytes | None = None, staff_token: str | None = None,
                 issuer: DevIssuer | None = None, smtp: tuple[str, int] | None = None,
                 max_message_bytes: int = MAX_MESSAGE_BYTES, tls_dir: str | Path | None = None,
                 state_file: str | Path | None = None):
        """smtp: the (host, port) e-mail goes to; None = a local sink this cloud runs.
        state_file: the SQLite file the back office and the tokens' secret are kept in, so a
        restart is the same property with the same links (None: nothing kept).
        max_message_bytes: the largest message taken from the panel.
        tls_dir: serve https/wss with a self-signed certificate made in this folder
        (`ca_file` is its PEM, `fingerprint` its SHA-256), for tests of the panel's TLS."""
        self.max_message_bytes = max_message_bytes
        prop = load_property(property_file)
        self.property_name = prop.name
        self.db = CloudDb(state_file)
        self.office = Office.load(self.db, prop.residents, prop.doors, contact=prop.contact)
        self.history = resident.History(self.db)
        self._asked: dict[str, str] = {}    # device id -> its resident, while the panel decides an open_door
        self.issuer = issuer or DevIssuer(None)
        self.panel_token = panel_token or self.db.kept("panel_token", lambda: secrets.token_urlsafe(24))
        self.staff_token = staff_token or self.db.kept("staff_token", lambda: secrets.token_urlsafe(24))
        self.host, self.port = host, port
        self.secret = secret or bytes.fromhex(self.db.kept("secret", lambda: secrets.token_bytes(32).hex()))
        self.mail_sink = MailSink(host, db=self.db) if smtp is None else None
        self.smtp = smtp
        self.phone_line: list[dict] = []   # calls to residents who chose to be called on the phone
        self.panel: web.WebSocketResponse | None = None
        self.devices: dict[str, Device] = {}
        self.calls: dict[str, Call] = {}
        # The latest signaling messages seen, for the curious; bounded, as a demo runs for days
        # and every call adds two SDPs of several KB.
        self.log: deque[dict] = deque(maxlen=LOG_KEEP)
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self.ca_file: Path | None = None
        self.fingerprint = ""
        self._ssl = None
        self.tls_hellos = 0             # TLS handshakes begun: a test counts the panel's retries
        if tls_dir is not None:
            self.ca_file, key_file, self.fingerprint = _self_signed(Path(tls_dir), host)
            import ssl
            self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._ssl.load_cert_chain(self.ca_file, key_file)
            self._ssl.sni_callback = self._hello

    # -- life cycle ---------------------------------------------------------------------
    @property
    def residents(self) -> dict[str, Resident]:
        return {t.resident.id: t.resident for t in self.office.tenants.values()}

    async def start(self) -> None:
        if self.mail_sink is not None:
            await self.mail_sink.start()
            self.smtp = (self.mail_sink.host, self.mail_sink.port)
        app = web.Application()
        app.add_routes([web.get("/", self._index), web.static("/static", WEBAPP),
                        web.get("/ws/panel", self._panel_socket), web.get("/ws/device", self._device_socket)])
        admin.add_routes(app, self)
        resident.add_routes(app, self)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port, ssl_context=self._ssl).start()
        except OSError as e:
            await self.stop()
            # aiohttp's message is "[Errno 98] error while attempting to bind ...": say which server.
            raise OSError(f"cannot listen on {self.host}:{self.port} for the dev cloud: "
                          f"{os.strerror(e.errno) if e.errno else e}") from None
        self.port = self._runner.addresses[0][1]
        log.debug("dev cloud on %s", self.url)        # the demo and `cloud serve` print it

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.mail_sink is not None:
            await self.mail_sink.stop()

    def _hello(self, *_) -> None:
        self.tls_hellos += 1

    @property
    def url(self) -> str:
        return f"{'https' if self._ssl else 'http'}://{self.host}:{self.port}"

    @property
    def panel_url(self) -> str:
        return f"{'wss' if self._ssl else 'ws'}://{self.host}:{self.port}/ws/panel"

    def device_token(self, resident_id: str) -> str:
        return hmac.new(self.secret, resident_id.encode(), hashlib.sha256).hexdigest()[:32]

    def app_link(self, resident_id: str) -> str:
        """The resident web app, signed in as this resident."""
        return f"{self.url}/app?resident={resident_id}&token={self.device_token(resident_id)}"

    def device_url(self, resident_id: str, device: str) -> str:
        return (f"{'wss' if self._ssl else 'ws'}://{self.host}:{self.port}/ws/device?resident={resident_id}&device={device}"
                f"&token={self.device_token(resident_id)}")

    # -- pages ----------------------------------------------------------------------------
    async def _index(self, request: web.Request) -> web.Response:
        rows = "\n".join(
            f'<li><a href="{self.app_link(r.id)}">{_html(r.full_name)}</a> <span>{_html(r.unit)}</span></li>'
            for r in sorted(self.residents.values(), key=lambda r: (r.last_name, r.first_name)))
        page = (f"<!doctype html><html lang=en><meta charset=utf-8><title>{_html(self.property_name)}: residents"
                f"</title><link rel=stylesheet href=/static/app.css><main><h1>{_html(self.property_name)}</h1>"
                f"<p>Open the resident app as:</p><ul class=residents>{rows}</ul></main></html>")
        return web.Response(text=page, content_type="text/html")

    # -- the panel's socket -------------------------------------------------------------------
    async def _panel_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=10, max_msg_size=self.max_message_bytes)
        await ws.prepare(request)
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.panel_token}".encode()):
            await ws.close(code=CLOSE_UNAUTHORIZED, message=b"wrong panel token")
            return ws
        if self.panel is not None:
            await self.panel.close(code=WSCloseCode.POLICY_VIOLATION, message=b"replaced by a new connection")
        self.panel = ws
        self._sockets.add(ws)
        # What the panel must know to work on its own: who lives here, what is revoked, the rules.
        await self.push_directory()
        await self._to_panel({"type": "revocations", "ids": sorted(self.office.revocations)})
        await self.push_settings()
        try:
            async for message in _json_messages(ws):
                self.log.append({**message, "by": "panel"})
                await self._from_panel(message)
        finally:
            self._sockets.discard(ws)
            if self.panel is ws:
                self.panel = None
                for call in list(self.calls.values()):
                    self.history.call(call.id, end=True, outcome="missed", reason="panel_offline")
                    await self._to_devices(call.ringing | {call.device}, {"type": "ended", "call_id": call.id,
                                                                          "reason": "panel_offline"})
                self.calls.clear()
        return ws

    async def _from_panel(self, m: dict) -> None:
        trace.point("cloud.from_panel", type=m.get("type"))
        kind, call_id = m.get("type"), str(m.get("call_id", ""))
        if kind == "call":
            await self._ring(call_id, str(m.get("resident_id", "")), str(m.get("from", "")), str(m.get("door", "")),
                             _jpeg(m.get("snapshot")),
                             phone=str(m.get("phone", "")) if m.get("target") == "phone" else None)
        elif kind == "cancel" and call_id in self.calls:
            call = self.calls.pop(call_id)
            reason = str(m.get("reason", "cancelled"))
            self.history.call(call_id, end=True, outcome="missed" if reason == "no_answer" else "cancelled",
                              reason=reason)
            await self._to_devices(call.ringing, {"type": "cancelled", "call_id": call_id,
                                                  "reason": m.get("reason", "cancelled")})
        elif kind == "offer" and call_id in self.calls:
            await self._to_devices({self.calls[call_id].device}, {"type": "offer", "call_id": call_id,
                                                                   "sdp": m.get("sdp")})
        elif kind == "hangup" and call_id in self.calls:
            call = self.calls.pop(call_id)
            self.history.call(call_id, end=True, outcome="cancelled", reason=str(m.get("reason", "hung_up")))
            await self._to_devices(call.ringing | {call.device}, {"type": "ended", "call_id": call_id,
                                                                  "reason": m.get("reason", "hung_up")})
        elif kind == "door":
            await self._door({"type": "door", "call_id": call_id, "device": str(m.get("device", "")),
                              "ok": bool(m.get("ok")), "reason": str(m.get("reason", "")),
                              "door": str(m.get("door", ""))})
        elif kind == "event" and isinstance(m.get("id"), int) and isinstance(m.get("entry"), dict):
            entry = dict(m["entry"])
            snapshot = m.get("snapshot")
            if isinstance(snapshot, str):
                try:
                    entry["snapshot"] = base64.b64decode(snapshot, validate=True)
                except ValueError:
                    entry["snapshot"] = None
            self.office.record("panel", m["id"], entry)
            await self._to_panel({"type": "event_ack", "id": m["id"]})

    async def _ring(self, call_id: str, resident_id: str, building: str, door: str, snapshot: bytes | None,
                    phone: str | None = None) -> None:
        """Ring the resident's devices, or (phone: the number the panel asks the cloud to call)
        their phone."""
        tenant = self.office.tenants.get(resident_id)
        if tenant is None:
            await self._to_panel({"type": "call_failed", "call_id": call_id, "reason": "unknown_resident"})
            return
        if phone is not None:
            # No real telephony: the call is shown on the simulated phone line and rings out.
            self.phone_line.append({"call_id": call_id, "resident_id": resident_id, "phone": phone or tenant.phone,
                                    "from": building, "at": time.time()})
            await self._to_panel({"type": "ringing", "call_id": call_id, "devices": 0, "via": "phone"})
            return
        devices = {d.id for d in self.devices.values() if d.resident_id == resident_id}
        if not devices:
            await self._to_panel({"type": "call_failed", "call_id": call_id, "reason": "unavailable"})
            return
        self.calls[call_id] = Call(call_id, resident_id, ringing=set(devices))
        self.history.rang(call_id, resident_id, door, building, snapshot)
        incoming = {"type": "incoming", "call_id": call_id, "from": building, "door": door}
        if snapshot:
            incoming["snapshot"] = base64.b64encode(snapshot).decode()
        await self._to_devices(devices, incoming)
        await self._to_panel({"type": "ringing", "call_id": call_id, "devices": len(devices)})

    # -- devices' sockets ----------------------------------------------------------------------
    async def _device_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=10)
        await ws.prepare(request)
        q = request.query
        resident_id, device_id = q.get("resident", ""), q.get("device", "")
        token_ok = hmac.compare_digest(q.get("token", "").encode(), self.device_token(resident_id).encode())
        if (resident_id not in self.residents or not token_ok or not device_id
                or f"device:{device_id}" in self.office.revocations):
            await ws.close(code=CLOSE_UNAUTHORIZED, message=b"unknown resident or wrong token")
            return ws
        if device_id in self.devices:
            await self.devices[device_id].ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"replaced")
        device = Device(device_id, resident_id, ws)
        self.devices[device_id] = device
        self._sockets.add(ws)
        resident = self.residents[resident_id]
        await ws.send_json({"type": "hello", "resident": resident.full_name, "resident_id": resident_id,
                            "device": device_id, "property": self.property_name})
        try:
            async for message in _json_messages(ws):
                self.log.append({**message, "by": device_id})
                await self._from_device(device, message)
        finally:
            self._sockets.discard(ws)
            if self.devices.get(device_id) is device:
                del self.devices[device_id]
                await self._device_gone(device)
        return ws

    async def _from_device(self, device: Device, m: dict) -> None:
        trace.point("cloud.from_device", type=m.get("type"), device=device.id)
        kind, call_id = m.get("type"), str(m.get("call_id", ""))
        call = self.calls.get(call_id)
        resident = self.residents.get(device.resident_id)
        if resident is None:            # moved out a moment ago; their socket is closing
            return
        who = resident.full_name
        if kind == "accept":
            if call is None or call.device or device.id not in call.ringing:
                await device.ws.send_json({"type": "answered_elsewhere" if call and call.device else "cancelled",
                                           "call_id": call_id, "reason": "gone"})
                return
            call.ringing.discard(device.id)
            call.device = device.id
            others, call.ringing = call.ringing, set()
            self.history.call(call_id, outcome="answered")
            await self._to_devices(others, {"type": "answered_elsewhere", "call_id": call_id})
            await self._to_panel({"type": "accepted", "call_id": call_id, "device": device.id})
        elif kind in ("decline", "hangup") and call is not None and device.id in call.ringing:
            del self.calls[call_id]
            self.history.call(call_id, end=True, outcome="declined")
            await self._to_devices(call.ringing - {device.id}, {"type": "cancelled", "call_id": call_id,
                                                                "reason": "declined"})
            await self._to_panel({"type": "declined", "call_id": call_id, "device": device.id})
        elif kind == "hangup" and call is not None and call.device == device.id:
            del self.calls[call_id]
            self.history.call(call_id, end=True, reason="hung_up")
            await self._to_panel({"type": "hangup", "call_id": call_id, "device": device.id, "reason": "hung_up"})
        elif kind == "answer" and call is not None and call.device == device.id:
            await self._to_panel({"type": "answer", "call_id": call_id, "sdp": m.get("sdp")})
        elif kind == "control" and call is not None and call.device == device.id:
            await self._to_panel({"type": "control", "call_id": call_id, "device": device.id,
                                  **{k: m[k] for k in ("video", "muted") if isinstance(m.get(k), bool)}})
        elif kind == "open_door":
            # The panel decides: only the device holding the active call may open.
            self._asked[device.id] = device.resident_id
            await self._to_panel({"type": "open_door", "call_id": call_id, "device": device.id,
                                  "resident_id": device.resident_id, "who": who},
                                 or_else=device)
        elif kind == "remote_unlock":
            self._asked[device.id] = device.resident_id
            await self._to_panel({"type": "remote_unlock", "device": device.id, "resident_id": device.resident_id,
                                  "who": who}, or_else=device)

    async def _device_gone(self, device: Device) -> None:
        for call in list(self.calls.values()):
            if call.device == device.id:
                del self.calls[call.id]
                self.history.call(call.id, end=True, reason="gone")
                await self._to_panel({"type": "hangup", "call_id": call.id, "device": device.id, "reason": "gone"})
            elif device.id in call.ringing:
                call.ringing.discard(device.id)
                if not call.ringing and not call.device:
                    del self.calls[call.id]
                    self.history.call(call.id, end=True, outcome="missed", reason="unavailable")
                    await self._to_panel({"type": "call_failed", "call_id": call.id, "reason": "unavailable"})

    # -- sending ------------------------------------------------------------------------------
    async def _to_panel(self, message: dict, or_else: Device | None = None) -> None:
        if self.panel is None or self.panel.closed:
            if or_else is not None:
                await self._door({"type": "door", "call_id": message.get("call_id", ""), "device": or_else.id,
                                  "ok": False, "reason": "panel_offline", "door": ""})
            return
        await _send(self.panel, message)

    async def _door(self, reply: dict) -> None:
        """The answer to a device's open_door or remote_unlock: in its resident's history, then to it."""
        resident_id = self._asked.pop(reply["device"], None)
        if resident_id is not None:
            self.history.door(resident_id, ok=reply["ok"], reason=reply["reason"], door=reply["door"],
                              call_id=reply["call_id"])
        await self._to_devices({reply.pop("device")}, reply)

    async def _to_devices(self, device_ids: set[str], message: dict) -> None:
        for device_id in device_ids:
            device = self.devices.get(device_id)
            if device is not None:
                await _send(device.ws, message)

    # -- keeping the panel up to date ---------------------------------------------------------
    async def push_directory(self) -> None:
        await self._to_panel({"type": "directory", "residents": [
            {"id": r.id, "first_name": r.first_name, "last_name": r.last_name, "unit": r.unit,
             "display_name": r.display_name, "cards": list(r.cards), "sip": r.sip, "phone": t.phone,
             "contact": routing.to_json(routing.parse(t.contact))} for t in self.office.tenants.values()
            for r in (t.resident,)]})

    async def push_settings(self) -> None:
        s = self.office.settings
        await self._to_panel({"type": "settings", "allow_visitors": s.allow_visitors,
                              "visitor_limit_hours": s.visitor_limit_hours,
                              "contact": routing.to_json(routing.parse(s.contact))})

    async def moved_out(self, resident_id: str) -> None:
        """After a move-out: the panel forgets them and revokes all they hold; their devices go."""
        await self.push_directory()
        await self._to_panel({"type": "revocations", "ids": sorted(self.office.revocations)})
        for device in [d for d in self.devices.values() if d.resident_id == resident_id]:
            await device.ws.close(code=CLOSE_UNAUTHORIZED, message=b"moved out")

    # -- for tests and the demo -----------------------------------------------------------------
    async def wait_for_devices(self, resident_id: str, count: int) -> None:
        while sum(d.resident_id == resident_id for d in self.devices.values()) < count:
            await asyncio.sleep(0.01)


async def _send(ws: web.WebSocketResponse, message: dict) -> None:
    if ws.closed:
        return
    try:
        await ws.send_json(message)
    except (ConnectionResetError, RuntimeError) as e:
        log.debug("send to a closing socket failed: %s", e)


async def _json_messages(ws: web.WebSocketResponse):
    from aiohttp import WSMsgType
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            continue
        try:
            data = json.loads(msg.data)
        except json.JSONDecodeError:
            await _send(ws, {"type": "error", "message": "not JSON"})
            continue
        if isinstance(data, dict):
            yield data
        else:
            await _send(ws, {"type": "error", "message": "expected a JSON object"})


def _self_signed(folder: Path, host: str) -> tuple[Path, Path, str]:
    """A self-signed certificate for `host` (its own CA) and its key, as PEM files in
    `folder`; returns their paths and the certificate's SHA-256 fingerprint (hex)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"dev cloud {host}")])
    try:
        alt = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alt = x509.DNSName(host)
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "cloud-cert.pem", folder / "cloud-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file, cert.fingerprint(hashes.SHA256()).hex()


def _jpeg(data) -> bytes | None:
    """The ring's snapshot (base64 JPEG), or None when absent, not a JPEG or too big."""
    if not isinstance(data, str) or len(data) > MAX_RING_SNAPSHOT * 4 // 3 + 4:
        return None
    try:
        jpeg = base64.b64decode(data, validate=True)
    except ValueError:
        return None
    return jpeg if jpeg.startswith(b"\xff\xd8") else None


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
