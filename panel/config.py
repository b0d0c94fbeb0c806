"""Configuration: TOML -> frozen dataclasses, with complete defaults and clear errors.

`load(None)` gives the demo configuration (assets/config/demo.toml), so `panel`
with no file runs. A bad file raises ConfigError whose message is one line naming
the file, the key and what is wrong; the CLI prints it and exits 2.

The keys that pick hardware (REQUIRED: the door backend, the GPIO pin factory when
GPIO is used, the camera, the microphone and the speaker) have no default: a
simulated part on a real panel (a test tone to the resident, a mock relay that
never opens the door) is a set-up mistake to be told about, not a fallback. A file
that leaves one out is an error naming the key; the demo names its simulated parts
in demo.toml, tests start from it.

One module on purpose (over 400 lines): every key, its default and its check are read
in one place, and `config --defaults` prints them from the same dataclasses.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import os
import tomllib
import types
import typing
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


ASSETS = Path(__file__).resolve().parent.parent / "assets"


class ConfigError(Exception):
    """One line a person can act on: which file, which key, what is wrong."""


@dataclass(frozen=True)
class PanelSection:
    name: str = "Maple Court"          # building name shown on the home screen
    door_id: str = "main"              # which door this panel guards (credentials name doors)
    door_name: str = "Main entrance"   # that door as residents know it: their app names it when it rings
    language: str = "en"
    state_dir: str = "~/.local/state/entry-panel"   # SQLite store lives here
    log_level: Literal["debug", "info", "warning", "error"] = "info"


@dataclass(frozen=True)
class ScreenSection:
    width: int = 800
    height: int = 1280
    headless: Literal["auto", "yes", "no"] = "auto"   # auto: a window when a display exists
    fullscreen: bool = False
    idle_seconds: float = 30.0         # directory -> home after this long untouched
    message_seconds: float = 6.0       # granted / refused / door open / call ended messages


@dataclass(frozen=True)
class DoorSection:
    backend: Literal["gpio", "modbus", "osdp"] = ""       # required (see REQUIRED); gpio + pin_factory "mock" = no hardware
    pulse_seconds: float = 5.0
    mode: Literal["fail-secure", "fail-safe"] = "fail-secure"
    alarm_after_seconds: float = 10.0  # relay unreachable this long while it must relock -> alarm
    held_open_seconds: float = 30.0    # door contact open longer than this -> "door held open"


@dataclass(frozen=True)
class GpioSection:
    pin_factory: Literal["mock", "lgpio", "native", "rpigpio"] = ""   # required when GPIO is used (see REQUIRED)
    relay_pin: int = 17
    relay_active_high: bool = True
    contact_pin: int = 27              # door contact (closed = door shut); -1 = not fitted
    exit_pin: int = 22                 # request-to-exit button; -1 = not fitted
    tamper_pin: int = -1               # tamper switch; -1 = not fitted
    bounce_seconds: float = 0.05


@dataclass(frozen=True)
class ModbusSection:
    port: str = "/dev/ttyUSB0"
    baudrate: int = 9600
    unit: int = 1
    coil: int = 0
    timeout_seconds: float = 0.5


@dataclass(frozen=True)
class OsdpSection:
    port: str = "/dev/ttyUSB0"
    baudrate: int = 115200
    address: int = 0
    output: int = 0
    scbk: str = ""                     # secure channel base key, 32 hex digits; empty = no secure channel


@dataclass(frozen=True)
class CameraSection:
    # Required: "synthetic" (a generated scene), a device index ("0"), a V4L2 path, a
    # video file, a stream URL, or a folder of images.
    source: str = ""
    width: int = 640
    height: int = 480
    fps: float = 10.0
    # GET camera/stream.mjpeg (MJPEG for browsers, Home Assistant, recorders): at most this
    # many frames a second, to at most this many viewers at once.
    stream_fps: float = 5.0
    stream_viewers: int = 4


@dataclass(frozen=True)
class AudioSection:
    microphone: str = ""               # required: "tone" (simulated), "alsa:DEVICE" or "pulse:DEVICE"
    speaker: str = ""                  # required: "sink" (simulated), "alsa:DEVICE" or "pulse:DEVICE"


@dataclass(frozen=True)
class ApiSection:
    host: str = "127.0.0.1"
    port: int = 8780                   # 0 = any free port (printed at start)
    token: str = ""                    # control: every route; empty = a random token each start (printed)
    read_token: str = ""               # read-only: GET status, events, snapshots, screen, ui; empty = none
    tls: Literal["auto", "on", "off"] = "auto"   # auto: HTTPS unless host is loopback (self-signed, state dir)
    max_connections: int = 256         # open connections at once (also kept under the open-file limit)
    header_timeout_seconds: float = 20.0   # a connection sends a complete request head within this
    body_timeout_seconds: float = 30.0     # and a request's body within this
    max_frame_bytes: int = 8 << 20     # POST camera/frame: the largest body
    max_frame_pixels: int = 4096 * 4096    # and the largest image (width x height), checked before decoding


@dataclass(frozen=True)
class CloudSection:
    url: str = ""                      # empty: no cloud (calls unavailable, QR still works)
    token: str = ""
    # wss:// is verified against the system's CAs, or this CA file (PEM, relative to the
    # config file), or only against this pinned SHA-256 fingerprint of the cloud's certificate.
    ca_file: str = ""
    fingerprint: str = ""              # 64 hex digits, colons allowed
    allow_insecure: bool = False       # ws:// to an address other than loopback (never in production)
    heartbeat_seconds: float = 10.0    # a cloud silent this long (no pong) is taken for gone


@dataclass(frozen=True)
class CallSection:
    ring_timeout_seconds: float = 30.0
    max_call_seconds: float = 180.0
    # STUN/TURN servers: "stun:host:port", "turn:user:password@host:port" (also turns:).
    ice_servers: list[str] = field(default_factory=list)
    # Restrict ICE candidates, and the connectivity checks accepted, to these local and
    # remote addresses. Empty: no restriction. Tests on one machine use ["127.0.0.1"].
    ice_addresses: list[str] = field(default_factory=list)
    video_codecs: list[str] = field(default_factory=lambda: ["VP8", "H264"])   # preference order
    # Ceiling on the video bitrate the receiver's estimate may raise the encoder to.
    max_video_kbps: int = 1000


@dataclass(frozen=True)
class SipAccount:
    uri: str = ""                      # the panel's address: "sip:panel@pbx.example"
    username: str = ""                 # digest user name; empty: the URI's user
    password: str = ""
    registrar: str = ""                # "host[:port]" to REGISTER at (and send calls through); empty: direct calls


@dataclass(frozen=True)
class SipSection:
    # Accounts in order: calls go out on the first registered one. None: no SIP.
    accounts: list[SipAccount] = field(default_factory=list)
    listen: str = "0.0.0.0:5060"       # the UDP socket: "host:port" (port 0 = any)
    register_expires: int = 600        # seconds asked for; renewed at half what the registrar grants
    media_timeout_seconds: float = 15.0   # no audio from the peer this long in a call: it is gone, end the call
    door_code: str = ""                # keys the resident presses in a call to open the door ("9", "*9"); empty: none
    door_code_attempts: int = 3        # wrong codes in one call before the panel ends it
    # SRTP keyed by SDES (a=crypto): "optional" offers keys in RTP/AVP and encrypts if the phone
    # answers with its own; "required" offers RTP/SAVP only. Keys travel in the SDP: use with TLS.
    srtp: Literal["off", "optional", "required"] = "off"
    # Phone numbers in residents' contacts are dialled as this SIP URI ({number}: the number,
    # digits and a leading +), through the account's registrar: "sip:{number}@pbx.example".
    # Empty: no trunk (numbers go to the cloud, which may call them itself).
    trunk: str = ""


@dataclass(frozen=True)
class DirectorySection:
    # Where residents come from until the cloud syncs them: a property file (TOML),
    # relative to the config file. Empty: the bundled demo property.
    property_file: str = ""
    display: Literal["full", "initial", "unit"] = "full"   # how names are shown to visitors


@dataclass(frozen=True)
class AccessSection:
    visitor_limit_hours: float = 24.0
    allow_visitors: bool = True
    # Issuer key id -> Ed25519 public key (base64url of the 32 bytes, or PEM). Several at
    # once during a key rotation. Only public keys: the panel never holds an issuer's secret.
    trusted_keys: dict[str, str] = field(default_factory=dict)
    dedupe_seconds: float = 3.0        # the same code seen again within this long: one decision


@dataclass(frozen=True)
class StoreSection:
    # The access log on the state folder's disk (an SD card on a Pi): the oldest entries
    # go first, uploaded ones before any still waiting for the cloud.
    max_entries: int = 50_000
    max_age_days: float = 90.0
    max_bytes: int = 512 * 1024 * 1024
    # Snapshots are scaled down and re-encoded to fit before they are stored or uploaded.
    snapshot_max_side: int = 640       # pixels, the longer side
    snapshot_quality: int = 75         # JPEG quality to start from (lowered to fit the byte cap)
    snapshot_max_bytes: int = 96_000
    # While the disk will not take writes: entries wait in memory, up to this many
    # (the oldest is lost beyond it, logged) and this many bytes of snapshots
    # (beyond it an entry waits without its snapshot).
    queue_entries: int = 1000
    queue_bytes: int = 16 * 1024 * 1024


@dataclass(frozen=True)
class MqttSection:
    """[mqtt] (panel/mqtt.py): states and events on a broker, Home Assistant discovery."""
    host: str = ""                     # empty: no MQTT
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False                  # TLS to the broker (system CAs, or ca_file)
    ca_file: str = ""
    topic_prefix: str = ""             # empty: "entry-panel/<door_id>"
    discovery: bool = True             # Home Assistant MQTT discovery
    discovery_prefix: str = "homeassistant"
    # The open-door command's payload: a secret of 16+ characters (the lock's payload_open);
    # empty: the panel takes no commands over MQTT.
    open_payload: str = ""
    camera_interval_seconds: float = 10.0   # the camera entity's picture; 0: only with each access
    queue_messages: int = 1000         # events kept while the broker is away (the oldest go beyond)


WEBHOOK_KINDS = ("access", "alarm", "call", "door", "link")


@dataclass(frozen=True)
class WebhookSection:
    """One [[webhooks]] table: a signed JSON POST per event (panel/webhooks.py)."""
    url: str = ""                      # required: http(s)://...
    secret: str = ""                   # required: the HMAC-SHA256 key, at least 16 characters
    events: list[str] = field(default_factory=lambda: ["access", "alarm", "call", "door"])
    max_queued: int = 10_000           # undelivered events kept while the receiver is away
    timeout_seconds: float = 10.0
    retry_max_seconds: float = 60.0    # the back-off between attempts doubles from 0.5 s up to this


@dataclass(frozen=True)
class Config:
    panel: PanelSection = field(default_factory=PanelSection)
    screen: ScreenSection = field(default_factory=ScreenSection)
    door: DoorSection = field(default_factory=DoorSection)
    gpio: GpioSection = field(default_factory=GpioSection)
    modbus: ModbusSection = field(default_factory=ModbusSection)
    osdp: OsdpSection = field(default_factory=OsdpSection)
    camera: CameraSection = field(default_factory=CameraSection)
    audio: AudioSection = field(default_factory=AudioSection)
    api: ApiSection = field(default_factory=ApiSection)
    cloud: CloudSection = field(default_factory=CloudSection)
    call: CallSection = field(default_factory=CallSection)
    sip: SipSection = field(default_factory=SipSection)
    directory: DirectorySection = field(default_factory=DirectorySection)
    access: AccessSection = field(default_factory=AccessSection)
    store: StoreSection = field(default_factory=StoreSection)
    mqtt: MqttSection = field(default_factory=MqttSection)
    webhooks: tuple[WebhookSection, ...] = ()     # [[webhooks]]: an array of tables
    source: str = "<defaults>"         # the file this came from (not a TOML key)

    @property
    def state_dir(self) -> Path:
        return self.path(self.panel.state_dir)

    @property
    def property_file(self) -> Path:
        if not self.directory.property_file:
            return ASSETS / "demo" / "property.toml"
        return self.path(self.directory.property_file)

    def path(self, value: str) -> Path:
        """A path from the config: ~ expanded, relative to the config file's folder."""
        p = Path(os.path.expanduser(value))
        if not p.is_absolute() and self.source not in ("<defaults>", "<dict>"):
            p = Path(self.source).resolve().parent / p
        return p

    def replace(self, section: str, **changes) -> "Config":
        """A copy with some keys of one section changed (used by the CLI and tests)."""
        return dataclasses.replace(self, **{section: dataclasses.replace(getattr(self, section), **changes)})


