"""The `panel` command as a user runs it: a subprocess, its output and exit status."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from panel.config import ASSETS
from panel.remote import PanelProcess, ProcessError
from tests.configs import with_simulated_parts

PANEL = [sys.executable, "-m", "panel"]
ENV = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
ENV.pop("DISPLAY", None)
ENV.pop("WAYLAND_DISPLAY", None)


def panel(*args, timeout=30) -> subprocess.CompletedProcess:
    return subprocess.run([*PANEL, *args], capture_output=True, text=True, timeout=timeout, env=ENV)


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.mark.parametrize("text,words", [
    ("[door]\npulse_seconds = \n", ["broken.toml", "TOML syntax error", "line 2"]),
    ("[door]\npulse_secnds = 3\n", ["unknown key 'door.pulse_secnds'"]),
    ('[door]\npulse_seconds = "5"\n', ["'door.pulse_seconds' must be a number"]),
    ('[camera]\nsource = "/no/such/camera"\n', ["'camera.source'", "not found"]),
    ('[door]\nbackend = "wiegand"\n', ["'door.backend' must be one of", "'osdp'"]),
    ('[door]\nbackend = "osdp"\n[osdp]\nport = "/dev/ttyNOPE0"\n', ["'osdp.port'", "serial port not found"]),
    ('[door]\nbackend = "modbus"\n[modbus]\nport = "/dev/ttyNOPE0"\n', ["'modbus.port'", "serial port not found"]),
])
def test_broken_config_is_one_line_and_exit_2(tmp_path, text, words):
    path = tmp_path / "broken.toml"
    path.write_text(with_simulated_parts(text + f'[panel]\nstate_dir = "{tmp_path}/state"\n[api]\nport = 0\n'))
    assert_one_line_error(panel("run", "--config", str(path), "--headless"), *words)


@pytest.mark.parametrize("key", ["door.backend", "camera.source", "audio.microphone", "audio.speaker",
                                 "gpio.pin_factory"])
def test_a_config_that_names_no_hardware_part_is_one_line_and_exit_2(tmp_path, key):
    """No simulated part by default on a real panel: the file must say which."""
    section, name = key.split(".")
    text = with_simulated_parts(f'[panel]\nstate_dir = "{tmp_path}/state"\n[api]\nport = 0\n')
    lines = [line for line in text.splitlines() if not line.startswith(f"{name} =")]
    path = tmp_path / "p.toml"
    path.write_text("\n".join(lines) + "\n")
    result = panel("run", "--config", str(path), "--headless")
    assert_one_line_error(result, "p.toml", f"'{key}' is not set")
    assert not (tmp_path / "state").exists()       # refused before anything was opened


def test_missing_config_file(tmp_path):
    assert_one_line_error(panel("run", "--config", str(tmp_path / "none.toml")), "config file not found")


@pytest.mark.parametrize("args,words", [
    (["run"], ["--config"]),
    (["frobnicate"], ["invalid choice", "frobnicate"]),
    (["--port", "x"], ["--port", "invalid int"]),
    (["--port", "99999"], ["--port"]),
    (["scan"], ["IMAGE"]),
])
def test_bad_arguments_are_one_line_and_exit_2(args, words):
    assert_one_line_error(panel(*args), *words)


def test_help_lists_every_command():
    result = panel("--help")
    assert result.returncode == 0
    for command in ("run", "scan", "config"):
        assert command in result.stdout


def test_config_check_and_defaults(tmp_path):
    defaults = panel("config", "--defaults")
    assert defaults.returncode == 0 and "[door]" in defaults.stdout
    path = tmp_path / "all.toml"
    path.write_text(defaults.stdout)
    # the required keys are there commented out: as printed, the check names the first
    assert_one_line_error(panel("config", "--check", str(path)), "'door.backend' is not set")
    path.write_text("\n".join(line[2:] if "# REQUIRED" in line else line for line in defaults.stdout.splitlines()))
    check = panel("config", "--check", str(path))
    assert check.returncode == 0 and "OK" in check.stdout


@pytest.mark.parametrize("name", sorted(p.name for p in (ASSETS / "config").glob("*.toml")))
def test_config_check_of_every_shipped_config_says_ok(name):
    path = ASSETS / "config" / name
    check = panel("config", "--check", str(path))
    assert check.returncode == 0 and check.stdout.strip() == f"{path}: OK", check


NO_SIM = textwrap.dedent("""
    import asyncio, sys
    from panel.cli import build_parser
    from panel.config import load
    args = build_parser().parse_args(["run", "--config", sys.argv[1], "--headless"])
    parsed = sorted(m for m in sys.modules if m == "panel.sim" or m.startswith("panel.sim."))
    from panel.app import App

    async def main():
        ready = asyncio.Event()
        app = App(load(args.config), on_ready=lambda info: ready.set())
        task = asyncio.create_task(app.run())
        await asyncio.wait_for(ready.wait(), 30)
        app.stop()
        await task

    asyncio.run(main())
    built = sorted(m for m in sys.modules if m == "panel.sim" or m.startswith("panel.sim."))
    print("parsed:", *parsed)
    print("built:", *built)
