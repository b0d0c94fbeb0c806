"""E-mail for the dev cloud: sending through SMTP, and a local SMTP sink (aiosmtpd)
that keeps what it receives, so the dev cloud can show it and tests can read it."""

from __future__ import annotations

import asyncio
import email
import email.policy
import smtplib
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP


class MailSink:
    """An SMTP server on 127.0.0.1 that accepts every message and keeps it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self.messages: list[EmailMessage] = []
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
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
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


async def send_mail(host: str, port: int, sender: str, to: str, subject: str, text: str, html: str = "") -> None:
    """Send one message through an SMTP server (in a worker thread: smtplib blocks)."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")

    def send():
        with smtplib.SMTP(host, port, timeout=10) as smtp:
            smtp.send_message(message)
    await asyncio.to_thread(send)
