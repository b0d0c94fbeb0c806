"""E-mail for the dev cloud: sending through SMTP, and a local SMTP sink (aiosmtpd)
that keeps what it receives (in the cloud's SQLite file when it has one, so a restarted
demo still shows the invitations it sent), so the dev cloud can show it and tests can read it."""

from __future__ import annotations

import asyncio
import email
import email.policy
import email.utils
import re
import smtplib
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP

from .cloud_db import CloudDb

LINK = re.compile(r"https?://[^\s<>\"']+")


class MailSink:
    """An SMTP server on 127.0.0.1 that accepts every message and keeps it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, db: CloudDb | None = None):
        self.host, self.port = host, port
        self.db = db or CloudDb(None)
        self.messages: list[EmailMessage] = [_parse(raw) for raw in self.db.mail()]
        self.arrived = asyncio.Condition()
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SMTP(self, hostname="dev-cloud.invalid"),
                                                self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def handle_DATA(self, server, session, envelope) -> str:     # aiosmtpd handler hook
        message = _parse(envelope.content)
        self.db.add_mail(envelope.content)
        async with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    async def wait_for(self, to: str, timeout: float = 10.0) -> EmailMessage:
        """The first message to this address (waits for it to arrive)."""
        async def find():
            async with self.arrived:
                while True:
                    for m in self.messages:
                        if to in m["To"]:
                            return m
                    await self.arrived.wait()
        return await asyncio.wait_for(find(), timeout)


def _parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def mail_json(n: int, message: EmailMessage) -> dict:
    """A received message for the staff page: its headers, its text, and the links in it."""
    body = message.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    return {"n": n, "from": str(message["From"] or ""), "to": str(message["To"] or ""),
            "subject": str(message["Subject"] or ""), "date": str(message["Date"] or ""),
            "text": text, "links": LINK.findall(text)}


async def send_mail(host: str, port: int, sender: str, to: str, subject: str, text: str, html: str = "") -> None:
    """Send one message through an SMTP server (in a worker thread: smtplib blocks)."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = email.utils.formatdate(localtime=True)
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")

    def send():
        with smtplib.SMTP(host, port, timeout=10) as smtp:
            smtp.send_message(message)
    await asyncio.to_thread(send)
