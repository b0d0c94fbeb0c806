"""The resident directory: who lives here, how their names are shown, and search.

Search is by first name, last name or unit, insensitive to case and accents
("zoe" finds "Zoë"), tolerant to small typos through rapidfuzz, best match first.

Every resident is cleaned where it is made (`Resident.__post_init__`), whatever the
source (property file, cloud directory, store): a NUL, a control character or a lone
surrogate from one office typo must not break the screen, the store or the search
for everyone, so they are dropped or replaced and absurd lengths are cut
(`clean_text`). The office refuses such input up front (`text_problem`).
"""

from __future__ import annotations

import bisect
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

from .access.cards import CardError, normalize_card
from .core import routing
from .files import FileProblem, read_regular
from .text import clean_text

# The most characters kept of each field: longer is a mistake, not a name.
LIMITS = {"id": 128, "first_name": 64, "last_name": 64, "unit": 32, "display_name": 80}


@dataclass(frozen=True)
class Resident:
    id: str
    first_name: str
    last_name: str
    unit: str
    display_name: str = ""          # overrides the property's naming rule when set
    cards: tuple[str, ...] = ()     # access cards for an OSDP reader, normalized (panel.access.cards)
    sip: str = ""                   # a SIP URI to call them at ([sip] in the config)
    phone: str = ""                 # a phone number, dialled through [sip] trunk (or by the cloud)
    contact: str = ""               # whom a call rings, in order (core/routing.py, text form); "" = the property's

    def __post_init__(self):
        for name, limit in LIMITS.items():
            value = getattr(self, name)
            object.__setattr__(self, name, clean_text(value if isinstance(value, str) else str(value), limit))

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def shown_as(self, rule: str = "full", unit_label: str = "Apartment {unit}") -> str:
        """The name visitors see: full name, initial and surname, or the unit only
        (unit_label: the screen language's words for it)."""
        if self.display_name:
            return self.display_name
        if rule == "unit":
            return unit_label.format(unit=self.unit)
        if rule == "initial" and self.first_name:
            return f"{self.first_name[0]}. {self.last_name}"
        return self.full_name


@dataclass(frozen=True)
class Property:
    id: str
    name: str
    residents: tuple[Resident, ...]
    doors: tuple[str, ...] = ("main",)      # the door ids its panels guard (panel.door_id)
    contact: str = ""                       # the residents' default contact (core/routing.py, text form)


class PropertyError(Exception):
    pass


MAX_PROPERTY_BYTES = 32 << 20      # some 100,000 residents; more is the wrong file