""")


def test_panel_run_imports_nothing_simulated(tmp_path):
    """`panel run` parses its arguments and brings up the whole App from a file with no
    module of panel/sim loaded (in a fresh interpreter: other tests import sim)."""
    path = tmp_path / "p.toml"
    path.write_text(with_simulated_parts(f'[panel]\nstate_dir = "{tmp_path}/state"\n[api]\nport = 0\n'))
    result = subprocess.run([sys.executable, "-c", NO_SIM, str(path)], capture_output=True, text=True,
                            timeout=60, env=ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["parsed:", "built:"], result.stdout


async def test_demo_comes_up_answers_and_stops_cleanly_on_sigterm(tmp_path):
    # The demo keeps its state under ~/.local/state: a HOME of its own.
    with PanelProcess.demo(home=tmp_path, env=ENV) as demo:
        async with demo.client() as api:
            assert (await api.status())["screen"] == "home"
            # One line per demo resident with a link that signs the resident app in as them.
            assert len(demo.residents) == 38
            olivia = demo.resident("Olivia Smith")
            assert olivia.unit == "1A" and olivia.link.startswith(f"{demo.cloud_url}/app?resident={olivia.id}&")
            assert demo.cloud_url.startswith("http://127.0.0.1:") and demo.staff_token
            await api.until_status(lambda s: s["cloud"]["link"] == "up", what="the demo's link to its dev cloud")
            assert (await api.screen_png())[:8] == b"\x89PNG\r\n\x1a\n"
        assert demo.stop() == 0                     # SIGTERM: a clean exit
    assert "Traceback" not in demo.stderr
    assert (tmp_path / ".local" / "state" / "entry-panel" / "panel.db").exists()


def test_a_panel_that_exits_at_start_up_fails_with_what_it_said(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[door]\npulse_seconds = -1\n")
    with pytest.raises(ProcessError) as failure:
        PanelProcess.run(bad, env=ENV).start(timeout=30)
    message = str(failure.value)
    assert "the process exited" in message and "exited with status 2" in message and "pulse_seconds" in message


def test_port_in_use_is_one_line(tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        path = tmp_path / "p.toml"
        path.write_text(with_simulated_parts(f'[panel]\nstate_dir = "{tmp_path}/state"\n[api]\nport = {port}\n'))
        assert_one_line_error(panel("run", "--config", str(path), "--headless"), "cannot listen", str(port))


@pytest.mark.parametrize("taken,what", [("api", "for the local API"), ("cloud", "for the dev cloud")])
def test_demo_on_a_busy_port_names_that_port_and_the_way_out(tmp_path, taken, what):
    """The demo's dev cloud listens on --port + 1: whichever is taken is the one named."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = subprocess.run([*PANEL, "--headless", "--port", str(port if taken == "api" else port - 1)],
                                capture_output=True, text=True, timeout=30, env={**ENV, "HOME": str(tmp_path)})
    assert_one_line_error(result, f"cannot listen on 127.0.0.1:{port} {what}", "already in use",
                          "--port 0 (any free port)")
    assert "Errno" not in result.stderr


@pytest.mark.parametrize("args,typo,suggested", [
    (["rnu"], "rnu", "run"), (["scna", "x.png"], "scna", "scan"),
    (["credential", "isue"], "isue", "issue"), (["cloud", "resdents"], "resdents", "residents")])
def test_a_mistyped_command_gets_a_suggestion(args, typo, suggested):
    assert_one_line_error(panel(*args), f"invalid choice: '{typo}'", f"did you mean '{suggested}'?")


def test_fresh_is_for_the_demo_only(tmp_path):
    assert_one_line_error(panel("--fresh", "config", "--defaults"), "--fresh is for the demo")
