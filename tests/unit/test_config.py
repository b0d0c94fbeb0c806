"""Config: no file runs the demo (assets/config/demo.toml); a file must name its
hardware; every kind of bad file gives one line naming the key."""

import dataclasses
import tomllib
from pathlib import Path

import pytest

from panel.config import ASSETS, DEMO_CONFIG, REQUIRED, Config, ConfigError, example_toml, load
from tests.configs import SIMULATED, with_simulated_parts


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "panel.toml"
    p.write_text(text, encoding="utf-8")
    return p


def error_of(tmp_path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_no_file_gives_the_demo_with_every_part_simulated():
    c = load(None)
    assert c == load(DEMO_CONFIG)
    assert c.door.backend == "gpio" and c.gpio.pin_factory == "mock"
    assert c.camera.source == "synthetic"
    assert (c.audio.microphone, c.audio.speaker) == ("tone", "sink")
    assert c.state_dir.name == "entry-panel"
    assert c.property_file == ASSETS / "demo" / "property.toml" and c.property_file.exists()


def test_hardware_keys_have_no_simulated_default():
    c = Config()
    assert c.door.backend == c.gpio.pin_factory == c.camera.source == c.audio.microphone == c.audio.speaker == ""


def test_a_file_overrides_only_what_it_names(tmp_path):
    c = load(write(tmp_path, with_simulated_parts('[door]\npulse_seconds = 3\n[panel]\nname = "Elm House"\n')))
    assert c.door.pulse_seconds == 3.0 and isinstance(c.door.pulse_seconds, float)
    assert c.panel.name == "Elm House"
    assert c.screen == Config().screen


def test_relative_paths_are_relative_to_the_config_file(tmp_path):
    (tmp_path / "p.toml").write_text('[property]\nname = "Elm House"\n')
    c = load(write(tmp_path, with_simulated_parts(
        '[panel]\nstate_dir = "state"\n[directory]\nproperty_file = "p.toml"\n')))
    assert c.state_dir == tmp_path / "state"
    assert c.property_file == tmp_path / "p.toml"


def test_camera_index_may_be_written_as_a_number(tmp_path):
    assert load(write(tmp_path, with_simulated_parts("[camera]\nsource = 0\n"))).camera.source == "0"


def _toml_without(missing: str) -> str:
    lines = []
    for section, keys in SIMULATED.items():
        lines.append(f"[{section}]")
        lines += [f'{key} = "{value}"' for key, value in keys.items() if f"{section}.{key}" != missing]
    return "\n".join(lines) + "\n"


def test_naming_every_required_key_is_enough(tmp_path):
    assert {f"{s}.{k}" for s, keys in SIMULATED.items() for k in keys} == set(REQUIRED)
    assert load(write(tmp_path, _toml_without(""))).camera.source == "synthetic"


@pytest.mark.parametrize("key", sorted(REQUIRED))
def test_a_file_that_names_no_hardware_part_is_an_error_naming_the_key(tmp_path, key):
    msg = error_of(tmp_path, _toml_without(key))
    assert f"'{key}' is not set" in msg and "no default" in msg


def test_an_empty_hardware_value_counts_as_not_set(tmp_path):
    text = _toml_without("camera.source").replace("[camera]", '[camera]\nsource = ""')
    assert "'camera.source' is not set" in error_of(tmp_path, text)


def test_the_pin_factory_is_needed_only_when_something_is_on_gpio(tmp_path):
    text = _toml_without("gpio.pin_factory").replace('backend = "gpio"', 'backend = "modbus"')
    assert "'gpio.pin_factory' is not set" in error_of(tmp_path, text)      # contact and exit pins by default
    text = text.replace("[gpio]", "[gpio]\ncontact_pin = -1\nexit_pin = -1\ntamper_pin = -1")
    assert load(write(tmp_path, text)).gpio.pin_factory == ""


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load(tmp_path / "nope.toml")


def test_syntax_error_names_the_line(tmp_path):
    msg = error_of(tmp_path, "[door]\npulse_seconds = \n")
    assert "TOML syntax error" in msg and "line 2" in msg


def test_unknown_key_suggests_the_right_one(tmp_path):
    msg = error_of(tmp_path, "[door]\npulse_secnds = 3\n")
    assert "unknown key 'door.pulse_secnds'" in msg and "did you mean 'pulse_seconds'" in msg


def test_unknown_section(tmp_path):
    assert "unknown section [dor]" in error_of(tmp_path, "[dor]\nx = 1\n")


def test_wrong_type_names_key_and_value(tmp_path):
    msg = error_of(tmp_path, '[door]\npulse_seconds = "five"\n')
    assert "'door.pulse_seconds' must be a number" in msg and "'five'" in msg


def test_boolean_is_not_a_number(tmp_path):
    assert "'gpio.relay_pin' must be a whole number" in error_of(tmp_path, "[gpio]\nrelay_pin = true\n")


def test_choice_lists_the_allowed_values(tmp_path):
    msg = error_of(tmp_path, '[door]\nbackend = "relayboard"\n')
    assert "'door.backend' must be one of 'gpio', 'modbus', 'osdp'" in msg


def test_out_of_range(tmp_path):
    assert "'api.port' = 70000 is out of range" in error_of(tmp_path, "[api]\nport = 70000\n")
    assert "'call.max_video_kbps' = 50 is out of range (300 to 3000)" in error_of(
        tmp_path, "[call]\nmax_video_kbps = 50\n")


def test_section_must_be_a_table(tmp_path):
    assert "'door' must be a section" in error_of(tmp_path, "door = 3\n")


def test_short_token_is_refused(tmp_path):
    assert "'api.token' is too short" in error_of(tmp_path, '[api]\ntoken = "abc"\n')


def test_bad_osdp_key(tmp_path):
    assert "'osdp.scbk' must be 32 hex digits" in error_of(tmp_path, '[osdp]\nscbk = "xyz"\n')


def test_binary_file(tmp_path):
    p = tmp_path / "bin.toml"
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load(p)


def test_defaults_are_toml_that_leaves_the_required_keys_to_choose(tmp_path):
    text = example_toml()
    tomllib.loads(text)
    assert "'door.backend' is not set" in error_of(tmp_path, text)
    chosen = "\n".join(line[2:] if "# REQUIRED" in line else line for line in text.splitlines())
    assert chosen.count("# REQUIRED") == len(REQUIRED)
    c = load(write(tmp_path, chosen))        # what each REQUIRED line shows is a real panel's choice
    assert c.door == dataclasses.replace(Config().door, backend="gpio")
    assert (c.gpio.pin_factory, c.camera.source, c.audio.microphone) == ("lgpio", "/dev/video0", "alsa:default")


@pytest.mark.parametrize("name", sorted(p.name for p in (ASSETS / "config").glob("*.toml")))
def test_shipped_example_configs_are_valid(name):
    load(ASSETS / "config" / name)


@pytest.mark.parametrize("name", sorted(p.name for p in (ASSETS / "config").glob("pi-*.toml")))
def test_the_pi_examples_name_real_devices_for_every_part(name):
    c = load(ASSETS / "config" / name)
    assert c.gpio.pin_factory not in ("", "mock")
    assert c.camera.source.startswith("/dev/video")
    assert c.audio.microphone.startswith(("alsa:", "pulse:")) and c.audio.speaker.startswith(("alsa:", "pulse:"))
