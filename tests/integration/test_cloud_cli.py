"""`panel cloud ...` as a script uses it: a dev cloud in a subprocess, the back office by CLI."""

from __future__ import annotations

import re
import subprocess
import sys

from panel.remote import PanelProcess
from tests.integration.test_cli import ENV

PANEL = [sys.executable, "-m", "panel"]


def test_serve_and_script_the_back_office():
    with PanelProcess.cloud(env=ENV) as served:
        env = {**ENV, "PANEL_CLOUD_URL": served.cloud_url, "PANEL_STAFF_TOKEN": served.staff_token}

        def cloud(*args) -> str:
            result = subprocess.run([*PANEL, "cloud", *args], capture_output=True, text=True, env=env, timeout=30)
            assert result.returncode == 0, result.stderr
            return result.stdout

        moved_in = cloud("move-in", "--first-name", "Ada", "--last-name", "Lovelace", "--unit", "3B")
        resident_id = re.search(r"id (\S+)", moved_in).group(1)
        assert "Ada Lovelace" in cloud("residents")
        assert "visitor time limit: 12 hours" in cloud("settings", "--visitor-limit-hours", "12")
        assert "shortened to the property's visitor limit of 12 hours" in cloud(
            "invite", "--name", "Guest", "--email", "guest@example.test", "--hours", "30")
        assert "moved out: Ada Lovelace" in cloud("move-out", resident_id)
        assert "Ada Lovelace" not in cloud("residents")

        refused = subprocess.run([*PANEL, "cloud", "move-out", "nobody"], capture_output=True, text=True, env=env,
                                 timeout=30)
        assert refused.returncode == 1 and "no resident 'nobody'" in refused.stderr
        assert "Traceback" not in refused.stderr
    assert served.returncode == 0
