"""The resident directory: who lives here, how their names are shown, and search.

Search is by first name, last name or unit, insensitive to case and accents
("zoe" finds "Zoë"), tolerant to small typos through rapidfuzz, best match first.
"""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process


@dataclass(frozen=True)
class Resident:
    id: str
    first_name: str
    last_name: str
    unit: str
    display_name: str = ""          # overrides the property's naming rule when set

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def shown_as(self, rule: str = "full") -> str:
        """The name visitors see: full name, initial and surname, or the unit only."""
        if self.display_name:
            return self.display_name
        if rule == "unit":
            return f"Apartment {self.unit}"
        if rule == "initial" and self.first_name:
            return f"{self.first_name[0]}. {self.last_name}"
        return self.full_name


@dataclass(frozen=True)
class Property:
    id: str
    name: str
    residents: tuple[Resident, ...]


class PropertyError(Exception):
    pass


def load_property(path: str | Path) -> Property:
    """Read a property file (TOML: [property] and [[residents]])."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PropertyError(f"{p}: property file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise PropertyError(f"{p}: not a valid TOML property file: {e}") from None
    info = data.get("property", {})
    residents = []
    seen = set()
    for i, r in enumerate(data.get("residents", []), start=1):
        try:
            resident = Resident(id=str(r["id"]), first_name=str(r.get("first_name", "")),
                                last_name=str(r["last_name"]), unit=str(r["unit"]),
                                display_name=str(r.get("display_name", "")))
        except (KeyError, TypeError) as e:
            raise PropertyError(f"{p}: resident #{i} lacks {e}") from None
        if resident.id in seen:
            raise PropertyError(f"{p}: resident id {resident.id!r} appears twice")
        seen.add(resident.id)
        residents.append(resident)
    return Property(id=str(info.get("id", p.stem)), name=str(info.get("name", p.stem)),
                    residents=tuple(residents))


def fold(text: str) -> str:
    """Lower case without accents: the form names are compared in."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ß", "ss")


class Directory:
    """Residents prepared for fast search-as-you-type."""

    def __init__(self, residents: list[Resident] | tuple[Resident, ...], rule: str = "full"):
        self.rule = rule
        self.residents = sorted(residents, key=lambda r: (fold(r.last_name), fold(r.first_name), r.unit))
        self._by_id = {r.id: r for r in self.residents}
        # One folded string per resident, words in the order people type them.
        self._keys = [fold(f"{r.first_name} {r.last_name} {r.unit}") for r in self.residents]
        self._words = [k.split() for k in self._keys]

    def __len__(self) -> int:
        return len(self.residents)

    def get(self, resident_id: str) -> Resident | None:
        return self._by_id.get(resident_id)

    def search(self, query: str, limit: int = 50) -> list[Resident]:
        q = fold(query).strip()
        if not q:
            return self.residents[:limit]
        terms = q.split()
        # Exact prefix matches of every typed word first; they are what people expect.
        prefix = [i for i, words in enumerate(self._words)
                  if all(any(w.startswith(t) for w in words) for t in terms)]
        if len(prefix) >= limit:
            return [self.residents[i] for i in prefix[:limit]]
        # Then typo-tolerant matches, best score first.
        taken = set(prefix)
        fuzzy = process.extract(q, self._keys, scorer=fuzz.partial_ratio, limit=limit + len(prefix),
                                score_cutoff=75 if len(q) > 2 else 90)
        rest = [i for _, _, i in fuzzy if i not in taken]
        return [self.residents[i] for i in (prefix + rest)[:limit]]
