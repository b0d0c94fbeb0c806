"""README's shell examples, run with bash as written against a demo the test starts
(HOME in tmp), after the export line the demo prints: each exits 0, and the QR
example opens the door."""

from __future__ import annotations

import asyncio
import subprocess

from panel.remote import PanelProcess
from tests.integration.test_cli import ENV
from tests.readme import ROOT, run_block, runnable_blocks, shell_env
from tests.support import until


async def granted_after(api, after: int) -> dict:
    """The first access entry after id `after` (waits for it)."""
    entries = await until(lambda: _access(api, after), timeout=10, what="an access log entry")
    return entries[0]


async def _access(api, after: int) -> list[dict]:
    return [e for e in (await api.events(after=after))["events"] if e.get("kind", "access") == "access"]


async def test_readme_shell_examples_run_against_the_demo(tmp_path):
    blocks = runnable_blocks()
    assert len(blocks) >= 3, "README lost its marked examples"
    assert any("camera/frame" in b for b in blocks) and any("panel cloud" in b for b in blocks)
    home = tmp_path / "home"
    with PanelProcess.demo(home=home, env=ENV) as demo:
        env = shell_env(demo, home, tmp_path)
        # The export line alone puts a `panel` on PATH (this venv's), whatever PATH was.
        line = demo.wait_for(r"^  export (.+)$")[1]
        found = subprocess.run(["bash", "-c", f"export {line}; command -v panel"], capture_output=True, text=True,
                               env={**ENV, "PATH": "/usr/bin:/bin"})
        assert found.returncode == 0 and found.stdout.strip().endswith("/panel"), found
        async with demo.client() as api:
            await api.until_status(lambda s: s["cloud"]["link"] == "up", what="the demo's link to its dev cloud")
            for block in blocks:
                last = (await api.events())["last_id"]
                result = await asyncio.to_thread(run_block, block, env, tmp_path)
                assert result.returncode == 0, f"{block}\nstdout: {result.stdout}\nstderr: {result.stderr}"
                assert "Traceback" not in result.stderr
                if "camera/frame" in block:
                    entry = await granted_after(api, last)
                    assert entry["granted"] and entry["who"] == "Olivia Smith", entry
        assert (tmp_path / "screen.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert demo.returncode == 0
    assert ROOT.joinpath("README.md").exists()