# Keys without a default: key -> (what a real panel would name, the choices). The
# first is the example `panel config --defaults` shows, commented out.
REQUIRED = {
    "door.backend": ('"gpio"', '"gpio", "modbus" or "osdp"'),
    "gpio.pin_factory": ('"lgpio"', '"lgpio" (Raspberry Pi 4 and 5), "native", "rpigpio", or "mock" (simulated)'),
    "camera.source": ('"/dev/video0"', 'a V4L2 path, a device index, a video file, a stream URL, a folder of images, '
                                       'or "synthetic" (simulated)'),
    "audio.microphone": ('"alsa:default"', '"alsa:DEVICE", "pulse:DEVICE", or "tone" (simulated)'),
    "audio.speaker": ('"alsa:default"', '"alsa:DEVICE", "pulse:DEVICE", or "sink" (simulated)'),
}

MIN_TOKEN_CHARS = 16                # API tokens: guessing one over the network must be hopeless

DEMO_CONFIG = ASSETS / "config" / "demo.toml"


def uses_gpio(config: "Config") -> bool:
    """The relay is on GPIO, or a door contact, exit button or tamper switch is fitted."""
    g = config.gpio
    return config.door.backend == "gpio" or max(g.contact_pin, g.exit_pin, g.tamper_pin) >= 0


