"""The string table: every visible text comes from assets/i18n/<language>.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

from ..config import ASSETS

I18N = ASSETS / "i18n"


class Strings:
    def __init__(self, language: str = "en"):
        problem = language_problem(language)
        if problem:
            raise ValueError(problem)
        self.language = language
        self._en = _read(I18N / "en.toml")
        self._table = _read(I18N / f"{language}.toml")

    def __call__(self, key: str, **values) -> str:
        # A key missing in a translation falls back to English rather than failing.
        text = self._table.get(key, self._en.get(key, key))
        return text.format(**values) if values else text

    def reason(self, code: str) -> str:
        # An unknown code still gets a refusal in the screen's language.
        reasons, en = self._table.get("reasons", {}), self._en["reasons"]
        return reasons.get(code) or en.get(code) or reasons.get("unknown") or en["unknown"]

    @property
    def keyboard(self) -> list[str]:
        """The on-screen keyboard's rows of letter keys (QWERTY, QWERTZ with umlauts, ...)."""
        return list(self._table.get("keyboard", self._en["keyboard"]))


def _read(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def languages() -> list[str]:
    return sorted(p.stem for p in I18N.glob("*.toml"))


def language_problem(language: str) -> str | None:
    """None when the panel can speak language; otherwise a one-line complaint for config errors."""
    if language in languages():
        return None
    return f"'panel.language' = {language!r}: no string table for it; use one of {', '.join(languages())}"
