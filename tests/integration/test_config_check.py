"""`panel config --check` runs every check of the file that `panel run` does (one
validation function), so a config it calls OK starts; special and oversized files
are refused with one line, exit 2, instead of hanging or eating memory."""

from __future__ import annotations

import os

import pytest

from tests.configs import with_simulated_parts
from tests.integration.test_cli import assert_one_line_error, panel

BAD = {      # case: (panel keys, other sections, words of the one line)
    "language": ('language = "xx"\n', "", ["'panel.language' = 'xx'", "use one of de, en"]),
    "pin twice": ("", "[gpio]\nexit_pin = 17\n", ["'gpio.exit_pin' = 17", "'gpio.relay_pin'"]),
    "property file": ("", '[directory]\nproperty_file = "missing.toml"\n', ["missing.toml", "property file not found"]),
}


def write(tmp_path, panel_keys: str = "", sections: str = ""):
    path = tmp_path / "p.toml"
    path.write_text(with_simulated_parts(f'[panel]\nstate_dir = "{tmp_path}/state"\n{panel_keys}'
                                         f"[api]\nport = 0\n{sections}"))
    return path


@pytest.mark.parametrize("case", sorted(BAD))
def test_check_and_run_refuse_the_same_config_with_the_same_line(tmp_path, case):
    panel_keys, sections, words = BAD[case]
    path = write(tmp_path, panel_keys, sections)
    check = panel("config", "--check", str(path))
    assert_one_line_error(check, "p.toml", *words)
    run = panel("run", "--config", str(path), "--headless")
    assert_one_line_error(run, *words)
    assert run.stderr == check.stderr


def test_a_fifo_as_config_or_property_file_is_refused_at_once(tmp_path):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    assert_one_line_error(panel("config", "--check", str(fifo), timeout=20), "fifo.toml", "not a regular file")
    path = write(tmp_path, sections=f'[directory]\nproperty_file = "{fifo}"\n')
    assert_one_line_error(panel("config", "--check", str(path), timeout=20), "fifo.toml", "not a regular file")


def test_dev_zero_and_an_oversized_file_are_refused_without_reading_them(tmp_path):
    assert_one_line_error(panel("config", "--check", "/dev/zero", timeout=20), "/dev/zero", "not a regular file")
    big = tmp_path / "big.toml"
    with open(big, "wb") as f:
        f.truncate(64 * 1024 * 1024)            # sparse: 64 MiB of NULs, no disk used
    assert_one_line_error(panel("config", "--check", str(big), timeout=20), "big.toml", "too big")
