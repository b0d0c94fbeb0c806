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
        assert "Ada Lovelace: calls ring: app 20, phone; +44 20 7946 0000" in cloud(
            "contact", "Ada Lovelace", "app 20, phone", "--phone", "+44 20 7946 0000")
        assert "calls ring: app 20, phone" in cloud("residents")
        assert "calls ring: app & sip 15" in cloud("settings", "--contact", "app&sip 15")
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


def test_errors_are_one_line_with_the_exit_status_readme_gives():
    """2: fix the command (a bad date, a request the cloud calls bad, the staff token, a typo);
    1: it failed at run time (no such resident, a refusal, no cloud there)."""
    with PanelProcess.cloud(env=ENV) as served:
        env = {**ENV, "PANEL_CLOUD_URL": served.cloud_url, "PANEL_STAFF_TOKEN": served.staff_token}

        def cloud(*args, status, words, environ=env):
            result = subprocess.run([*PANEL, "cloud", *args], capture_output=True, text=True, env=environ,
                                    timeout=30)
            lines = result.stderr.strip().splitlines()
            assert (result.returncode, len(lines)) == (status, 1), result
            for w in words:
                assert w in lines[0], lines[0]

        cloud("invite", "--name", "G", "--email", "g@example.test", "--from", "tomorrow", status=2,
              words=["--from", "'tomorrow' is not a date and time", "2026-12-24T18:00"])
        cloud("invite", "--name", "G", "--email", "g@example.test", "--hours", "-3", status=2,
              words=["--hours", "'-3' is not a number of hours above 0"])
        cloud("invite", "--name", "G", "--email", "not-an-address", status=2,
              words=["the cloud said 400", "'not-an-address' is not an e-mail address"])
        cloud("move-out", "Ada Lovelace", status=1, words=["no resident 'Ada Lovelace'"])
        cloud("move-out", "Olivia Smiht", status=1, words=["no resident 'Olivia Smiht'", "did you mean 'Olivia Smith'?"])
        cloud("move-uot", "r01", status=2, words=["invalid choice: 'move-uot'", "did you mean 'move-out'?"])
        subprocess.run([*PANEL, "cloud", "settings", "--allow-visitors", "no"], env=env, check=True,
                       capture_output=True, timeout=30)
        cloud("invite", "--name", "G", "--email", "g@example.test", status=1,
              words=["the cloud said 409", "visitor access is switched off"])
        cloud("residents", status=2, words=["refused the staff token", "PANEL_STAFF_TOKEN"],
              environ={**env, "PANEL_STAFF_TOKEN": "wrong"})
        cloud("residents", status=2, words=["'localhost:8790' is not the cloud's http:// or https:// URL"],
              environ={**env, "PANEL_CLOUD_URL": "localhost:8790"})
        # A name moves a resident out as the id does.
        moved = subprocess.run([*PANEL, "cloud", "move-out", "Olivia Smith"], capture_output=True, text=True,
                               env=env, timeout=30)
        assert moved.returncode == 0 and "moved out: Olivia Smith" in moved.stdout, moved
    cloud("residents", status=1, words=[f"cannot reach the cloud at {served.cloud_url}", "Connection refused"])


async def test_log_lists_alarms_and_entries_missing_fields():
    """`panel cloud log` prints what panels uploaded, whatever fields an entry lacks."""
    import asyncio

    from panel.config import load
    from panel.sim.cloud import DevCloud
    cloud = DevCloud(load(None).property_file)
    await cloud.start()
    try:
        cloud.office.record("panel", 1, {"ts": 1796000000.0, "door": "main", "method": "qr", "granted": True,
                                         "who": "Olivia Smith"})
        cloud.office.record("panel", 2, {"kind": "alarm", "ts": 1796000060.0, "door": "main", "granted": False,
                                         "method": "contact", "reason": "forced_open", "detail": ""})
        cloud.office.record("panel", 3, {"who": "an old panel's entry"})
        env = {**ENV, "PANEL_CLOUD_URL": cloud.url, "PANEL_STAFF_TOKEN": cloud.staff_token}
        result = await asyncio.to_thread(subprocess.run, [*PANEL, "cloud", "log"], capture_output=True, text=True,
                                         env=env, timeout=30)
    finally:
        await cloud.stop()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and "an old panel's entry" in lines[0]
    assert "alarm (forced_open)" in lines[1] and "opened" in lines[2] and "Olivia Smith" in lines[2]
