"""The terminal's configuration: ``config/kiosk.toml`` defaults, overridden by one file.

Every key is declared here with its type and what is allowed, so a wrong key or value stops
start-up with one line that names the file, the key and what is allowed — a technician on
site should never have to read a traceback.

The shipped defaults are a production terminal's: it signs with the key the government platform issued
for it (``[central] key_file``) and reports to the fleet with the key enrolment writes
(``kiosk enroll``), never with the demo key published in the repository. An override that
says ``mode = "demo"`` or ``mode = "test"`` starts from ``config/demo.toml`` instead (the demo
terminal GZ-DEMO-0001, its published key, the simulator on 127.0.0.1), so the demo and the
tests say only what they change. :func:`startup_problems` checks what start-up will need
beyond the values themselves (files, directories), for ``kiosk config validate`` and ``kiosk run``.
"""

from __future__ import annotations

import math
import os
import re
import reprlib
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from drivers.uri import parse_device_uri
from kiosk.paths import CONFIG_DIR, ROOT

DEFAULT_FILE = CONFIG_DIR / "kiosk.toml"
DEMO_FILE = CONFIG_DIR / "demo.toml"
DEMO_KEY_FILE = CONFIG_DIR / "demo-terminal.key"
PRINTER_PROFILES_DIR = CONFIG_DIR / "printers"
LANGUAGES = ("zh_CN", "zh_HK", "en")
# production: a real terminal, enrolled, on https with its own key; demo and test allow the
# published demo key and plain http:// to 127.0.0.1 (``kiosk demo``, the test suite)
TERMINAL_MODES = ("production", "demo", "test")
DEMO_MODES = ("demo", "test")
# mode "test" only: the suite runs idle timeouts and heartbeats in fractions of a second
TEST_MIN_SECONDS = 0.1
# the platform issues [central]'s key; the fleet's one-time code gives [fleet] its id and key
ENROL_HINT = ("install the government platform's key for this terminal there, and enrol this "
              "terminal with the fleet: kiosk enroll CODE --url URL --config OVERRIDE-FILE")

_show = reprlib.Repr()
_show.maxstring, _show.maxother, _show.maxlevel, _show.maxlist = 60, 60, 2, 4


class ConfigError(Exception):
    """A configuration file that cannot run the terminal; the message is the one line shown."""


@dataclass(frozen=True)
class Key:
    """One setting: its type, what a technician is told is allowed, and its checks.

    ``lo``/``hi`` bound a number (inclusive; inf and nan are never allowed); ``test_lo`` is
    the lower bound in mode "test" for durations the suite shortens."""

    kind: type
    allowed: str
    check: Callable[[Any], bool] = lambda v: True  # gets a value already of type ``kind``
    lo: float | None = None
    hi: float | None = None
    test_lo: float | None = None

    def accepts(self, value: Any, mode: str) -> bool:
        if self.lo is not None or self.hi is not None:
            if not math.isfinite(value):
                return False
            lo = self.test_lo if mode == "test" and self.test_lo is not None else self.lo
            if (lo is not None and value < lo) or (self.hi is not None and value > self.hi):
                return False
        return self.check(value)


def _seconds(lo: float, hi: float, what: str = "seconds", *, short_in_tests: bool = True) -> Key:
    return Key(float, f"{what} from {lo:g} to {hi:g}", lo=lo, hi=hi,
               test_lo=TEST_MIN_SECONDS if short_in_tests else None)


def _count(lo: int, hi: int, what: str) -> Key:
    return Key(int, f"{what} from {lo} to {hi}", lo=lo, hi=hi)


def _http_url(v: str) -> bool:
    """http(s), a host, and a port that is a number when given (``http://`` is not a URL)."""
    try:
        parts = urlsplit(v)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and v == v.strip()


def _optional_url(v: str) -> bool:
    return v == "" or _http_url(v)


