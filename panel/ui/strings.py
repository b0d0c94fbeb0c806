"""The string table: every visible text comes from assets/i18n/<language>.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

from ..config import ASSETS

I18N = ASSETS / "i18n"


class Strings:
    def __init__(self, language: str = "en"):
        self.language = language
        self._en = _read(I18N / "en.toml")
        path = I18N / f"{language}.toml"
        if not path.exists():
            raise ValueError(f"no string table for language {language!r} (looked for {path})")
        self._table = _read(path)

    def __call__(self, key: str, **values) -> str:
        # A key missing in a translation falls back to English rather than failing.
        text = self._table.get(key, self._en.get(key, key))
        return text.format(**values) if values else text

    def reason(self, code: str) -> str:
        reasons = self._table.get("reasons", {})
        return reasons.get(code) or self._en["reasons"].get(code) or self._en["reasons"]["unknown"]


def _read(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def languages() -> list[str]:
    return sorted(p.stem for p in I18N.glob("*.toml"))