# Values that must be positive or within a range, checked after types.
_RANGES = {
    "screen.width": (240, 7680), "screen.height": (240, 7680),
    "screen.idle_seconds": (1, 3600), "screen.message_seconds": (0.5, 600),
    "door.pulse_seconds": (0.1, 600), "door.alarm_after_seconds": (0.1, 3600),
    "door.held_open_seconds": (1, 86400),
    "gpio.relay_pin": (0, 53), "gpio.contact_pin": (-1, 53), "gpio.exit_pin": (-1, 53),
    "gpio.tamper_pin": (-1, 53), "gpio.bounce_seconds": (0, 1),
    "modbus.baudrate": (300, 921600), "modbus.unit": (1, 247), "modbus.coil": (0, 65535),
    "modbus.timeout_seconds": (0.01, 10),
    "osdp.baudrate": (9600, 230400), "osdp.address": (0, 126), "osdp.output": (0, 255),
    "camera.width": (16, 7680), "camera.height": (16, 4320), "camera.fps": (0.1, 120),
    "camera.stream_fps": (0.1, 30), "camera.stream_viewers": (0, 64),
    "api.port": (0, 65535), "api.max_connections": (8, 65536),
    "api.header_timeout_seconds": (0.1, 600), "api.body_timeout_seconds": (0.1, 3600),
    "api.max_frame_bytes": (1024, 256 << 20), "api.max_frame_pixels": (64 * 64, 1 << 28),
    "cloud.heartbeat_seconds": (0.2, 300),
    "call.ring_timeout_seconds": (1, 600), "call.max_call_seconds": (5, 7200),
    "call.max_video_kbps": (300, 3000), "sip.register_expires": (1, 86400),
    "sip.media_timeout_seconds": (1, 300), "sip.door_code_attempts": (1, 20),
    "access.visitor_limit_hours": (0, 24 * 366), "access.dedupe_seconds": (0, 60),
    "store.max_entries": (10, 10_000_000), "store.max_age_days": (1, 3660),
    "store.max_bytes": (1024 * 1024, 1 << 40), "store.snapshot_max_side": (64, 4096),
    "store.snapshot_quality": (20, 95), "store.snapshot_max_bytes": (8_000, 1_000_000),
    "store.queue_entries": (10, 100_000),
    "mqtt.port": (1, 65535), "mqtt.camera_interval_seconds": (0, 86400), "mqtt.queue_messages": (10, 1_000_000), "store.queue_bytes": (0, 1 << 30),
}


