"""A restarted demo is the same property: the same residents (move-ins and move-outs
kept), the same resident links and tokens, the settings and the access log its cloud
received; README's QR example opens the door after the restart; `panel --fresh`
starts over."""

from __future__ import annotations

import asyncio
import re
import shlex
import subprocess
from urllib.parse import urlsplit

from panel.remote import PanelProcess
from tests.integration.test_cli import ENV, PANEL, assert_one_line_error
from tests.integration.test_readme_examples import granted_after
from tests.readme import run_block, runnable_blocks, shell_env
from tests.support import until

NOAH = "Noah Smith"     # r03: his demo key is written on the first run


def cloud(env, cwd, *args) -> str:
    result = run_block(shlex.join(["panel", "cloud", *args]), env, cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def link_tail(link: str) -> str:
    """A link without its port (the demo picks a free one under test): path and token."""
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def qr_example() -> str:
    return next(b for b in runnable_blocks() if "camera/frame" in b)


async def link_up(api) -> None:
    await api.until_status(lambda s: s["cloud"]["link"] == "up", what="the demo's link to its dev cloud")


async def test_a_restarted_demo_keeps_its_property_and_links(tmp_path):
    home = tmp_path / "home"
    with PanelProcess.demo(home=home, env=ENV) as first:
        env = shell_env(first, home, tmp_path)
        async with first.client() as api:
            await link_up(api)
            last = (await api.events())["last_id"]
            assert run_block(qr_example(), env, tmp_path).returncode == 0
            assert (await granted_after(api, last))["granted"]
        assert "moved out: Noah Smith" in cloud(env, tmp_path, "move-out", NOAH)
        moved_in = cloud(env, tmp_path, "move-in", "--first-name", "Ada", "--last-name", "Lovelace", "--unit", "3B")
        ada = re.search(r"id (\S+)", moved_in)[1]
        cloud(env, tmp_path, "settings", "--visitor-limit-hours", "12")
        await until(lambda: "Olivia Smith" in cloud(env, tmp_path, "log"), timeout=10,
                    what="the QR entry uploaded to the cloud")
        links = {r.name: link_tail(r.link) for r in first.residents if r.name != NOAH}
        links["Ada Lovelace"] = link_tail(re.search(r"resident app: (\S+)", moved_in)[1])
        tokens = first.token, first.staff_token
    assert first.returncode == 0

    with PanelProcess.demo(home=home, env=ENV) as second:
        env = shell_env(second, home, tmp_path)
        now = {r.name: r for r in second.residents}
        assert NOAH not in now and now["Ada Lovelace"].id == ada
        assert set(now) == set(links)
        assert all(link_tail(r.link) == links[name] for name, r in now.items()), "resident links changed"
        assert (second.token, second.staff_token) == tokens
        assert NOAH not in cloud(env, tmp_path, "residents")
        assert "visitor time limit: 12 hours" in cloud(env, tmp_path, "settings")
        assert "Olivia Smith" in cloud(env, tmp_path, "log")
        async with second.client() as api:
            await link_up(api)
            last = (await api.events())["last_id"]
            result = await asyncio.to_thread(run_block, qr_example(), env, tmp_path)
            assert result.returncode == 0, result.stderr
            entry = await granted_after(api, last)
            assert entry["granted"] and entry["who"] == "Olivia Smith", entry
            # The moved-out resident's key from the first run stays refused.
            key = home / ".local/state/entry-panel/demo-keys/resident-r03.png"
            last = entry["id"]
            await api.inject_frame(key.read_bytes())
            refused = await granted_after(api, last)
            assert not refused["granted"] and refused["reason"] == "revoked", refused
    assert second.returncode == 0

    with PanelProcess.demo(home=home, env=ENV, args=["--fresh"]) as fresh:
        assert "Starting afresh: removing the demo's state in" in fresh.stdout
        assert NOAH in {r.name for r in fresh.residents} and "Ada Lovelace" not in {r.name for r in fresh.residents}
        assert fresh.staff_token != tokens[1]


def test_a_damaged_cloud_state_file_is_one_line_naming_it_and_the_way_out(tmp_path):
    state = tmp_path / ".local/state/entry-panel"
    state.mkdir(parents=True)
    (state / "dev-cloud.db").write_bytes(b"not a database, a file something else wrote" * 100)
    result = subprocess.run([*PANEL, "--headless", "--port", "0"], capture_output=True, text=True, timeout=30,
                            env={**ENV, "HOME": str(tmp_path)})
    assert_one_line_error(result, str(state / "dev-cloud.db"), "panel --fresh")


def test_a_store_from_before_the_cloud_kept_its_state_is_pointed_out(tmp_path):
    """Upgrading: the panel's store has revocations the new cloud file knows nothing of."""
    with PanelProcess.demo(home=tmp_path, env=ENV) as first:
        assert "Note: the panel's store" not in first.stdout
    for f in (tmp_path / ".local/state/entry-panel").glob("dev-cloud.db*"):
        f.unlink()
    with PanelProcess.demo(home=tmp_path, env=ENV) as second:
        assert "keys it revoked stay refused; `panel --fresh` starts both afresh" in second.stdout
