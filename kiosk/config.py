"""The terminal's configuration: ``config/kiosk.toml`` defaults, overridden by one file.

Every key is declared here with its type and what is allowed, so a wrong key or value stops
start-up with one line that names the file, the key and what is allowed — a technician on
site should never have to read a traceback.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.paths import CONFIG_DIR, ROOT

DEFAULT_FILE = CONFIG_DIR / "kiosk.toml"
LANGUAGES = ("zh_CN", "zh_HK", "en")
_URI_SCHEMES = ("serial", "tcp", "usb", "file", "pcsc", "cups", "camera", "sim")


class ConfigError(Exception):
    """A configuration file that cannot run the terminal; the message is the one line shown."""


@dataclass(frozen=True)
class Key:
    kind: type
    allowed: str  # what a technician is told is allowed
    check: Callable[[Any], bool] = lambda v: True  # gets a value already of type ``kind``


def _positive(v: float) -> bool:
    return v > 0


def _device_uri(v: str) -> bool:
    return v == "" or v == "sim" or v.split(":", 1)[0] in _URI_SCHEMES and "://" in v


SCHEMA: dict[str, dict[str, Key]] = {
    "terminal": {
        "id": Key(str, "a non-empty terminal id", bool),
        "hall": Key(str, "the hall's name"),
    },
    "screen": {
        "width": Key(int, "a width in pixels > 0", _positive),
        "height": Key(int, "a height in pixels > 0", _positive),
        "fullscreen": Key(bool, "true or false"),
    },
    "session": {
        "idle_timeout": Key(float, "seconds > 0", _positive),
        "countdown": Key(float, "seconds > 0", _positive),
        "take_documents_timeout": Key(float, "seconds > 0", _positive),
    },
    "ui": {
        "language": Key(str, "one of zh_CN, zh_HK, en", lambda v: v in LANGUAGES),
        "elderly_mode": Key(bool, "true or false"),
        "voice": Key(bool, "true or false"),
    },
    "central": {
        "url": Key(str, "an http:// or https:// URL", lambda v: v.startswith(("http://", "https://"))),
        "key_file": Key(str, "a path to the terminal's key file", bool),
        "ca_bundle": Key(str, "a path to a PEM CA bundle, or empty"),
        "client_cert": Key(str, "a path to a PEM client certificate, or empty"),
        "connect_timeout": Key(float, "seconds > 0", _positive),
        "read_timeout": Key(float, "seconds > 0", _positive),
    },
    "devices": {
        "idcard": Key(str, "a device URI such as serial:///dev/ttyUSB0?baud=115200, or empty", _device_uri),
        "sscard": Key(str, "a device URI such as pcsc://reader-name, or empty", _device_uri),
        "receipt_printer": Key(str, "a device URI such as usb://0x0416:0x5011 or tcp://host:9100, or empty", _device_uri),
        "receipt_profile": Key(str, "a printer profile name from config/printers/", bool),
        "document_printer": Key(str, "a device URI such as cups://queue-name, or empty", _device_uri),
        "camera": Key(str, "a device URI such as camera://0, or empty", _device_uri),
    },
    "logging": {
        "dir": Key(str, "a directory for log files", bool),
        "level": Key(str, "one of DEBUG, INFO, WARNING, ERROR",
                     lambda v: v in ("DEBUG", "INFO", "WARNING", "ERROR")),
        "max_bytes": Key(int, "bytes > 0", _positive),
        "backups": Key(int, "a count >= 0", lambda v: v >= 0),
    },
    "outbox": {
        "path": Key(str, "a path to the outbox SQLite file", bool),
        "key_file": Key(str, "a path to the outbox key file", bool),
        "batch_size": Key(int, "transactions per upload > 0", _positive),
    },
    "ops": {
        "heartbeat_interval": Key(float, "seconds > 0", _positive),
        "technician_state": Key(str, "a path to the technician PIN state file", bool),
        "technician_idle_timeout": Key(float, "seconds > 0", _positive),
        "updates_url": Key(str, "the TUF repository URL, or empty for no updates"),
        "trusted_root": Key(str, "a path to the TUF root.json the terminal trusts, or empty"),
        "updates_dir": Key(str, "where verified updates and their TUF metadata are kept", bool),
        "update_interval": Key(float, "seconds between update checks > 0", _positive),
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
        return Config(_validate(merged, self.source, partial=False), self.source)


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _validate(data: dict[str, Any], path: Path, partial: bool) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for section, values in data.items():
        if section not in SCHEMA:
            raise ConfigError(f"{path}: unknown section [{section}]; allowed: {', '.join(SCHEMA)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: [{section}] must be a table")
        out[section] = {}
        for key, value in values.items():
            spec = SCHEMA[section].get(key)
            if spec is None:
                raise ConfigError(f"{path}: [{section}] unknown key {key!r}; allowed: "
                                  f"{', '.join(SCHEMA[section])}")
            if spec.kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, spec.kind) or (spec.kind is int and isinstance(value, bool)):
                raise ConfigError(f"{path}: [{section}] {key} = {value!r} is not allowed; "
                                  f"expected {spec.allowed}")
            if not spec.check(value):
                raise ConfigError(f"{path}: [{section}] {key} = {value!r} is not allowed; "
                                  f"expected {spec.allowed}")
            out[section][key] = value
    if not partial:
        for section, keys in SCHEMA.items():
            missing = [k for k in keys if k not in out.get(section, {})]
            if missing:
                raise ConfigError(f"{path}: [{section}] missing {', '.join(missing)}")
    return out


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Defaults from ``config/kiosk.toml``, then ``path`` or ``$KIOSK_CONFIG`` on top."""
    values = _validate(_read(DEFAULT_FILE), DEFAULT_FILE, partial=False)
    override = path or os.environ.get("KIOSK_CONFIG")
    if override:
        override = Path(override)
        for section, keys in _validate(_read(override), override, partial=True).items():
            values[section].update(keys)
        return Config(values, override)
    return Config(values, DEFAULT_FILE)