def _uri_check(*schemes: str) -> Callable[[str], bool]:
    """A device URI with a scheme this device's driver takes, and the parts it needs."""
    def check(v: str) -> bool:
        if v == "":
            return True
        if v == "sim" or v.startswith("sim?"):
            return "sim" in schemes
        if v == "auto" or v.startswith("auto?"):  # the ID-card reader found among the plugged ones
            return "auto" in schemes
        try:
            uri = parse_device_uri(v)
        except ValueError:
            return False
        if uri.scheme not in schemes or "://" not in v:
            return False
        return _uri_parts_ok(uri.scheme, uri.host, uri.path, uri.params)
    return check


def _hex(text: str) -> bool:
    try:
        int(text, 16)
    except ValueError:
        return False
    return True


def _uri_parts_ok(scheme: str, host: str, path: str, params: dict[str, str]) -> bool:
    if scheme == "serial":
        return bool(path) and path != "/" and params.get("baud", "1").isdigit()
    if scheme == "tcp":
        name, sep, port = host.rpartition(":")
        return bool(name if sep else host) and (not sep or port.isdigit() and 0 < int(port) < 65536)
    if scheme in ("usb", "hid"):
        vid, sep, pid = host.partition(":")
        return bool(sep) and _hex(vid) and _hex(pid)
    if scheme == "file":
        return bool(path) and path != "/"
    if scheme in ("cups", "sdk"):  # sdk://MODEL?lib=…: a reader model file name
        return bool(host)
    if scheme == "camera":
        return bool(path) or host.isdigit()
    return True  # pcsc: an empty reader name means the first reader


# [terminal] texts a resident reads in their own language: the plain key is the 简体 text
# (and the fallback); ``<key>_zh_HK`` and ``<key>_en`` are its 繁體 and English versions
TERMINAL_TEXTS = ("hall", "hall_address", "opening_hours", "nearest_terminal")
TRANSLATED_LANGUAGES = ("zh_HK", "en")


def _translations(key: str, what: str) -> dict[str, Key]:
    return {f"{key}_{lang}": Key(str, f"{what} in {lang} (empty: the 简体 text)")
            for lang in TRANSLATED_LANGUAGES}


def in_language(facts: Mapping[str, Any], key: str, language: str) -> str:
    """The hall's text ``key`` for a resident reading ``language``: its own version when the
    hall set one, else the 简体 text (a name in the wrong script beats no name)."""
    own = facts.get(f"{key}_{language}") if language in TRANSLATED_LANGUAGES else None
    return str(own or facts.get(key, "") or "")