MAX_CONFIG_BYTES = 1 << 20         # a config is a few KB; more is the wrong file


def load(path: str | os.PathLike | None) -> Config:
    """Read a config file; None gives the demo's (assets/config/demo.toml). Only a
    regular file of at most MAX_CONFIG_BYTES: a FIFO or /dev/zero is refused, not read."""
    from .files import FileProblem, read_regular
    if path is None:
        path = DEMO_CONFIG
    p = Path(path)
    try:
        raw = read_regular(p, MAX_CONFIG_BYTES, "config file")
    except FileProblem as e:
        raise ConfigError(str(e)) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text; expected a TOML file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: TOML syntax error: {e}") from None
    return from_dict(data, source=str(p))


def from_dict(data: dict, source: str = "<dict>") -> Config:
    sections = {}
    known = {f.name: f for f in dataclasses.fields(Config) if f.name != "source"}
    for name, value in data.items():
        if name not in known:
            raise ConfigError(f"{source}: unknown section [{name}]{_suggest(name, known)}")
        if name == "webhooks":
            sections[name] = _webhooks(value, source)
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: '{name}' must be a section ([{name}]), got {_describe(value)}")
        sections[name] = _build(known[name].type, value, name, source)
    config = Config(**sections, source=source)
    validate(config)
    return config