def load_property(path: str | Path) -> Property:
    """Read a property file (TOML: [property] and [[residents]])."""
    p = Path(path)
    try:
        data = tomllib.loads(read_regular(p, MAX_PROPERTY_BYTES, "property file").decode("utf-8"))
    except FileProblem as e:
        raise PropertyError(str(e)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise PropertyError(f"{p}: not a valid TOML property file: {e}") from None
    info = data.get("property", {})
    residents = []
    seen = set()
    cards: dict[str, str] = {}          # card number -> resident id
    for i, r in enumerate(data.get("residents", []), start=1):
        try:
            resident = Resident(id=str(r["id"]), first_name=str(r.get("first_name", "")),
                                last_name=str(r["last_name"]), unit=str(r["unit"]),
                                display_name=str(r.get("display_name", "")),
                                cards=tuple(normalize_card(str(c)) for c in r.get("cards", [])),
                                sip=str(r.get("sip", "")), phone=str(r.get("phone", "")),
                                contact=contact_text(r.get("contact")))
        except (KeyError, TypeError) as e:
            raise PropertyError(f"{p}: resident #{i} lacks {e}") from None
        except (CardError, routing.ContactError) as e:
            raise PropertyError(f"{p}: resident #{i}: {e}") from None
        problem = sip_problem(resident.sip) or phone_problem(resident.phone)
        if problem:
            raise PropertyError(f"{p}: resident #{i}: {problem}")
        if resident.id in seen:
            raise PropertyError(f"{p}: resident id {resident.id!r} appears twice")
        seen.add(resident.id)
        for card in resident.cards:
            if card in cards:
                raise PropertyError(f"{p}: card {card} is listed for both {cards[card]!r} and {resident.id!r}")
            cards[card] = resident.id
        residents.append(resident)
    doors = info.get("doors", ["main"])
    if not isinstance(doors, list) or not doors or not all(isinstance(d, str) and d for d in doors):
        raise PropertyError(f"{p}: [property] doors must be a list of door ids such as [\"main\"]")
    try:
        contact = contact_text(info.get("contact"))
    except routing.ContactError as e:
        raise PropertyError(f"{p}: [property] contact: {e}") from None
    return Property(id=str(info.get("id", p.stem)), name=str(info.get("name", p.stem)),
                    residents=tuple(residents), doors=tuple(doors), contact=contact)


def contact_text(value) -> str:
    """A contact (text or steps, from a property file, the office, the cloud) in its text
    form; ContactError says what is wrong with it."""
    return routing.text(routing.parse(value))


def sip_problem(uri: str) -> str:
    if uri and (not uri.startswith(("sip:", "sips:")) or "@" not in uri or len(uri) > 200 or " " in uri):
        return f"sip = {uri!r}: expected a SIP URI, sip:user@host"
    return ""


def phone_problem(phone: str) -> str:
    try:
        phone and routing.number(phone)
    except routing.ContactError as e:
        return f"phone: {e}"
    return ""


def fold(text: str) -> str:
    """Lower case without accents: the form names are compared in."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ß", "ss")


# German spells an umlaut out when the keyboard has none: "Mueller" is "Müller".
_SPELLED_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "ae", "Ö": "oe", "Ü": "ue"})
_WORD = re.compile(r"[^\W_]+")


def words(text: str, lead: bool = False) -> set[str]:
    """The folded words a visitor may type for text: "Hohenberg-Strassburg" is
    "hohenberg", "strassburg" and "hohenbergstrassburg"; "Müller" is also "mueller".
    lead: only the words a part of the name starts with ("von", "hohenberg",
    "hohenbergstrassburg"), not those after a hyphen ("strassburg")."""
    out = set()
    for form in {fold(text), fold(text.translate(_SPELLED_OUT))}:
        for chunk in form.split():
            parts = _WORD.findall(chunk)
            out.update(parts[:1] if lead else parts)
            if parts:                           # hyphenated or dotted, typed without the mark
                out.add("".join(parts))
    return out


def typos_allowed(term: str) -> int:
    """Edits tolerated in a typed word: none in the first three letters (they find too much),
    one up to six letters, two beyond."""
    return 0 if len(term) <= 3 else 1 if len(term) <= 6 else 2


class Directory:
    """Residents prepared for fast search-as-you-type.

    An index is a sorted list of distinct folded words with, for each, the
    residents who have it; residents are numbered in display order (last name,
    first name), so sorting numbers sorts names. A typed word finds its prefix
    range by bisection. A second index holds only the words a name or unit starts
    with, so "smi" lists Smith before Costa-Smith. Typos are looked up with
    rapidfuzz among the distinct word prefixes of about the typed length, not
    among all residents.
    """

    def __init__(self, residents: list[Resident] | tuple[Resident, ...], rule: str = "full", *,
                 contact: str = "", sip_calls: bool = False, trunk: bool = False):
        """contact: the property's default (text form); sip_calls: the panel makes SIP calls,
        trunk: and dials phone numbers through a trunk ([sip] in the config)."""
        self.rule = rule
        self.contact, self.sip_calls, self.trunk = contact, sip_calls, trunk
        self.residents = sorted(residents, key=lambda r: (fold(r.last_name), fold(r.first_name), r.unit, r.id))
        self._by_id = {r.id: r for r in self.residents}
        self._by_card = {card: r for r in self.residents for card in r.cards}
        every: dict[str, list[int]] = {}
        lead: dict[str, list[int]] = {}
        for i, r in enumerate(self.residents):
            for w in words(f"{r.first_name} {r.last_name} {r.unit}"):
                every.setdefault(w, []).append(i)
            for w in set().union(*(words(f, lead=True) for f in (r.first_name, r.last_name, r.unit))):
                lead.setdefault(w, []).append(i)
        self._every = _Index(every)
        self._lead = _Index(lead)
        self._prefixes: dict[int, list[str]] = {}       # length -> distinct word prefixes, built on demand
        self._cache: dict[tuple[str, int], list[Resident]] = {}

    def __len__(self) -> int:
        return len(self.residents)

    def get(self, resident_id: str) -> Resident | None:
        return self._by_id.get(resident_id)

    def card_owner(self, number: str) -> Resident | None:
        return self._by_card.get(number)

    def plan(self, resident: Resident) -> tuple[routing.PlanStep, ...]:
        """Whom a call to this resident rings, step by step (core/routing.py)."""
        def parsed(text: str):
            try:
                return routing.parse(text)
            except routing.ContactError:    # checked where it came in; never a reason not to call
                return ()
        return routing.plan(parsed(resident.contact), parsed(self.contact), sip=resident.sip, phone=resident.phone,
                            sip_calls=self.sip_calls, trunk=self.trunk)

    def search(self, query: str, limit: int = 50) -> list[Resident]:
        """Residents matching every typed word, best first: whole words, then word
        prefixes (alphabetical), then words with typos (fewest first)."""
        # Longest word first: it narrows the candidates most.
        terms = sorted(_WORD.findall(fold(query)), key=len, reverse=True)
        if not terms:
            return self.residents[:limit]
        key = (" ".join(terms), limit)
        if key not in self._cache:
            if len(self._cache) > 64:                   # the screen asks again on every redraw
                self._cache.clear()
            self._cache[key] = [self.residents[i] for i in self._rank(terms, limit)]
        return self._cache[key]

    def _rank(self, terms: list[str], limit: int) -> list[int]:
        found, lead = self._every.prefixed(terms[0]), self._lead.prefixed(terms[0])
        for t in terms[1:]:
            found &= self._every.prefixed(t)
            lead &= self._lead.prefixed(t)
        whole = set.intersection(*(self._lead.exact(t) for t in terms))
        # "li": Li Zhang, then Liam and Lily, then Rosa Costa-Lima.
        best = sorted(whole) + sorted(lead - whole) + sorted(found - lead)
        if len(best) >= limit or not any(typos_allowed(t) for t in terms):
            return best[:limit]
        # Not enough: every word may now also match with typos; fewest edits first.
        cost: dict[int, int] | None = None
        for t in terms:
            c = self._with_typos(t)
            cost = c if cost is None else {i: cost[i] + c[i] for i in cost.keys() & c.keys()}
        rest = sorted((c, i) for i, c in cost.items() if i not in found)
        return (best + [i for _, i in rest])[:limit]

    def _with_typos(self, term: str) -> dict[int, int]:
        """Resident -> cost of their best word for term: 4 per edit, 2 more when the edit
        adds or drops a letter ("smiht" is nearer "smith" than "smit"), 1 more when the
        word is inside a name (Costa-Smith) rather than at its start (Smith)."""
        cost = dict.fromkeys(self._every.prefixed(term), 1)
        cost.update(dict.fromkeys(self._lead.prefixed(term), 0))
        k = typos_allowed(term)
        # A typed word with a letter missing or extra lines up with a prefix one shorter or longer.
        for n in range(max(1, len(term) - k), len(term) + k + 1) if k else ():
            for prefix, d, _ in process.extract(term, self._prefixes_of(n), scorer=OSA.distance,
                                                score_cutoff=k, limit=None):
                c = 4 * d + 2 * (n != len(term))
                for extra, ids in ((1, self._every.prefixed(prefix)), (0, self._lead.prefixed(prefix))):
                    for i in ids if d else ():
                        if cost.get(i, c + 2) > c + extra:
                            cost[i] = c + extra
        return cost

    def _prefixes_of(self, n: int) -> list[str]:
        if n not in self._prefixes:
            self._prefixes[n] = sorted({w[:n] for w in self._every.words if len(w) >= n})
        return self._prefixes[n]


class _Index:
    """Sorted distinct words -> resident numbers; prefix lookups by bisection."""

    def __init__(self, postings: dict[str, list[int]]):
        self.words = sorted(postings)
        self._ids = [postings[w] for w in self.words]
        self._exact = {w: set(ids) for w, ids in postings.items()}

    def exact(self, word: str) -> set[int]:
        return self._exact.get(word, set())

    def prefixed(self, prefix: str) -> set[int]:
        lo = bisect.bisect_left(self.words, prefix)
        hi = bisect.bisect_left(self.words, prefix + "\U0010ffff", lo)
        out: set[int] = set()
        for ids in self._ids[lo:hi]:
            out.update(ids)
        return out
