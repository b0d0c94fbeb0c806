"""`panel cloud ...`: run the dev cloud on its own, and script its back office.

    panel cloud serve [--port 8790] [--property FILE] [--smtp HOST:PORT] [--state FILE]
    panel cloud residents
    panel cloud move-in --first-name Ada --last-name Lovelace --unit 3B [--phone +44...] [--sip URI]
                        [--contact "app 20, phone"]
    panel cloud contact RESIDENT_ID_OR_NAME ["app & sip 20, phone"] [--phone +44...] [--sip URI]
    panel cloud move-out RESIDENT_ID_OR_NAME
    panel cloud invite --name "Ada Guest" --email ada@example.org --from 2026-12-24T18:00 --hours 4
    panel cloud settings [--allow-visitors yes|no] [--visitor-limit-hours 24] [--contact "app 20, phone"]
    panel cloud log

The client commands need the cloud's URL and staff token: --url/--staff-token, or
PANEL_CLOUD_URL / PANEL_STAFF_TOKEN (printed by `panel cloud serve` and the demo).

Exit status: 2 for what the user must fix in the command (a request the cloud calls
bad, the URL, the staff token), 1 when it fails at run time (the cloud is not there,
no such resident), as the rest of `panel`.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import signal
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta

from ..cloud_args import add_parser  # noqa: F401  (the parser lives outside sim: see panel/cloud_args.py)


EXIT_FAILED, EXIT_USAGE = 1, 2


class CloudCliError(Exception):
    """One line for the user; `status` the exit status (EXIT_USAGE: fix the command)."""

    def __init__(self, message: str, status: int = EXIT_FAILED):
        super().__init__(message)
        self.status = status


def run(args) -> int:
    if args.action == "serve":
        return _serve(args)
    if not args.staff_token:
        raise CloudCliError("a staff token is needed: --staff-token or PANEL_STAFF_TOKEN (the demo prints it)",
                            EXIT_USAGE)
    url = urllib.parse.urlsplit(args.url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise CloudCliError(f"--url / PANEL_CLOUD_URL {args.url!r} is not the cloud's http:// or https:// URL",
                            EXIT_USAGE)
    if args.action == "residents":
        for r in _call(args, "GET", "/api/admin/residents"):
            print(f"{r['id']:<12} {r['unit']:<6} {r['name']}  ({_reach(r)})")
    elif args.action == "move-in":
        contact = args.contact if args.contact is not None else ("phone" if args.phone and not args.sip else "")
        body = {"first_name": args.first_name, "last_name": args.last_name, "unit": args.unit,
                "display_name": args.display_name, "contact": contact, "phone": args.phone or "",
                "sip": args.sip or "", "cards": args.card}
        r = _call(args, "POST", "/api/admin/residents", body)
        print(f"moved in: {r['name']} ({r['unit']}) id {r['id']}\nresident app: {r['app_link']}")
    elif args.action == "contact":
        resident_id = urllib.parse.quote(_resident_id(args, args.resident), safe="")
        body = {k: v for k, v in (("contact", args.contact), ("phone", args.phone), ("sip", args.sip)) if v is not None}
        r = _call(args, "PATCH" if body else "GET", f"/api/admin/residents/{resident_id}" if body
                  else "/api/admin/residents", body or None)
        r = r if body else next(t for t in r if t["id"] == urllib.parse.unquote(resident_id))
        print(f"{r['name']}: {_reach(r)}")
    elif args.action == "move-out":
        resident_id = urllib.parse.quote(_resident_id(args, args.resident), safe="")
        r = _call(args, "DELETE", f"/api/admin/residents/{resident_id}")
        print(f"moved out: {r['moved_out']['name']}")
    elif args.action == "invite":
        start = args.start or datetime.now()
        body = {"name": args.name, "email": args.email, "from": start.isoformat(timespec="seconds"),
                "until": (start + timedelta(hours=args.hours)).isoformat(timespec="seconds"),
                "doors": args.door or ["main"]}
        print(_call(args, "POST", "/api/admin/invitations", body)["message"])
    elif args.action == "settings":
        body = {}
        if args.allow_visitors:
            body["allow_visitors"] = args.allow_visitors == "yes"
        if args.visitor_limit_hours is not None:
            body["visitor_limit_hours"] = args.visitor_limit_hours
        if args.contact is not None:
            body["contact"] = args.contact
        s = _call(args, "PUT" if body else "GET", "/api/admin/settings", body or None)
        print(f"allow visitors: {'yes' if s['allow_visitors'] else 'no'}; "
              f"visitor time limit: {s['visitor_limit_hours']:g} hours; "
              f"calls ring: {s.get('contact') or 'app (or the SIP address)'}")
    elif args.action == "log":
        for e in _call(args, "GET", "/api/admin/log"):
            # Entries are what panels uploaded: an alarm has no method, an old panel may lack a key.
            result = "opened" if e.get("granted") else f"refused ({e.get('reason', '')})"
            if e.get("kind") == "alarm":
                result = f"alarm ({e.get('reason', '')})"
            when = datetime.fromtimestamp(e["ts"]) if isinstance(e.get("ts"), (int, float)) else None
            print(f"{when:%Y-%m-%d %H:%M:%S}  " if when else f"{'?':<21}", end="")
            print(f"{str(e.get('door', '')):<8} {str(e.get('method', '')):<5} {result:<24} {e.get('who', '')}")
    return 0


def _reach(r: dict) -> str:
    """How a resident is called, as `residents` and `contact` show it."""
    details = ", ".join(x for x in (r.get("phone"), r.get("sip")) if x)
    return f"calls ring: {r.get('contact') or 'the default'}" + (f"; {details}" if details else "")


def _call(args, method: str, path: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(args.url.rstrip("/") + path, data=data, method=method, headers={
        "Authorization": f"Bearer {args.staff_token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        try:
            message = json.loads(e.read()).get("error", e.reason)
        except (ValueError, AttributeError):
            message = e.reason
        if e.code == 401:
            raise CloudCliError(f"the cloud at {args.url} refused the staff token: check --staff-token or "
                                f"PANEL_STAFF_TOKEN", EXIT_USAGE) from None
        # 400: the request itself is wrong (an e-mail address, a name): the user fixes the command.
        raise CloudCliError(f"the cloud said {e.code}: {message}",
                            EXIT_USAGE if e.code == 400 else EXIT_FAILED) from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise CloudCliError(f"cannot reach the cloud at {args.url}: {getattr(reason, 'strerror', None) or reason}"
                            f" (is it running? --url or PANEL_CLOUD_URL)") from None
    except ValueError as e:            # not JSON: something else answers at that URL
        raise CloudCliError(f"{args.url} does not answer as the dev cloud ({e.__class__.__name__}); "
                            f"check --url or PANEL_CLOUD_URL") from None


def _resident_id(args, given: str) -> str:
    """A resident's id, from their id or their full name as `panel cloud residents` lists it."""
    residents = _call(args, "GET", "/api/admin/residents")
    if any(r["id"] == given for r in residents):
        return given
    named = [r for r in residents if r["name"].casefold() == given.strip().casefold()]
    if len(named) == 1:
        return named[0]["id"]
    if named:
        raise CloudCliError(f"{len(named)} residents are called {given!r} "
                            f"({', '.join(r['id'] + ' in ' + r['unit'] for r in named)}): give the id", EXIT_USAGE)
    close = difflib.get_close_matches(given, [r["name"] for r in residents] + [r["id"] for r in residents], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else " (see panel cloud residents)"
    raise CloudCliError(f"no resident {given!r}{hint}")


def _serve(args) -> int:
    from ..config import Config
    from .cloud import DevCloud

    smtp = None
    if args.smtp:
        host, _, port = args.smtp.rpartition(":")
        if not host or not port.isdigit():
            raise CloudCliError("--smtp must be HOST:PORT", EXIT_USAGE)
        smtp = (host, int(port))

    async def main():
        cloud = DevCloud(args.property or Config().property_file, port=args.port, smtp=smtp, state_file=args.state)
        await cloud.start()
        print(f"Dev cloud: {cloud.url}", flush=True)
        print(f"  panel config:  [cloud] url = \"{cloud.panel_url}\"  token = \"{cloud.panel_token}\"", flush=True)
        print(f"  staff page:    {cloud.url}/admin?token={cloud.staff_token}", flush=True)
        print(f"  scripts:       export PANEL_CLOUD_URL={cloud.url} PANEL_STAFF_TOKEN={cloud.staff_token}",
              flush=True)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await stop.wait()
        await cloud.stop()

    try:
        asyncio.run(main())
    except OSError as e:
        from ..cli import port_hint
        raise CloudCliError(f"{e}{port_hint(e, '--port 0')}", EXIT_USAGE) from None
    return 0