def validate(config: Config) -> None:
    """Every check of a config's content that `panel run` makes, in one place: `load`
    calls it, so `panel config --check` and `panel run` refuse the same files with the
    same line. (Whether this machine has the serial port or camera named is checked
    when the panel opens them: a config is often checked on another machine.)"""
    source = config.source
    _check_ranges(config, source)
    _check_required(config, source)
    _check_start_up(config, source)


def _check_start_up(config: Config, source: str) -> None:
    """What the parts would otherwise find out at start-up, with a traceback."""
    from .ui.strings import language_problem
    problem = language_problem(config.panel.language)
    if problem:
        raise ConfigError(f"{source}: {problem}")
    g = config.gpio
    pins = {"gpio.relay_pin": g.relay_pin} if config.door.backend == "gpio" else {}
    pins |= {f"gpio.{k}": getattr(g, k) for k in ("contact_pin", "exit_pin", "tamper_pin") if getattr(g, k) >= 0}
    used: dict[int, str] = {}
    for where, pin in pins.items():
        if pin in used:
            raise ConfigError(f"{source}: '{where}' = {pin} is also '{used[pin]}': give each input and "
                              f"output its own pin")
        used[pin] = where
    from .directory import PropertyError, load_property
    try:
        load_property(config.property_file)
    except PropertyError as e:
        raise ConfigError(f"{source}: 'directory.property_file': {e}") from None


def _webhooks(value, source: str) -> tuple[WebhookSection, ...]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{source}: 'webhooks' must be an array of tables: write each as [[webhooks]] "
                          f"with url, secret and events")
    hooks = tuple(_build(WebhookSection, v, f"webhooks[{i}]", source) for i, v in enumerate(value))
    for i, hook in enumerate(hooks):
        where = f"{source}: 'webhooks[{i}]"
        if not hook.url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}.url' = {hook.url!r}: expected an http:// or https:// URL")
        if len(hook.secret) < 16:
            raise ConfigError(f"{where}.secret' must be at least 16 characters (the receiver verifies "
                              f"signatures with it)")
        for kind in hook.events:
            if kind not in WEBHOOK_KINDS:
                raise ConfigError(f"{where}.events' names {kind!r}: choose from {', '.join(WEBHOOK_KINDS)}")
        if not (10 <= hook.max_queued <= 1_000_000 and 0.5 <= hook.timeout_seconds <= 120
                and 0.5 <= hook.retry_max_seconds <= 3600):
            raise ConfigError(f"{where}': max_queued must be 10 to 1000000, timeout_seconds 0.5 to 120, "
                              f"retry_max_seconds 0.5 to 3600")
    return hooks


def _check_required(config: Config, source: str) -> None:
    for where, (_, choices) in REQUIRED.items():
        if where == "gpio.pin_factory" and not uses_gpio(config):
            continue
        section, key = where.split(".")
        if getattr(getattr(config, section), key) == "":
            why = " (the door relay or its inputs are on GPIO)" if where == "gpio.pin_factory" else ""
            raise ConfigError(f"{source}: '{where}' is not set{why}: name it in [{section}]: {choices} "
                              f"(no default; see assets/config/)")


def _build(cls_name, values: dict, section: str, source: str):
    cls = globals()[cls_name] if isinstance(cls_name, str) else cls_name
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        where = f"{section}.{key}"
        if key not in fields:
            raise ConfigError(f"{source}: unknown key '{where}'{_suggest(key, fields)}")
        kwargs[key] = _coerce(value, hints[key], where, source)
    return cls(**kwargs)


