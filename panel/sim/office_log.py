"""The access log as the office reads it: filtered (result, method, door, date range),
searched (name, apartment), in words, and exported as CSV. The same query string
filters the page's table and the CSV download:

    result=opened|refused|alarm  method=qr|card|call|...  door=main
    from=2026-12-01  until=2026-12-24 (dates inclusive, or date-times)  q=text
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .office import OfficeError

# How a door was opened (or tried), in the staff's words. Alarms name their source.
METHODS = {"qr": "QR key", "card": "Access card", "call": "Call", "app": "App", "api": "Local API",
           "exit": "Exit button", "sip": "SIP call", "contact": "Door contact", "tamper": "Tamper switch",
           "relay": "Door relay", "reader": "Card reader"}

# Why a key was refused or an alarm raised, for a staff member reading the log.
REASONS = {
    "malformed": "not a key", "bad_signature": "key not genuine", "unknown_issuer": "key from another building",
    "expired": "key expired", "not_yet_valid": "key not valid yet", "revoked": "key withdrawn",
    "wrong_door": "key not for this door", "visitor_limit": "past the visitor time limit",
    "visitors_disabled": "visitor keys switched off", "replayed": "code already used",
    "inviter_moved_out": "the visitor's host moved out", "unknown_card": "card not registered",
    "card_unreadable": "card could not be read", "not_in_call": "not the resident in the call",
    "error": "key could not be checked", "door_not_released": "the door did not open",
    "door_forced": "door forced open", "door_held_open": "door held open", "tamper": "panel opened (tamper)",
    "reader_tamper": "card reader cover opened", "relay_fault": "door relay fault",
    "relay_alarm": "relay board alarm", "reader_power": "card reader power failure",
    "release_interrupted": "door release interrupted",
}

RESULTS = ("opened", "refused", "alarm")
MAX_QUERY = 100


def result_of(entry: dict) -> str:
    if entry.get("kind") == "alarm":
        return "alarm"
    return "opened" if entry.get("granted") else "refused"


def reason_words(code: str) -> str:
    return REASONS.get(code) or code.replace("_", " ")


def method_words(code: str) -> str:
    return METHODS.get(code) or code


def _fold(text: str) -> str:
    """For search: case and accents ignored (a search for "zoe" finds Zoë)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


@dataclass(frozen=True)
class LogFilter:
    result: str = ""
    method: str = ""
    door: str = ""
    start: float | None = None
    end: float | None = None            # exclusive
    query: str = ""

    @classmethod
    def from_query(cls, q, doors: tuple[str, ...]) -> "LogFilter":
        """From a request's query (a mapping); OfficeError names a bad parameter and what it takes."""
        unknown = sorted(set(q) - {"result", "method", "door", "from", "until", "q", "token"})
        if unknown:
            raise OfficeError(f"no filter {unknown[0]!r}: use result, method, door, from, until or q")
        result, method, door = q.get("result", ""), q.get("method", ""), q.get("door", "")
        if result and result not in RESULTS:
            raise OfficeError(f"result must be one of {', '.join(RESULTS)}, got {result!r}")
        if method and method not in METHODS:
            raise OfficeError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        if door and door not in doors:
            raise OfficeError(f"no door {door!r} at this property: use one of {', '.join(doors)}")
        query = q.get("q", "").strip()
        if len(query) > MAX_QUERY:
            raise OfficeError(f"q: a search of at most {MAX_QUERY} characters")
        start, end = _day(q.get("from", ""), "from", False), _day(q.get("until", ""), "until", True)
        if start is not None and end is not None and end <= start:
            raise OfficeError("'until' must not be before 'from'")
        return cls(result, method, door, start, end, _fold(query))

    def matches(self, entry: dict) -> bool:
        ts = entry.get("ts")
        ts = ts if isinstance(ts, (int, float)) else 0.0
        return ((not self.result or result_of(entry) == self.result)
                and (not self.method or entry.get("method") == self.method)
                and (not self.door or entry.get("door") == self.door)
                and (self.start is None or ts >= self.start) and (self.end is None or ts < self.end)
                and self._found(entry))

    def _found(self, entry: dict) -> bool:
        """Every word searched for is in the name or the apartment ("ann hara" finds Ann O'Hara)."""
        text = _fold(f"{entry.get('who', '')}\n{entry.get('unit', '')}")
        return all(word in text for word in self.query.split())


def _day(value: str, name: str, end: bool) -> float | None:
    """A date (the whole day, local time: 'until' includes it) or a date-time."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1) if end else day, time()).timestamp()
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise OfficeError(f"{name!r} must be a date like 2026-12-24 (or a date-time 2026-12-24T18:00), "
                          f"got {value!r}") from None


def to_json(n: int, entry: dict) -> dict:
    """One entry for the page and scripts: what the panel sent, and the same in words."""
    item = {k: v for k, v in entry.items() if k != "snapshot"}
    result = result_of(entry)
    reason = str(entry.get("reason", ""))
    item.update(n=n, result=result, how=method_words(str(entry.get("method", ""))),
                reason_text=reason_words(reason) if reason else "",
                snapshot=f"/api/admin/log/{n}/snapshot.jpg" if entry.get("snapshot") else None)
    return item


CSV_COLUMNS = ["When", "Door", "Result", "Reason", "How", "Who", "Apartment", "Snapshot"]


def to_csv(items: list[dict], base_url: str) -> str:
    """The entries (to_json's) as CSV, quoted as spreadsheets expect; a cell a spreadsheet would
    take for a formula (a visitor named "=HYPERLINK(...)") is kept as text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in items:
        ts = e.get("ts")
        when = datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if isinstance(ts, (int, float)) else ""
        detail = e["reason_text"] + (f" ({e['detail']})" if e.get("detail") else "")
        writer.writerow([_cell(c) for c in (when, e.get("door", ""), e["result"], detail, e["how"],
                                            e.get("who", ""), e.get("unit", ""),
                                            base_url + e["snapshot"] if e["snapshot"] else "")])
    return out.getvalue()


def _cell(value) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
