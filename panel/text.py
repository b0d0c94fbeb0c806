"""Text from outside (the office, the cloud, a key's holder name) made safe to show and store."""

from __future__ import annotations

import unicodedata

# Bidirectional overrides and isolates: they reorder what is shown ("txt.exe" as "exe.txt").
_BIDI = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}


def unprintable(c: str) -> bool:
    return unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") or c in _BIDI


def clean_text(value: str, limit: int) -> str:
    """value without control characters (NUL included), lone surrogates, bidi overrides or
    line breaks (each becomes a space), whitespace runs as one space, cut to limit."""
    out = "".join(" " if unprintable(c) else c for c in value)
    return " ".join(out.split())[:limit].rstrip()


def text_problem(label: str, value: str, limit: int) -> str | None:
    """Why value is not acceptable as typed text, as one line for the person who typed it;
    None when it is."""
    if any(unprintable(c) for c in value):
        return f"{label} contains a control character (a NUL, tab, line break or similar): type it again"
    if len(value) > limit:
        return f"{label} is too long: at most {limit} characters"
    return None