def _coerce(value, hint, where: str, source: str):
    origin = typing.get_origin(hint)
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            shown = ", ".join(repr(c) for c in choices)
            raise ConfigError(f"{source}: '{where}' must be one of {shown}, got {_describe(value)}")
        return value
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                return _coerce(value, option, where, source)
            except ConfigError:
                pass
        raise ConfigError(f"{source}: '{where}' has the wrong type: {_describe(value)}")
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{source}: '{where}' must be a list ([...]), got {_describe(value)}")
        return [_coerce(v, typing.get_args(hint)[0], f"{where}[{i}]", source) for i, v in enumerate(value)]
    if dataclasses.is_dataclass(hint):          # a table inside a section ([[sip.accounts]])
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: '{where}' must be a table, got {_describe(value)}")
        return _build(hint, value, where, source)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: '{where}' must be a table of names to strings, got {_describe(value)}")
        return {str(k): _coerce(v, typing.get_args(hint)[1], f"{where}.{k}", source) for k, v in value.items()}
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{source}: '{where}' must be true or false, got {_describe(value)}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{source}: '{where}' must be a whole number, got {_describe(value)}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{source}: '{where}' must be a number, got {_describe(value)}")
    if hint is str:
        if isinstance(value, str):
            return value
        # A camera index written as a number is a common, harmless slip.
        if where == "camera.source" and isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{source}: '{where}' must be a string (in quotes), got {_describe(value)}")
    raise ConfigError(f"{source}: '{where}': unsupported type {hint}")  # a bug in this module


def _check_ranges(config: Config, source: str) -> None:
    for where, (low, high) in _RANGES.items():
        section, key = where.split(".")
        value = getattr(getattr(config, section), key)
        if not low <= value <= high:
            raise ConfigError(f"{source}: '{where}' = {value} is out of range ({low} to {high})")
    for key in ("token", "read_token"):
        if 0 < len(getattr(config.api, key)) < MIN_TOKEN_CHARS:
            raise ConfigError(f"{source}: 'api.{key}' is too short: use at least {MIN_TOKEN_CHARS} characters, "
                              f"or leave it empty" + (" for a random one" if key == "token" else ""))
    if config.api.read_token and config.api.read_token == config.api.token:
        raise ConfigError(f"{source}: 'api.read_token' is the same as 'api.token': give the read-only token its own value")
    from .access.keys import load_trusted_keys
    try:
        load_trusted_keys(config.access.trusted_keys)
    except ValueError as e:
        raise ConfigError(f"{source}: 'access.trusted_keys': {e}") from None
    for key, simulated in (("microphone", "tone"), ("speaker", "sink")):
        value = getattr(config.audio, key)
        if value and value != simulated and not value.startswith(("alsa:", "pulse:")):
            raise ConfigError(f"{source}: 'audio.{key}' = {value!r}: use \"{simulated}\", \"alsa:DEVICE\" "
                              f"or \"pulse:DEVICE\"")
    for i, codec in enumerate(config.call.video_codecs):
        if codec not in ("VP8", "H264"):
            raise ConfigError(f"{source}: 'call.video_codecs[{i}]' = {codec!r}: use \"VP8\" and/or \"H264\"")
    for i, url in enumerate(config.call.ice_servers):
        if not url.startswith(("stun:", "turn:", "turns:")):
            raise ConfigError(f"{source}: 'call.ice_servers[{i}]' = {url!r}: expected stun:host:port or "
                              f"turn:user:password@host:port")
    for i, address in enumerate(config.call.ice_addresses):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ConfigError(f"{source}: 'call.ice_addresses[{i}]' = {address!r} is not an IP address") from None
    for i, account in enumerate(config.sip.accounts):
        if not account.uri.startswith("sip:") or "@" not in account.uri:
            raise ConfigError(f"{source}: 'sip.accounts[{i}].uri' = {account.uri!r}: expected sip:user@host")
    if any(c not in "0123456789*#ABCD" for c in config.sip.door_code) or len(config.sip.door_code) > 12:
        raise ConfigError(f"{source}: 'sip.door_code' = {config.sip.door_code!r}: use up to 12 keypad keys "
                          f"(0-9, *, #, A-D), or empty for none")
    trunk = config.sip.trunk
    if trunk and (not trunk.startswith(("sip:", "sips:")) or "{number}" not in trunk or "@" not in trunk
                  or trunk.replace("{number}", "").count("{") or trunk.replace("{number}", "").count("}")):
        raise ConfigError(f"{source}: 'sip.trunk' = {trunk!r}: expected a SIP URI with {{number}} where the number "
                          f"goes, e.g. \"sip:{{number}}@pbx.example\"")
    if config.sip.accounts and not _is_host_port(config.sip.listen):
        raise ConfigError(f"{source}: 'sip.listen' = {config.sip.listen!r}: expected host:port, e.g. \"0.0.0.0:5060\"")
    if config.mqtt.open_payload and len(config.mqtt.open_payload) < 16:
        raise ConfigError(f"{source}: 'mqtt.open_payload' is too short: use a secret of at least 16 characters, "
                          f"or leave it empty to take no commands over MQTT")
    _check_cloud(config, source)
    scbk = config.osdp.scbk
    if scbk and (len(scbk) != 32 or any(c not in "0123456789abcdefABCDEF" for c in scbk)):
        raise ConfigError(f"{source}: 'osdp.scbk' must be 32 hex digits (a 128-bit key), or empty for no secure channel")


