"""The `panel` command. `panel` alone starts the demo emulator.

Bad arguments and bad config: one line naming what is wrong, exit status 2, no
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys

from . import __version__, memory
from .config import ConfigError, example_toml, load

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        # One line, not argparse's usage block: say what is wrong and where help is.
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="panel", description="Entry panel firmware. Without a command: the demo emulator "
                "(firmware, demo property, simulated camera, mock GPIO relay).")
    p.add_argument("--version", action="version", version=f"panel {__version__}")
    p.add_argument("--headless", action="store_true", help="no window, even when a display exists")
    p.add_argument("--port", type=int, help="local API port for the demo (default 8780; 0 = any free port)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="run the panel with a config file")
    run.add_argument("--config", required=True, metavar="FILE", help="TOML config (see assets/config/)")
    run.add_argument("--headless", action="store_true", help="no window, even when a display exists")

    scan = sub.add_parser("scan", help="read the QR codes in image files")
    scan.add_argument("images", nargs="+", metavar="IMAGE")
    scan.add_argument("--json", action="store_true", help="one JSON object per image and line")

    cred = sub.add_parser("credential", help="developer tools: make an issuer key, issue a QR credential")
    csub = cred.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=_Parser)
    keygen = csub.add_parser("keygen", help="create an issuer key file; prints the line for [access] trusted_keys")
    keygen.add_argument("--out", required=True, metavar="FILE", help="where to write the private key (mode 600)")
    keygen.add_argument("--kid", default="dev-1", help="key id (default dev-1)")
    issue = csub.add_parser("issue", help="issue a signed credential; print its text, optionally write its QR PNG")
    issue.add_argument("--key", required=True, metavar="FILE", help="issuer key file from `credential keygen`")
    issue.add_argument("--kid", default="dev-1")
    issue.add_argument("--holder-id", required=True)
    issue.add_argument("--name", required=True, help="the holder's name, shown in the greeting")
    issue.add_argument("--kind", choices=("resident", "visitor"), default="resident")
    issue.add_argument("--door", action="append", metavar="DOOR", help="a door it opens (repeat; default main)")
    issue.add_argument("--hours", type=float, default=24.0, help="valid for this long from now (default 24)")
    issue.add_argument("--png", metavar="FILE", help="also write the QR code as a PNG")

    from .cloud_args import add_parser as add_cloud_parser      # argparse only: panel/sim is imported by `cloud` itself
    add_cloud_parser(sub, _Parser)

    cfg = sub.add_parser("config", help="check a config file, or print every key with its default")
    group = cfg.add_mutually_exclusive_group(required=True)
    group.add_argument("--check", metavar="FILE", help="validate FILE; exit 2 with the problem if it is bad")
    group.add_argument("--defaults", action="store_true", help="print the complete default config as TOML")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command is None:
            config = load(None)
            if args.port is not None:
                if not 0 <= args.port <= 65535:
                    raise ConfigError("--port must be between 0 and 65535")
                config = config.replace("api", port=args.port)
            return _demo(config, headless=args.headless)
        if args.command == "run":
            return _run(load(args.config), headless=args.headless, demo=False)
        if args.command == "scan":
            return _scan(args.images, as_json=args.json)
        if args.command == "credential":
            return _credential(args)
        if args.command == "cloud":
            from .sim.cloud_cli import CloudCliError, run
            try:
                return run(args)
            except CloudCliError as e:
                print(f"panel cloud: {e}", file=sys.stderr)
                return 1
        if args.command == "config":
            if args.defaults:
                print(example_toml())
                return 0
            config = load(args.check)
            print(f"{config.source}: OK")
            return 0
    except ConfigError as e:
        print(f"panel: {e}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def _wants_window(config, headless: bool) -> bool:
    if headless or config.screen.headless == "yes":
        return False
    if config.screen.headless == "no":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _demo(config, headless: bool) -> int:
    """The demo: the firmware, the dev cloud with the resident web app, and a
    development issuer whose keys the panel trusts."""
    from .directory import load_property
    from .sim.cloud import DevCloud
    from .sim.issuer import DevIssuer

    issuer = DevIssuer(config.state_dir / "dev-issuer.key")
    config = config.replace("access", trusted_keys=issuer.trusted_keys())
    residents = load_property(config.property_file).residents
    keys = issuer.write_demo_keys(config.state_dir / "demo-keys", residents, config.panel.door_id)
    # Next to the API port when it is fixed, so the resident links stay the same run to run.
    cloud = DevCloud(config.property_file, port=config.api.port + 1 if config.api.port else 0, issuer=issuer)
    lines = [f"Demo QR keys: {keys[0].parent}/ (send one to POST camera/frame)",
             f"Resident app (dev cloud {cloud.url.rsplit(':', 1)[0]}): open a link to answer calls as that resident"]

    async def start_cloud():
        await cloud.start()
        lines[1] = f"Resident app (dev cloud {cloud.url}): open a link to answer calls as that resident"
        lines.extend(f"  {r.full_name} ({r.unit}): {cloud.app_link(r.id)}"
                     for r in sorted(residents, key=lambda r: (r.last_name, r.first_name)))
        lines.append(f"Property office (staff page): {cloud.url}/admin?token={cloud.staff_token}")
        lines.append(f"  scripts: export PANEL_CLOUD_URL={cloud.url} PANEL_STAFF_TOKEN={cloud.staff_token}; "
                     f"panel cloud --help")
        return config.replace("cloud", url=cloud.panel_url, token=cloud.panel_token)

    return _run(config, headless=headless, demo=True, extra_lines=lines, before=start_cloud, after=cloud.stop)


def _run(config, headless: bool, demo: bool, extra_lines: list[str] = (), before=None, after=None) -> int:
    """Run the panel until SIGINT/SIGTERM. `before` (async, returns the config to use)
    and `after` run in the same event loop: the demo starts its dev cloud there."""
    from .app import App, Ready
    from .directory import PropertyError
    from .hardware import RelayError
    from .store import StoreError

    logging.basicConfig(level=config.panel.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)    # the strike reports relay faults once
    window = _wants_window(config, headless)
    if not window:
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

    def ready(info: Ready) -> None:
        mode = "in a window" if info.window else "headless"
        print(f"Entry panel {__version__} running {mode}{' (demo)' if demo else ''}", flush=True)
        print(f"Local API: {info.api_url}  token: {info.token}", flush=True)
        if info.fingerprint:
            print(f"  TLS certificate SHA-256: {info.fingerprint}  (self-signed: compare before trusting it)", flush=True)
        insecure = "-k " if info.fingerprint else ""
        print(f"  try: curl {insecure}-H 'Authorization: Bearer {info.token}' {info.api_url}/status", flush=True)
        for line in extra_lines:
            print(line, flush=True)
        print("Press Ctrl-C to stop.", flush=True)

    async def main():
        cfg = await before() if before else config
        try:
            await App(cfg, window=window, on_ready=ready).run()
        finally:
            if after:
                await after()

    memory.settle()                 # before any thread starts: see panel/memory.py
    try:
        asyncio.run(main())
    except (ConfigError, RelayError, StoreError, PropertyError, OSError) as e:
        print(f"panel: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        pass
    return 0


def _credential(args) -> int:
    from pathlib import Path

    from .access import issue_credential, write_qr_png
    from .access.keys import generate_private_key, load_private_key, private_key_text, public_key_text

    if args.action == "keygen":
        out = Path(args.out)
        if out.exists():
            raise ConfigError(f"{out}: already exists; not overwriting an issuer key")
        key = generate_private_key()
        out.touch(mode=0o600)
        out.write_text(private_key_text(key) + "\n")
        print(f"wrote {out} (keep it off the panels). For the panel config:")
        print(f'[access]\ntrusted_keys = {{ "{args.kid}" = "{public_key_text(key)}" }}')
        return 0
    from .files import FileProblem, read_regular
    try:
        key = load_private_key(read_regular(args.key, 64 * 1024, "issuer key file").decode("utf-8", "replace").strip())
    except FileProblem as e:
        raise ConfigError(str(e)) from None
    except ValueError as e:
        raise ConfigError(f"{args.key}: not an issuer key: {e}") from None
    if args.hours <= 0:
        raise ConfigError("--hours must be more than 0")
    import time
    now = time.time()
    try:
        text = issue_credential(key, args.kid, holder_id=args.holder_id, holder_name=args.name, kind=args.kind,
                                doors=args.door or ["main"], not_before=now - 60, not_after=now + args.hours * 3600)
    except ValueError as e:
        raise ConfigError(f"cannot issue: {e}") from None
    print(text)
    if args.png:
        write_qr_png(text, args.png)
        print(f"wrote {args.png}", file=sys.stderr)
    return 0


def _scan(paths: list[str], as_json: bool) -> int:
    from .scanner.files import scan_file

    failed = False
    for path in paths:
        result = scan_file(path)
        failed |= "error" in result
        if as_json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        elif "error" in result:
            print(f"{path}: {result['error']}", file=sys.stderr)
        else:
            codes = result["codes"]
            shown = "; ".join(codes) if codes else "no code found"
            print(f"{path}: {shown} ({result['ms']:.1f} ms)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
