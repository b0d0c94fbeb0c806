"""Test helpers: a QR key shown to a running panel's camera, and the door it opens."""

from __future__ import annotations

import io
import itertools

from panel.access import qr_code
from tests.support import until

_serial = itertools.count()


def qr_png(text: str) -> bytes:
    buf = io.BytesIO()
    qr_code(text).save(buf, kind="png", scale=6, border=4)
    return buf.getvalue()


async def show(panel, text: str) -> None:
    """Hold a code up to the panel's camera (POST camera/frame)."""
    async with panel.request("POST", "/camera/frame", data=qr_png(text)) as r:
        assert r.status == 200, await r.text()


async def key_opens_the_door(panel, issuer, credential_id: str | None = None) -> None:
    """A fresh resident key from `issuer` (a DevIssuer the panel trusts) opens the door,
    and the relay locks again after its pulse."""
    await until(lambda: not panel.app.strike.unlocked, what="the relay locked before the key")
    key = issuer.issue(holder_id="r01", holder_name="Olivia Smith",
                       credential_id=credential_id or f"cred-test-{next(_serial)}")
    await show(panel, key)
    await until(lambda: panel.app.strike.unlocked, what="the relay energized by the key")
    await until(lambda: not panel.app.strike.unlocked, what="the relay locked again")
