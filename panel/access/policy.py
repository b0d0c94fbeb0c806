"""Whether a scanned code opens this door now: one pure function, ``verify``.

The checks run in this order and the first failure is the reason:

    malformed -> unknown_issuer -> bad_signature        (credential.read_credential)
    revoked -> inviter_moved_out -> visitors_disabled -> not_yet_valid -> expired -> visitor_limit
    -> wrong_door -> (rotating codes) stale step: expired / not_yet_valid -> replayed

Who the holder is (id, name, kind, credential id) is reported only once the
issuer's signature has been checked, so a forged code never puts a name in the log.

A visitor credential is valid from its not-before for at most
``visitor_limit_hours``, whatever its own not-after says: past that the panel
refuses it with "visitor_limit" (and with "expired" once its own not-after passed).

Time (panel/trusted_time.py): every window is checked at ``max(now, trusted_floor)``,
the latest time the panel could trust, so a clock running behind never accepts a key
that expired before it. On an untrusted clock (``clock_trusted=False``) a key that
is not valid yet by the panel's clock is taken as the clock being behind for a
resident's key (accepted: a resident is not locked out by a Pi that booted without
network; their keys start when issued) and refused for a visitor's ("not_yet_valid":
an invitation for later never opens early); a rotating code from the future is
accepted likewise, as only the resident's phone can make it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .. import trace
from .credential import STEP_SECONDS, Refused, read_credential

# Reason codes; what the panel says for each is in the string table (assets/i18n).
REASONS = (
    "malformed",
    "bad_signature",
    "unknown_issuer",
    "expired",
    "not_yet_valid",
    "revoked",
    "wrong_door",
    "visitor_limit",
    "visitors_disabled",
    "replayed",
    "inviter_moved_out",
)

SKEW_STEPS = 1  # a rotating code is accepted one 30 s step either side of the panel's clock


@dataclass(frozen=True)
class Decision:
    """Field names match panel.core.events.CredentialChecked; strings are "" when unknown."""

    ok: bool
    reason: str = ""  # one of REASONS when not ok
    holder_id: str = ""
    holder_name: str = ""
    kind: str = ""  # resident | visitor
    credential_id: str = ""


class ReplayGuard:
    """The last time step accepted per rotating credential, so each code (and any
    older one) opens the door once. Entries outlive the skew window only until the
    next accepted code prunes them. In memory: after a restart a code less than
    ~90 s old could be used once more, which is acceptable for a door."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def used(self, credential_id: str, step: int) -> bool:
        last = self._last.get(credential_id)
        return last is not None and step <= last

    def accept(self, credential_id: str, step: int, current_step: int) -> None:
        self._last[credential_id] = max(step, self._last.get(credential_id, step))
        for cid, last in list(self._last.items()):
            if last < current_step - SKEW_STEPS:
                del self._last[cid]


def _refuse(reason: str, credential=None) -> Decision:
    if credential is None:
        return Decision(False, reason)
    return Decision(
        False, reason, credential.holder_id, credential.holder_name, credential.kind, credential.credential_id
    )


def verify(text: str, **kwargs) -> Decision:
    """See _verify: the same, between the trace points access.verify.start and .end."""
    trace.point("access.verify.start", text=text)
    decision = _verify(text, **kwargs)
    trace.point("access.verify.end", text=text, ok=decision.ok, reason=decision.reason)
    return decision


def _verify(
    text: str,
    *,
    now: float | datetime,
    door: str,
    trusted_keys: dict[str, Ed25519PublicKey],
    is_revoked: Callable[[str], bool],
    visitor_limit_hours: float,
    allow_visitors: bool = True,
    replay: ReplayGuard | None = None,
    is_holder_revoked: Callable[[str], bool] | None = None,
    trusted_floor: float = 0.0,
    clock_trusted: bool = True,
) -> Decision:
    """Decide on one scanned text. ``now`` is seconds since the epoch (or an aware
    datetime). ``is_revoked(credential_id)``; ``is_holder_revoked(holder_id)``
    (optional) refuses everything a moved-out resident holds at once. ``replay``
    keeps rotating codes single-use (pass the same guard for every scan; without it
    a rotating code is accepted again within its step window).

    Never raises because of ``text``: anything unreadable is "malformed". (Errors
    raised by the ``is_revoked`` callbacks do propagate.)"""
    now = now.timestamp() if isinstance(now, datetime) else float(now)
    now = max(now, trusted_floor)       # a clock behind the last trusted time cannot resurrect a key
    early_ok = not clock_trusted        # see the module's note on untrusted clocks
    try:
        cred = read_credential(text, trusted_keys)
    except Refused as refused:
        return _refuse(refused.reason)
    except Exception:  # belt and braces: a parser bug must refuse, not crash the panel
        return _refuse("malformed")

    if is_revoked(cred.credential_id) or (is_holder_revoked is not None and is_holder_revoked(cred.holder_id)):
        return _refuse("revoked", cred)
    # A visitor key stops with its host: moving out revokes "holder:<inviter>", and the
    # key names its inviter, so the panel needs no list of the invitations.
    if cred.invited_by is not None and is_holder_revoked is not None and is_holder_revoked(cred.invited_by):
        return _refuse("inviter_moved_out", cred)
    if cred.kind == "visitor" and not allow_visitors:
        return _refuse("visitors_disabled", cred)
    if now < cred.not_before and not (early_ok and cred.kind == "resident"):
        return _refuse("not_yet_valid", cred)
    if now >= cred.not_after:
        return _refuse("expired", cred)
    if cred.kind == "visitor" and now >= cred.not_before + visitor_limit_hours * 3600.0:
        return _refuse("visitor_limit", cred)
    if door not in cred.doors:
        return _refuse("wrong_door", cred)
    if cred.step is not None:
        current = int(now // STEP_SECONDS)
        if cred.step < current - SKEW_STEPS:
            return _refuse("expired", cred)
        if cred.step > current + SKEW_STEPS and not early_ok:
            return _refuse("not_yet_valid", cred)
        if replay is not None:
            if replay.used(cred.credential_id, cred.step):
                return _refuse("replayed", cred)
            replay.accept(cred.credential_id, cred.step, current)
    return Decision(True, "", cred.holder_id, cred.holder_name, cred.kind, cred.credential_id)
