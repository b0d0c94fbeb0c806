"""Registration (RFC 3261 section 10): REGISTER with digest authentication, renewed
before it expires; a refusal (wrong password, unknown user) is said once, in one line."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from . import auth, message
from .message import Address, URI
from .transaction import ClientTransaction, TransactionTimeout, Transport

log = logging.getLogger(__name__)

RETRY_SECONDS = 30.0            # after a refusal or no answer


@dataclass(frozen=True)
class Account:
    uri: str                    # the panel's address of record, sip:panel@pbx.example
    username: str = ""          # digest user name (default: the URI's user)
    password: str = ""
    registrar: str = ""         # host[:port]; empty: no registration (direct calls only)


def host_port(text: str, default: int = 5060) -> tuple[str, int]:
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    return (host, int(port)) if port else (text, default)


class Registration:
    """Keeps one account registered; `state` is "registering", "registered" or "refused: ..."."""

    def __init__(self, transport: Transport, account: Account, contact: Callable[[], Address], *,
                 expires: int, on_change: Callable[["Registration"], None] = lambda r: None):
        self.transport, self.account, self.contact = transport, account, contact
        self.expires = expires
        self.on_change = on_change
        self.aor = URI.parse(account.uri)
        self.registrar = host_port(account.registrar)
        self.call_id = message.new_call_id(self.registrar[0])
        self.tag = message.new_tag()
        self.cseq = 0
        self.state = "registering"
        self.registered_count = 0           # successful REGISTERs: renewals show here

    @property
    def registered(self) -> bool:
        return self.state == "registered"

    async def run(self) -> None:
        while True:
            try:
                granted = await self.register(self.expires)
            except TransactionTimeout:
                self._set(f"no answer from the registrar {self.account.registrar}")
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if granted is None:
                await asyncio.sleep(RETRY_SECONDS)
                continue
            # Renew at half the granted time, as most phones do: a lost REGISTER has time for a retry.
            await asyncio.sleep(max(granted / 2, 0.5))

    async def register(self, expires: int) -> int | None:
        """One registration, answering a challenge; the seconds granted, or None (refused)."""
        credentials = None
        for _attempt in range(2):
            self.cseq += 1
            user = self.aor.user or ""
            req = message.request(
                "REGISTER", URI(scheme="sip", host=self.aor.host, port=self.aor.port),
                via=self.transport.address, from_addr=Address(uri=self.aor, parameters=message.Parameters(tag=self.tag)),
                to_addr=Address(uri=self.aor), call_id=self.call_id, cseq=self.cseq, contact=self.contact(),
                headers={"Expires": str(expires)})
            if credentials is not None:
                req.headers.set(*credentials)
            response = await ClientTransaction(self.transport, req, self.registrar).final()
            if response.code in (401, 407) and credentials is None:
                try:
                    answer = auth.answer(auth.challenge_of(response), method="REGISTER", uri=str(req.uri),
                                         username=self.account.username or user, password=self.account.password)
                except auth.AuthError as e:
                    self._set(f"refused: {e}")
                    return None
                credentials = ("Authorization" if response.code == 401 else "Proxy-Authorization", str(answer))
                continue
            if 200 <= response.code < 300:
                if expires == 0:
                    self._set("unregistered")
                    return 0
                granted = _granted(response, expires)
                self.registered_count += 1
                self._set("registered")
                return granted
            why = ("wrong user name or password" if response.code in (401, 403, 407)
                   else f"{response.code} {response.phrase}")
            self._set(f"refused: {why}")
            return None
        return None

    async def unregister(self) -> None:
        """Shutdown: remove the panel's binding, so the registrar stops routing calls here."""
        if self.registered:
            try:
                await self.register(0)
            except TransactionTimeout:
                pass

    def _set(self, state: str) -> None:
        if state != self.state:
            where = f"SIP account {self.account.uri} at {self.account.registrar}"
            if state in ("registered", "unregistered"):
                log.info("%s: %s", where, state)
            else:
                log.warning("%s: registration %s (check [sip] accounts in the config)", where, state)
            self.state = state
            self.on_change(self)


def _granted(response, asked: int) -> int:
    for contact in response.contact:
        value = contact.parameters.get("expires")
        if value and value.isdigit():
            return int(value)
    return response.expires if response.expires is not None else asked
