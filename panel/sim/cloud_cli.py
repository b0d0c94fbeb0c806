"""`panel cloud ...`: run the dev cloud on its own, and script its back office.

    panel cloud serve [--port 8790] [--property FILE] [--smtp HOST:PORT]
    panel cloud residents
    panel cloud move-in --first-name Ada --last-name Lovelace --unit 3B [--phone +44...]
    panel cloud move-out RESIDENT_ID
    panel cloud invite --name "Ada Guest" --email ada@example.org --from 2026-12-24T18:00 --hours 4
    panel cloud settings [--allow-visitors yes|no] [--visitor-limit-hours 24]
    panel cloud log

The client commands need the cloud's URL and staff token: --url/--staff-token, or
PANEL_CLOUD_URL / PANEL_STAFF_TOKEN (printed by `panel cloud serve` and the demo).
"""

from __future__ import annotations

import asyncio
import json
import signal
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from ..cloud_args import add_parser  # noqa: F401  (the parser lives outside sim: see panel/cloud_args.py)


class CloudCliError(Exception):
    pass


def run(args) -> int:
    if args.action == "serve":
        return _serve(args)
    if not args.staff_token:
        raise CloudCliError("a staff token is needed: --staff-token or PANEL_STAFF_TOKEN")
    if args.action == "residents":
        for r in _call(args, "GET", "/api/admin/residents"):
            contact = f"phone {r['phone']}" if r["contact"] == "phone" else "app"
            print(f"{r['id']:<12} {r['unit']:<6} {r['name']}  ({contact})")
    elif args.action == "move-in":
        body = {"first_name": args.first_name, "last_name": args.last_name, "unit": args.unit,
                "display_name": args.display_name, "contact": "phone" if args.phone else "app",
                "phone": args.phone or "", "cards": args.card}
        r = _call(args, "POST", "/api/admin/residents", body)
        print(f"moved in: {r['name']} ({r['unit']}) id {r['id']}\nresident app: {r['app_link']}")
    elif args.action == "move-out":
        r = _call(args, "DELETE", f"/api/admin/residents/{args.resident_id}")
        print(f"moved out: {r['moved_out']['name']}")
    elif args.action == "invite":
        start = datetime.fromisoformat(args.start) if args.start else datetime.now()
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
        s = _call(args, "PUT" if body else "GET", "/api/admin/settings", body or None)
        print(f"allow visitors: {'yes' if s['allow_visitors'] else 'no'}; "
              f"visitor time limit: {s['visitor_limit_hours']:g} hours")
    elif args.action == "log":
        for e in _call(args, "GET", "/api/admin/log"):
            result = "opened" if e["granted"] else f"refused ({e['reason']})"
            print(f"{datetime.fromtimestamp(e['ts']):%Y-%m-%d %H:%M:%S}  {e['door']:<8} {e['method']:<5} "
                  f"{result:<24} {e['who']}")
    return 0


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
        except ValueError:
            message = e.reason
        raise CloudCliError(f"the cloud said {e.code}: {message}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise CloudCliError(f"cannot reach the cloud at {args.url}: {reason}") from None


def _serve(args) -> int:
    from ..config import Config
    from .cloud import DevCloud

    smtp = None
    if args.smtp:
        host, _, port = args.smtp.rpartition(":")
        if not host or not port.isdigit():
            raise CloudCliError("--smtp must be HOST:PORT")
        smtp = (host, int(port))

    async def main():
        cloud = DevCloud(args.property or Config().property_file, port=args.port, smtp=smtp)
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
        raise CloudCliError(f"cannot start the dev cloud: {e}") from None
    return 0
