"""README's shell examples, as a reader runs them against the demo: the fenced `sh`
blocks marked `<!-- readme-test: runs against the demo -->`, with the variables the
demo's `export` line sets."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from panel.remote import PanelProcess

ROOT = Path(__file__).resolve().parent.parent
MARK = "<!-- readme-test: runs against the demo -->"


def runnable_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(re.escape(MARK) + r"\s*```sh\n(.*?)```", text, re.S)


def shell_env(demo: PanelProcess, home: Path, tmp: Path) -> dict[str, str]:
    """The environment after pasting the demo's export line, with `panel` this checkout's
    (the line points PATH at the venv, whose `panel` may be another checkout's)."""
    line = demo.wait_for(r"^  export (.+)$", what="the export line")[1]
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["HOME"] = str(home)
    exported = subprocess.run(["bash", "-c", f"export {line}; env -0"], capture_output=True, env=env,
                              check=True).stdout.decode()
    env = dict(item.split("=", 1) for item in exported.split("\0") if "=" in item)
    shim = tmp / "bin"
    shim.mkdir(exist_ok=True)
    (shim / "panel").write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m panel "$@"\n')
    (shim / "panel").chmod(0o755)
    env["PATH"] = f"{shim}:{env['PATH']}"
    return env


def run_block(block: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", block], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=60)
