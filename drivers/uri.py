"""Device URIs from config: ``serial:///dev/ttyUSB0?baud=115200``, ``tcp://host:9100``,
``pcsc://reader-name``, ``cups://queue``, ``camera://0``, ``usb://0x0416:0x5011``, ``sim``;
ID-card readers also ``hid://261a:0007``, ``sdk://sdtapi?lib=…`` (and ``auto``, not a URI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import overload
from urllib.parse import parse_qsl, unquote, urlsplit


@dataclass(frozen=True)
class DeviceUri:
    scheme: str
    host: str = ""  # netloc part: tcp host:port, usb vid:pid, pcsc reader name, camera index
    path: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @overload
    def param(self, name: str) -> str | None: ...

    @overload
    def param(self, name: str, default: str) -> str: ...

    @overload
    def param(self, name: str, default: str | None) -> str | None: ...

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.params.get(name, default)


def parse_device_uri(uri: str) -> DeviceUri:
    """Split a device URI; raises ValueError with the offending URI when it has no scheme."""
    if uri == "sim":
        return DeviceUri("sim")
    parts = urlsplit(uri)
    if not parts.scheme:
        raise ValueError(f"device URI {uri!r} has no scheme (expected e.g. serial:///dev/ttyUSB0)")
    return DeviceUri(parts.scheme, unquote(parts.netloc), unquote(parts.path),
                     dict(parse_qsl(parts.query)))
