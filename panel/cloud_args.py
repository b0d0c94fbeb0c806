"""The arguments of `panel cloud ...` (what panel/sim/cloud_cli.py runs).

Only argparse here: `panel --help` lists the command and `panel run` builds the
same parser without importing anything from panel/sim (the simulated world stays
off the firmware's path; tests/integration/test_cli.py checks it).
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime


def add_parser(sub, parser_class) -> None:
    cloud = sub.add_parser("cloud", help="the dev cloud: run it, or script its back office (see --help)")
    cloud.add_argument("--url", default=os.environ.get("PANEL_CLOUD_URL", "http://127.0.0.1:8790"))
    cloud.add_argument("--staff-token", default=os.environ.get("PANEL_STAFF_TOKEN", ""))
    csub = cloud.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=parser_class)
    serve = csub.add_parser("serve", help="run the dev cloud until Ctrl-C")
    serve.add_argument("--port", type=int, default=8790)
    serve.add_argument("--property", metavar="FILE", help="property file (default: the demo property)")
    serve.add_argument("--smtp", metavar="HOST:PORT", help="send e-mail there (default: a local sink)")
    serve.add_argument("--state", metavar="FILE", help="keep the property, its log and tokens in this SQLite "
                       "file across restarts (default: nothing kept)")
    csub.add_parser("residents", help="list residents")
    move_in = csub.add_parser("move-in", help="add a resident")
    move_in.add_argument("--first-name", default="")
    move_in.add_argument("--last-name", required=True)
    move_in.add_argument("--unit", required=True)
    move_in.add_argument("--display-name", default="")
    move_in.add_argument("--phone", help="their phone number (alone: calls ring it instead of the app)")
    move_in.add_argument("--sip", metavar="URI", help="their SIP address, sip:user@host")
    move_in.add_argument("--contact", metavar="STEPS", help=CONTACT_HELP)
    move_in.add_argument("--card", action="append", default=[], metavar="FC:NUMBER",
                         help="an access card for the OSDP reader, as printed on it (repeat for more)")
    contact = csub.add_parser("contact", help="show or change how a resident is called")
    contact.add_argument("resident", metavar="RESIDENT", help="the resident's id or full name")
    contact.add_argument("contact", metavar="STEPS", nargs="?", help=CONTACT_HELP + "; \"\" = the default")
    contact.add_argument("--phone", help="their phone number")
    contact.add_argument("--sip", metavar="URI", help="their SIP address, sip:user@host")
    move_out = csub.add_parser("move-out", help="remove a resident; their keys and devices stop at once")
    move_out.add_argument("resident", metavar="RESIDENT", help="the resident's id or full name (panel cloud residents)")
    invite = csub.add_parser("invite", help="invite a visitor (an e-mail with their key)")
    invite.add_argument("--name", required=True)
    invite.add_argument("--email", required=True)
    invite.add_argument("--from", dest="start", type=date_time, metavar="WHEN",
                        help="a date and time, 2026-12-24T18:00 (default: now)")
    invite.add_argument("--hours", type=hours, default=4.0, help="how long the key is valid (default 4)")
    invite.add_argument("--door", action="append", metavar="DOOR")
    settings = csub.add_parser("settings", help="show or change property settings")
    settings.add_argument("--allow-visitors", choices=("yes", "no"))
    settings.add_argument("--visitor-limit-hours", type=hours)
    settings.add_argument("--contact", metavar="STEPS", help="the residents' default: " + CONTACT_HELP)
    csub.add_parser("log", help="the access log, newest first")


CONTACT_HELP = ("whom a call rings, in order: steps separated by commas, targets rung together by &, "
                "seconds last: \"app & sip 20, phone 30\"")


def date_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date and time: write it as 2026-12-24T18:00 "
                                         f"(or 2026-12-24)") from None


def hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 24 * 365:       # also NaN
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of hours above 0 (at most a year)")
    return value