def with_translations(terminal: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    """``keys`` of [terminal] as text, with the language versions of those that have them."""
    out = {k: str(terminal[k]) for k in keys}
    for key in keys:
        if key in TERMINAL_TEXTS:
            out.update({f"{key}_{lang}": str(terminal.get(f"{key}_{lang}", ""))
                        for lang in TRANSLATED_LANGUAGES})
    return out


SCHEMA: dict[str, dict[str, Key]] = {
    "terminal": {
        "id": Key(str, "a non-empty terminal id", bool),
        "hall": Key(str, "the hall's name"),
        **_translations("hall", "the hall's name"),
        "hall_address": Key(str, "the hall's address, printed under its name"),
        **_translations("hall_address", "the hall's address"),
        "hotline": Key(str, "the hotline printed and shown to residents (digits)",
                       lambda v: v.replace("-", "").isdigit()),
        "help_window": Key(str, "the hall window residents are sent to for help (empty: none)"),
        "opening_hours": Key(str, "the hall's opening hours as shown to residents (empty: none)"),
        **_translations("opening_hours", "the opening hours"),
        "nearest_terminal": Key(str, "where the nearest other self-service terminal is (empty: none)"),
        **_translations("nearest_terminal", "where the nearest other terminal is"),
        "mode": Key(str, "one of production, demo, test", lambda v: v in TERMINAL_MODES),
    },
    "screen": {
        "width": _count(320, 7680, "a width in pixels"),
        "height": _count(320, 7680, "a height in pixels"),
        "fullscreen": Key(bool, "true or false"),
    },
    "session": {
        "idle_timeout": _seconds(10, 600),
        "countdown": _seconds(5, 120),
        "take_documents_timeout": _seconds(5, 300),
    },
    "ui": {
        "language": Key(str, "one of zh_CN, zh_HK, en", lambda v: v in LANGUAGES),
        "elderly_mode": Key(bool, "true or false"),
        "voice": Key(bool, "true or false"),
        # spoken language whatever the script on screen ("": the screen's): yue for Cantonese
        # speech with 简体 text
        "speech_language": Key(str, "empty, cmn, yue or en", lambda v: v in ("", "cmn", "yue", "en")),
    },
    "central": {
        "url": Key(str, "an http:// or https:// URL with a host", _http_url),
        "key_file": Key(str, "a path to the terminal's key file", bool),
        "ca_bundle": Key(str, "a path to a PEM CA bundle, or empty"),
        "client_cert": Key(str, "a path to a PEM client certificate, or empty"),
        "connect_timeout": _seconds(0.1, 120, short_in_tests=False),
        "read_timeout": _seconds(0.1, 120, short_in_tests=False),
    },
    "fleet": {  # central operations' fleet service (kiosk-fleet); empty url: none
        "url": Key(str, "the fleet service's http:// or https:// URL, or empty for none",
                   _optional_url),
        "terminal_id": Key(str, "the id `kiosk enroll` got from the fleet, or empty",
                           lambda v: v == "" or bool(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", v))),
        "key_file": Key(str, "a path to the terminal's fleet key file", bool),
        "ca_bundle": Key(str, "a path to a PEM CA bundle, or empty"),
        "client_cert": Key(str, "a path to a PEM client certificate, or empty"),
        "telemetry_interval": _seconds(5, 3600),
    },
    "devices": {
        "idcard": Key(str, "a device URI such as serial:///dev/ttyUSB0?baud=115200, "
                           "usb://0400:c35a, hid://261a:0007, sdk://sdtapi?lib=…, auto, or empty",
                      _uri_check("serial", "usb", "hid", "sdk", "auto")),
        "sscard": Key(str, "a device URI such as pcsc://reader-name, or empty", _uri_check("pcsc")),
        "receipt_printer": Key(str, "a device URI such as usb://0x0416:0x5011, tcp://host:9100, "
                                    "serial:///dev/ttyS0, file:///dev/usb/lp0 or sim, or empty",
                               _uri_check("usb", "tcp", "serial", "file", "sim")),
        "receipt_profile": Key(str, "a printer profile name from config/printers/", bool),
        "document_printer": Key(str, "a device URI such as cups://queue-name, or empty",
                                _uri_check("cups")),
        "camera": Key(str, "a device URI such as camera://0 or camera:///path/clip.avi, or empty",
                      _uri_check("camera", "sim")),
        "qr_scanner": Key(str, "a code scanner: serial:///dev/ttyACM0?baud=9600, hid-wedge:// "
                               "(a USB keyboard scanner), camera (decode camera frames), or empty",
                          lambda v: v == "camera" or _uri_check("serial", "hid-wedge")(v)),
    },
    "logging": {
        "dir": Key(str, "a directory for log files", bool),
        "level": Key(str, "one of DEBUG, INFO, WARNING, ERROR",
                     lambda v: v in ("DEBUG", "INFO", "WARNING", "ERROR")),
        "max_bytes": _count(64 * 1024, 1024 ** 3, "bytes"),
        "backups": _count(0, 100, "a count"),
    },
    "outbox": {
        "path": Key(str, "a path to the outbox SQLite file", bool),
        "key_file": Key(str, "a path to the outbox key file", bool),
        "batch_size": _count(1, 5000, "transactions per upload"),
    },
    "ops": {
        "heartbeat_interval": _seconds(5, 3600),
        "technician_state": Key(str, "a path to the technician PIN state file", bool),
        "technician_idle_timeout": _seconds(30, 3600),
        "updates_url": Key(str, "the TUF repository's http:// or https:// URL, or empty for no "
                                "updates", _optional_url),
        "trusted_root": Key(str, "a path to the TUF root.json the terminal trusts, or empty"),
        "updates_dir": Key(str, "where verified updates and their TUF metadata are kept", bool),
        "update_interval": _seconds(60, 86400, "seconds between update checks"),
    },
}


class Config:
    """Validated settings: ``config.get("session", "idle_timeout")`` or ``config.session["idle_timeout"]``.

    Values are Any: each has the type :data:`SCHEMA` gives its key, checked at load."""

    def __init__(self, values: dict[str, dict[str, Any]], source: Path):
        self._values = values
        self.source = source

    def get(self, section: str, key: str) -> Any:
        return self._values[section][key]

    def __getattr__(self, section: str) -> dict[str, Any]:
        try:
            return self._values[section]
        except KeyError:
            raise AttributeError(section) from None

    @property
    def mode(self) -> str:
        return str(self._values["terminal"]["mode"])

    def path(self, section: str, key: str) -> Path:
        """A path setting resolved against the project root (``""`` stays empty)."""
        value = self.get(section, key)
        return Path(value) if os.path.isabs(value) else ROOT / value

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {s: dict(v) for s, v in self._values.items()}

    def replace(self, **sections: Mapping[str, object]) -> Config:
        """A copy with some keys changed and validated (used by demo and tests)."""
        merged = self.as_dict()
        for section, values in sections.items():
            merged.setdefault(section, {}).update(values)
        return Config(_validate(merged, self.source, partial=False, mode=_mode_of(merged, "")),
                      self.source)


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed file, or one line saying why not (never a traceback: missing, a directory,
    unreadable, not UTF-8, not TOML, nested past what the parser can follow)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a configuration file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not a kiosk configuration: values nested too deeply") from None


def _mode_of(data: Mapping[str, Any], default: str) -> str:
    terminal = data.get("terminal")
    mode = terminal.get("mode") if isinstance(terminal, dict) else None
    return mode if isinstance(mode, str) else default


def _validate(data: dict[str, Any], path: Path, partial: bool,
              mode: str = "production") -> dict[str, dict[str, Any]]:
    """Types, ranges (per ``mode``) and allowed values of one file's keys."""
    out: dict[str, dict[str, Any]] = {}
    for section, values in data.items():
        if section not in SCHEMA:
            raise ConfigError(f"{path}: unknown section [{_show.repr(section)[1:-1]}]; "
                              f"allowed: {', '.join(SCHEMA)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: [{section}] must be a table")
        out[section] = {}
        for key, value in values.items():
            spec = SCHEMA[section].get(key)
            if spec is None:
                raise ConfigError(f"{path}: [{section}] unknown key {_show.repr(key)}; allowed: "
                                  f"{', '.join(SCHEMA[section])}")
            if spec.kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if (not isinstance(value, spec.kind) or (spec.kind is int and isinstance(value, bool))
                    or not spec.accepts(value, mode)):
                raise ConfigError(f"{path}: [{section}] {key} = {_show.repr(value)} is not "
                                  f"allowed; expected {spec.allowed}")
            out[section][key] = value
    if not partial:
        for section, keys in SCHEMA.items():
            missing = [k for k in keys if k not in out.get(section, {})]
            if missing:
                raise ConfigError(f"{path}: [{section}] missing {', '.join(missing)}")
    return out


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Defaults from ``config/kiosk.toml``, then ``path`` or ``$KIOSK_CONFIG`` on top; an
    override in mode demo or test has ``config/demo.toml`` between the two."""
    defaults = read_toml(DEFAULT_FILE)
    override = path or os.environ.get("KIOSK_CONFIG")
    layers: list[tuple[Path, dict[str, Any]]] = []
    if override:
        override = Path(override)
        layers.append((override, read_toml(override)))
    mode = _mode_of(layers[0][1] if layers else {}, _mode_of(defaults, "production"))
    if mode in DEMO_MODES and not (layers and layers[0][0] == DEMO_FILE):
        layers.insert(0, (DEMO_FILE, read_toml(DEMO_FILE)))
    values = _validate(defaults, DEFAULT_FILE, partial=False, mode=mode)
    for file, data in layers:
        for section, keys in _validate(data, file, partial=True, mode=mode).items():
            values[section].update(keys)
    return Config(values, Path(override) if override else DEFAULT_FILE)


# -- what start-up needs beyond the values -------------------------------------------------
def _key_hex(path: Path) -> str:
    """The key file's hex digits (``#`` lines and blanks ignored), as ``load_key`` reads it."""
    text = path.read_text(encoding="ascii")
    return "".join(line.strip() for line in text.splitlines()
                   if line.strip() and not line.lstrip().startswith("#")).lower()


def _key_problem(config: Config) -> str | None:
    key_path = config.path("central", "key_file")
    shown = config.central["key_file"]
    try:
        hex_text = _key_hex(key_path)
        key = bytes.fromhex(hex_text)
    except FileNotFoundError:
        if config.mode == "production":
            return f"[central] key_file = {shown!r}: no terminal key there; {ENROL_HINT}"
        return f"[central] key_file = {shown!r}: no such file"
    except IsADirectoryError:
        return f"[central] key_file = {shown!r}: is a directory, not a key file"
    except OSError as exc:
        return f"[central] key_file = {shown!r}: cannot read: {exc.strerror}"
    except ValueError:  # not ASCII, or not hex
        return f"[central] key_file = {shown!r}: not a hex terminal key"
    if len(key) < 16:
        return f"[central] key_file = {shown!r}: terminal key too short ({len(key)} bytes, need >= 16)"
    if config.mode == "production":
        try:
            demo = _key_hex(DEMO_KEY_FILE)
        except OSError:
            demo = ""
        if hex_text == demo:
            return (f"[central] key_file = {shown!r} is the demo key published in the repository; "
                    f"a production terminal must not sign with it: {ENROL_HINT} "
                    f"(or set [terminal] mode = \"demo\")")
    return None


def _writable_dir_problem(section: str, key: str, config: Config) -> str | None:
    """A directory that exists and is writable, or can be created under one that is."""
    path = config.path(section, key)
    shown = config.get(section, key)
    if path.exists():
        if not path.is_dir():
            return f"[{section}] {key} = {shown!r}: exists and is not a directory"
        if not os.access(path, os.W_OK | os.X_OK):
            return f"[{section}] {key} = {shown!r}: not writable by this user"
        return None
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return f"[{section}] {key} = {shown!r}: cannot be created ({parent} is not a writable directory)"
    return None


def _readable_file_problem(section: str, key: str, config: Config) -> str | None:
    if not config.get(section, key):
        return None
    path = config.path(section, key)
    shown = config.get(section, key)
    if not path.is_file():
        return f"[{section}] {key} = {shown!r}: no such file"
    if not os.access(path, os.R_OK):
        return f"[{section}] {key} = {shown!r}: not readable by this user"
    return None


def startup_problems(config: Config) -> list[str]:
    """What would stop ``kiosk run`` though every value is allowed: the terminal key (and,
    in production, not the demo key), the receipt profile, the log directory, certificate
    files. Each is one line naming the key; an empty list means start-up can go ahead."""
    problems: list[str | None] = [_key_problem(config)]
    profile = config.devices["receipt_profile"]
    profile_path = Path(profile) if profile.endswith(".toml") else PRINTER_PROFILES_DIR / f"{profile}.toml"
    if not profile_path.is_file():
        known = ", ".join(sorted(p.stem for p in PRINTER_PROFILES_DIR.glob("*.toml")))
        problems.append(f"[devices] receipt_profile = {profile!r}: no such printer profile "
                        f"(known: {known})")
    problems.append(_writable_dir_problem("logging", "dir", config))
    for section, key in (("central", "ca_bundle"), ("central", "client_cert")):
        problems.append(_readable_file_problem(section, key, config))
    if config.ops["updates_url"]:
        problems.append(_readable_file_problem("ops", "trusted_root", config))
    if config.fleet["url"]:  # a fleet service without the fleet's enrolment: say what to run
        if not config.fleet["terminal_id"]:
            problems.append("[fleet] url is set but terminal_id is empty; enrol with the fleet: "
                            "kiosk enroll CODE --config OVERRIDE-FILE")
        elif not config.path("fleet", "key_file").is_file():
            problems.append(f"[fleet] key_file = {config.fleet['key_file']!r}: no fleet key "
                            "there; kiosk enroll CODE")
        for key in ("ca_bundle", "client_cert"):
            problems.append(_readable_file_problem("fleet", key, config))
    return [f"{config.source}: {p}" for p in problems if p]
