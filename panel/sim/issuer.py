"""The development issuer: the key a property's back office signs credentials with.

Only the demo wiring, the developer CLI and tests use it; the firmware's own paths
load public keys from config and never see this private key.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..access import issue_credential, write_qr_png
from ..access.keys import generate_private_key, load_private_key, private_key_text, public_key_text

DEV_KID = "dev-1"


class DevIssuer:
    def __init__(self, key_file: str | Path | None, kid: str = DEV_KID):
        """Load the issuer key from key_file, creating it (mode 600) on first use;
        None: a key in memory only (tests)."""
        self.path = Path(key_file) if key_file is not None else None
        self.kid = kid
        if self.path is None:
            self.private_key = generate_private_key()
        elif self.path.exists():
            self.private_key = load_private_key(self.path.read_text().strip())
        else:
            self.private_key = generate_private_key()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch(mode=0o600)
            self.path.write_text(private_key_text(self.private_key) + "\n")

    @property
    def public_key(self) -> str:
        return public_key_text(self.private_key)

    def trusted_keys(self) -> dict[str, str]:
        return {self.kid: self.public_key}

    def issue(self, *, holder_id: str, holder_name: str, kind: str = "resident", doors=("main",),
              hours: float = 24 * 365, not_before: float | None = None, credential_id: str | None = None,
              device_key=None, invited_by: str | None = None) -> str:
        """A signed credential; with device_key (the phone's public key) a device credential
        from which the phone makes its rotating codes; invited_by: the inviting resident's id."""
        start = time.time() - 60 if not_before is None else not_before
        return issue_credential(self.private_key, self.kid, holder_id=holder_id, holder_name=holder_name,
                                kind=kind, doors=list(doors), not_before=start, not_after=start + hours * 3600,
                                credential_id=credential_id, device_key=device_key,
                                invited_by=invited_by)

    def write_demo_keys(self, folder: str | Path, residents, door: str, count: int = 3) -> list[Path]:
        """QR PNGs for the first residents and one visitor, for trying the camera path."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for r in list(residents)[:count]:
            text = self.issue(holder_id=r.id, holder_name=r.full_name, doors=[door], credential_id=f"demo-{r.id}")
            path = out / f"resident-{r.id}.png"
            write_qr_png(text, path)
            paths.append(path)
        visitor = self.issue(holder_id="visitor-demo", holder_name="Demo Visitor", kind="visitor", doors=[door],
                             hours=8, credential_id="demo-visitor")
        write_qr_png(visitor, out / "visitor.png")
        paths.append(out / "visitor.png")
        return paths
