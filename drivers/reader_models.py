"""ID-card reader models as data: ``config/readers/*.toml``.

A model file says how one reader connects — transport, USB ids, endpoints, chunk size, HID
preamble handling, SDK library and call family — so adding a model is a file, not code.
:func:`load_models` reads them all; a mistake is one :class:`ReaderModelError` line naming the
file and the key. :func:`match_usb` is what ``idcard = "auto"`` asks for each USB device.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from drivers.idcard_errors import IdCardError

MODELS_DIR = Path(__file__).resolve().parent.parent / "config" / "readers"
TRANSPORTS = ("serial", "usb", "hid", "sdk")
SDK_FAMILIES = ("SDT", "CVR")

_TOP_KEYS = {"name", "vendor", "transport", "source", "verified", "vid", "pid", "quirks"}
_SECTION_KEYS = {
    "serial": {"baud"},
    "usb": {"interface", "endpoint_out", "endpoint_in", "chunk", "timeout_ms"},
    "hid": {"report_size", "report_id", "strip_preamble"},
    "sdk": {"family", "library", "port"},
}
_QUIRKS = {"card_must_leave"}


class ReaderModelError(IdCardError):
    """A reader model file is missing, not TOML, or has a wrong or unknown key."""

    fault = "config"


@dataclass(frozen=True)
class ReaderModel:
    """One reader model; only the section of its ``transport`` is meaningful."""

    model: str  # the file's stem: ss628-100u
    name: str
    transport: str
    vendor: str = ""
    source: str = ""  # where the facts come from
    verified: bool = False  # checked against a real device
    vid: int | None = None
    pid: int | None = None
    baud: int = 115200
    interface: int = 0
    endpoint_out: int = 0x02
    endpoint_in: int = 0x82
    chunk: int = 64
    timeout_ms: int = 1000
    report_size: int = 64
    report_id: int = 0
    strip_preamble: bool = True
    family: str = ""
    library: str = ""
    port: int = 1001
    quirks: frozenset[str] = field(default_factory=frozenset)

    @property
    def usb_id(self) -> str:
        """``0400:c35a``, or "" for a model without USB ids (a plain UART)."""
        if self.vid is None or self.pid is None:
            return ""
        return f"{self.vid:04x}:{self.pid:04x}"


def _int(where: str, key: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ReaderModelError(f"{where}: {key} must be an integer {low}…{high}, got {value!r}")
    return value


def parse_model(model: str, data: dict[str, object], where: str = "") -> ReaderModel:
    """Validate one model's TOML table; ``where`` names the file in errors."""
    where = where or model
    unknown = set(data) - _TOP_KEYS - set(_SECTION_KEYS)
    if unknown:
        raise ReaderModelError(f"{where}: unknown key {sorted(unknown)[0]!r} "
                               f"(known: {', '.join(sorted(_TOP_KEYS | set(_SECTION_KEYS)))})")
    transport = data.get("transport")
    if transport not in TRANSPORTS:
        raise ReaderModelError(f"{where}: transport must be one of {', '.join(TRANSPORTS)}, "
                               f"got {transport!r}")
    name = data.get("name", model)
    if not isinstance(name, str):
        raise ReaderModelError(f"{where}: name must be a string")
    values: dict[str, object] = {"model": model, "name": name, "transport": transport}
    for key in ("vendor", "source"):
        if key in data:
            if not isinstance(data[key], str):
                raise ReaderModelError(f"{where}: {key} must be a string")
            values[key] = data[key]
    if "verified" in data:
        if not isinstance(data["verified"], bool):
            raise ReaderModelError(f"{where}: verified must be true or false")
        values["verified"] = data["verified"]
    for key in ("vid", "pid"):
        if key in data:
            values[key] = _int(where, key, data[key], 0, 0xFFFF)
    quirks = data.get("quirks", [])
    if not isinstance(quirks, list) or not set(quirks) <= _QUIRKS:
        raise ReaderModelError(f"{where}: quirks must be a list of {', '.join(sorted(_QUIRKS))}")
    values["quirks"] = frozenset(quirks)
    for section, keys in _SECTION_KEYS.items():
        table = data.get(section)
        if table is None:
            continue
        if not isinstance(table, dict):
            raise ReaderModelError(f"{where}: [{section}] must be a table")
        bad = set(table) - keys
        if bad:
            raise ReaderModelError(f"{where}: unknown key {section}.{sorted(bad)[0]} "
                                   f"(known: {', '.join(sorted(keys))})")
        for key, value in table.items():
            if key == "strip_preamble":
                if not isinstance(value, bool):
                    raise ReaderModelError(f"{where}: hid.strip_preamble must be true or false")
            elif key in ("family", "library"):
                if not isinstance(value, str) or not value:
                    raise ReaderModelError(f"{where}: sdk.{key} must be a non-empty string")
            elif key in ("endpoint_out", "endpoint_in", "report_id"):
                value = _int(where, f"{section}.{key}", value, 0, 0xFF)
            elif key == "chunk" or key == "report_size":
                value = _int(where, f"{section}.{key}", value, 8, 4096)
            else:
                value = _int(where, f"{section}.{key}", value, 0, 10_000_000)
            values[key] = value
    if transport in ("usb", "hid") and ("vid" not in values or "pid" not in values):
        raise ReaderModelError(f"{where}: a {transport} reader needs vid and pid")
    if transport == "sdk":
        if values.get("family") not in SDK_FAMILIES:
            raise ReaderModelError(f"{where}: sdk.family must be one of "
                                   f"{', '.join(SDK_FAMILIES)}, got {values.get('family')!r}")
        if not values.get("library"):
            raise ReaderModelError(f"{where}: sdk.library is required")
    return ReaderModel(**values)  # type: ignore[arg-type]


