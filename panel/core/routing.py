"""Whom a call rings, and in what order: a resident's contact.

A contact is an ordered list of steps; each step names what rings at once (in
parallel) and for how long, and the next step is tried when nobody answers. As
text, the form the property file, the office and `panel cloud` take:

    "app & sip 20, phone 30"    the app and the SIP phone for 20 s, then the phone for 30 s

A step's targets (joined by `&`): `app` (the resident's signed-in devices, through the
cloud), `sip` (the resident's own SIP URI), `phone` (the resident's own phone number),
or an explicit `sip:user@host` URI or `tel:+441234567` number (no spaces in it). A step's seconds are
optional (the config's `[call] ring_timeout_seconds`). The same steps as JSON:
`[{"ring": ["app", "sip"], "seconds": 20}, {"ring": ["phone"], "seconds": 30}]`.

`plan` turns a contact into the call's steps of concrete targets, each with the link
that carries it; the state machine (core/machine.py) rings them. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_STEPS, MAX_TARGETS = 6, 4
MAX_SECONDS = 600
OWN = ("app", "sip", "phone")           # the resident's own app, SIP URI, phone number
_NUMBER = re.compile(r"\+?[0-9]{3,20}")


class ContactError(ValueError):
    """A contact that cannot be used, with a message saying what to write instead."""


@dataclass(frozen=True)
class Step:
    """One step of a contact as written: what rings at once, and for how long."""
    ring: tuple[str, ...]               # "app", "sip", "phone", a sip: URI or a tel: number
    seconds: float = 0.0                # 0: the ring timeout from the config


@dataclass(frozen=True)
class Target:
    """Something a call rings, concrete."""
    kind: str = "app"                   # app | sip | phone
    address: str = ""                   # the SIP URI, the phone number (digits, maybe a leading +)
    link: str = "cloud"                 # what carries it: "cloud" (the app; the cloud's phone line) or "sip"

    @property
    def method(self) -> str:
        """How a door the resident opens in this call is logged."""
        return "call" if self.kind == "app" else self.kind


@dataclass(frozen=True)
class PlanStep:
    targets: tuple[Target, ...]
    seconds: float = 0.0


APP_ONLY = (PlanStep((Target(),)),)     # a call with no plan: the resident's app, as before routing


def number(text: str) -> str:
    """A phone number as dialled: spaces, dots, dashes and brackets dropped."""
    digits = re.sub(r"[\s().-]", "", text)
    if not _NUMBER.fullmatch(digits):
        raise ContactError(f"{text!r} is not a phone number (digits, optionally a leading +)")
    return digits


def _own_number(phone: str) -> str:
    try:
        return number(phone) if phone else ""
    except ContactError:                # cleaned where a resident is made; never a reason not to call
        return ""


def _target(text: str) -> str:
    t = text.strip()
    if len(t) > 200:
        raise ContactError(f"a target of {len(t)} characters: at most 200")
    if t in OWN:
        return t
    if t.startswith(("sip:", "sips:")) and "@" in t and not re.search(r"[\s&,]", t):
        return t
    if t.startswith("tel:"):
        return "tel:" + number(t[4:])
    raise ContactError(f"{t!r} is not something to ring: use app, sip, phone, a sip:user@host URI "
                       f"or a tel:+number")


def _seconds(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= MAX_SECONDS:
        raise ContactError(f"ring time {value!r}: a number of seconds from 1 to {MAX_SECONDS}")
    return float(value)


def parse(value) -> tuple[Step, ...]:
    """A contact from its text or JSON form; () for an empty one (the property's default)."""
    if value is None or value == "" or value == []:
        return ()
    if isinstance(value, str):
        raw = []
        for part in value.split(","):
            words = part.replace("&", " & ").split()
            seconds = 0.0
            if words and re.fullmatch(r"[0-9]+(\.[0-9]+)?s?", words[-1]):
                seconds = _seconds(float(words.pop().rstrip("s")))
            targets = [w for w in words if w != "&"]
            if not targets:
                raise ContactError(f"step {part.strip()!r} rings nothing: e.g. \"app 20, phone\"")
            raw.append((targets, seconds))
    elif isinstance(value, list):
        raw = []
        for item in value:
            ring = item.get("ring") if isinstance(item, dict) else None
            if isinstance(ring, str):
                ring = [ring]
            if not isinstance(ring, list) or not ring or not all(isinstance(r, str) for r in ring):
                raise ContactError('each step needs "ring": a list such as ["app", "sip"]')
            unknown = set(item) - {"ring", "seconds"}
            if unknown:
                raise ContactError(f"a step has {sorted(unknown)[0]!r}: only \"ring\" and \"seconds\"")
            raw.append((ring, _seconds(item["seconds"]) if "seconds" in item else 0.0))
    else:
        raise ContactError(f"a contact is text like \"app 20, phone\" or a list of steps, not {type(value).__name__}")
    if len(raw) > MAX_STEPS:
        raise ContactError(f"{len(raw)} steps: at most {MAX_STEPS}")
    steps = []
    for targets, seconds in raw:
        if len(targets) > MAX_TARGETS:
            raise ContactError(f"{len(targets)} targets in one step: at most {MAX_TARGETS}")
        ring = tuple(dict.fromkeys(_target(t) for t in targets))
        steps.append(Step(ring, seconds))
    return tuple(steps)


def text(steps: tuple[Step, ...]) -> str:
    """The text form: parse(text(steps)) == steps."""
    return ", ".join(" & ".join(s.ring) + (f" {s.seconds:g}" if s.seconds else "") for s in steps)


def to_json(steps: tuple[Step, ...]) -> list[dict]:
    return [{"ring": list(s.ring), **({"seconds": s.seconds} if s.seconds else {})} for s in steps]


def plan(contact: tuple[Step, ...], default: tuple[Step, ...] = (), *, sip: str = "", phone: str = "",
         sip_calls: bool = False, trunk: bool = False) -> tuple[PlanStep, ...]:
    """The call's steps for a resident: their contact, or the property's default, or the
    built-in one (their SIP URI when the panel makes SIP calls and they have one, else
    the app). `sip`, `phone`: the resident's own; a target they lack is left out, and a
    step left with nothing. A phone number goes through the trunk when the panel has one
    (`[sip] trunk`), else to the cloud (which may have a phone line of its own)."""
    steps = contact or default or (Step(("sip",) if sip and sip_calls else ("app",)),)
    out = []
    for s in steps:
        targets = []
        for t in s.ring:
            if t == "app":
                targets.append(Target())
            elif t == "sip" or t.startswith(("sip:", "sips:")):
                uri = sip if t == "sip" else t
                if uri:
                    targets.append(Target("sip", uri, "sip"))
            else:
                digits = _own_number(phone) if t == "phone" else t[4:]
                if digits:
                    targets.append(Target("phone", digits, "sip" if trunk else "cloud"))
        targets = tuple(dict.fromkeys(targets))
        if targets:
            out.append(PlanStep(targets, s.seconds))
    return tuple(out)
