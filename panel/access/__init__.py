"""QR access: signed credentials (credential.py), the door policy (policy.py), keys."""

from .credential import (
    PREFIX,
    STEP_SECONDS,
    Credential,
    issue_credential,
    qr_code,
    read_credential,
    rotating_code,
    write_qr_png,
)
from .keys import generate_private_key, load_public_key, load_trusted_keys, public_key_text
from .policy import REASONS, Decision, ReplayGuard, verify

__all__ = [
    "PREFIX",
    "STEP_SECONDS",
    "Credential",
    "Decision",
    "REASONS",
    "ReplayGuard",
    "generate_private_key",
    "issue_credential",
    "load_public_key",
    "load_trusted_keys",
    "public_key_text",
    "qr_code",
    "read_credential",
    "rotating_code",
    "verify",
    "write_qr_png",
]