def load_model(name_or_path: str | Path, models_dir: Path = MODELS_DIR) -> ReaderModel:
    """One model by name (``ss628-100u``) or by path to its ``.toml``."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = models_dir / f"{name_or_path}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        known = sorted(p.stem for p in models_dir.glob("*.toml"))
        raise ReaderModelError(f"no reader model {str(name_or_path)!r} "
                               f"(known: {', '.join(known)})", native=exc.errno) from None
    except tomllib.TOMLDecodeError as exc:
        raise ReaderModelError(f"{path.name}: not valid TOML: {exc}") from None
    return parse_model(path.stem, data, path.name)


def load_models(models_dir: Path = MODELS_DIR) -> list[ReaderModel]:
    """Every model file, sorted by name; the first broken file raises."""
    return [load_model(path, models_dir) for path in sorted(models_dir.glob("*.toml"))]


def match_usb(models: list[ReaderModel], vid: int, pid: int) -> ReaderModel | None:
    """The model a USB device with these ids is, or None (the device is not a known reader)."""
    for model in models:
        if model.vid == vid and model.pid == pid:
            return model
    return None


def model_for_uri_ids(host: str, name: str | None, transport: str,
                      models_dir: Path = MODELS_DIR) -> ReaderModel:
    """The model a ``usb://VID:PID?model=…`` / ``hid://…`` URI means; ValueError if none fits."""
    try:
        vid_text, pid_text = host.lower().replace("0x", "").split(":")
        vid, pid = int(vid_text, 16), int(pid_text, 16)
    except ValueError:
        raise ValueError(f"{transport}:// reader URI needs VID:PID in hex, got {host!r}") from None
    model = (load_model(name, models_dir) if name
             else match_usb([m for m in load_models(models_dir) if m.transport == transport],
                            vid, pid))
    if model is None:
        raise ValueError(f"no {transport} reader model in config/readers for "
                         f"{vid:04x}:{pid:04x}")
    if (model.vid, model.pid) != (vid, pid):
        raise ValueError(f"model {model.model} is {model.usb_id}, the URI says "
                         f"{vid:04x}:{pid:04x}")
    if model.transport != transport:
        raise ValueError(f"model {model.model} is a {model.transport} reader, not {transport}")
    return model