def _is_host_port(text: str) -> bool:
    host, _, port = text.rpartition(":")
    return bool(host) and port.isdigit() and int(port) <= 65535


def _check_cloud(config: Config, source: str) -> None:
    c = config.cloud
    if not c.url:
        return
    scheme, _, rest = c.url.partition("://")
    host = urllib.parse.urlsplit(c.url).hostname or ""
    if scheme not in ("ws", "wss") or not rest:
        raise ConfigError(f"{source}: 'cloud.url' = {c.url!r}: expected wss://HOST/PATH (or ws:// to this machine)")
    if scheme == "ws" and not _loopback(host) and not c.allow_insecure:
        raise ConfigError(f"{source}: 'cloud.url' = {c.url!r} is unencrypted (ws://) to another machine: use "
                          f"wss://, or set 'cloud.allow_insecure' = true on a network you trust")
    if c.fingerprint and not fingerprint_bytes(c.fingerprint):
        raise ConfigError(f"{source}: 'cloud.fingerprint' must be the certificate's SHA-256 as 64 hex digits "
                          f"(colons allowed), e.g. from `openssl x509 -noout -fingerprint -sha256`")
    if c.ca_file and not config.path(c.ca_file).is_file():
        raise ConfigError(f"{source}: 'cloud.ca_file' = {c.ca_file!r}: no such file ({config.path(c.ca_file)})")
    if c.ca_file and c.fingerprint:
        raise ConfigError(f"{source}: 'cloud.ca_file' and 'cloud.fingerprint' are both set: choose one")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fingerprint_bytes(text: str) -> bytes | None:
    """A SHA-256 fingerprint as written in the config (hex, colons allowed) -> its 32 bytes."""
    digits = text.replace(":", "").strip()
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        return None
    return raw if len(raw) == 32 else None


def _describe(value) -> str:
    kind = {bool: "boolean", int: "number", float: "number", str: "string",
            list: "list", dict: "table"}.get(type(value), type(value).__name__)
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{kind} {shown}"


def _suggest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def example_toml() -> str:
    """Every section and key with its default, as TOML (for `panel config --defaults`).

    A required key has no default: it is shown commented out, with what a real panel
    would name and the choices, so the text is valid TOML and checking it as it is
    names the first key still to be chosen."""
    lines = ["# Every key with its default. Keys marked REQUIRED have none: uncomment and choose.", ""]
    for section in dataclasses.fields(Config):
        if section.name == "webhooks":
            lines += ["# [[webhooks]]    # any number: url, secret (16+ characters), events, max_queued, "
                      "timeout_seconds", '# url = "https://example.net/panel"', ""]
            continue
        if section.name == "source":
            continue
        lines.append(f"[{section.name}]")
        for f in dataclasses.fields(getattr(Config(), section.name)):
            where = f"{section.name}.{f.name}"
            if where in REQUIRED:
                example, choices = REQUIRED[where]
                lines.append(f"# {f.name} = {example}    # REQUIRED: {choices}")
                continue
            value = getattr(getattr(Config(), section.name), f.name)
            lines.append(f"{f.name} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if dataclasses.is_dataclass(value):
        return _toml_value(dataclasses.asdict(value))
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_value(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)
