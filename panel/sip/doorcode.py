"""The door by key press: the resident types the door code on their phone's keypad.

Keys come from the call that holds the line only (RFC 4733 events on its RTP, or SIP
INFO in its dialog). A code is judged once as many keys as it has are typed; `#`
starts over without counting. Each wrong code is an attempt; the caller ends the call
after `attempts` of them.
"""

from __future__ import annotations


class DoorCode:
    def __init__(self, code: str, attempts: int = 3):
        self.code, self.attempts = code, attempts
        self.typed = ""
        self.wrong = 0

    def press(self, key: str) -> str | None:
        """"open", "wrong", or None (still typing, or no door code configured)."""
        if not self.code:
            return None
        if key == "#" and "#" not in self.code:
            self.typed = ""
            return None
        self.typed += key
        if len(self.typed) < len(self.code):
            return None
        typed, self.typed = self.typed, ""
        if typed == self.code:
            return "open"
        self.wrong += 1
        return "wrong"

    @property
    def exhausted(self) -> bool:
        return self.wrong >= self.attempts


def info_key(content_type: str, body: str) -> str | None:
    """The key of a SIP INFO: application/dtmf-relay ("Signal=5") or application/dtmf ("5")."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/dtmf-relay":
        for line in body.splitlines():
            name, _, value = line.partition("=")
            if name.strip().lower() == "signal":
                value = value.strip()
                return value if len(value) == 1 and value in "0123456789*#ABCD" else None
    if kind == "application/dtmf":
        value = body.strip()
        return value if len(value) == 1 and value in "0123456789*#ABCD" else None
    return None
