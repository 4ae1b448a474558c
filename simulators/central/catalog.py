"""The services the platform offers, read from the catalog TOML files (data, not kiosk code).

The simulator reads only what it needs to answer: each service's result kind, columns (key,
format, status codes) and inputs. It does its own minimal parsing on purpose.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "config" / "services"


@dataclass
class SimService:
    id: str
    department: str
    name: str
    call: str
    kind: str
    auth: str = "none"
    columns: list[dict] = field(default_factory=list)
    inputs: list[dict] = field(default_factory=list)


def load(directory: Path | None = None) -> dict[str, SimService]:
    services: dict[str, SimService] = {}
    for path in sorted((directory or DEFAULT_DIR).glob("*.toml")):
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        dep = data["department"]["id"]
        for raw in data.get("services", []):
            services[raw["id"]] = SimService(
                id=raw["id"], department=dep, name=raw["names"]["zh_CN"], call=raw["call"], auth=raw.get("auth", "none"),
                kind=raw["result"]["kind"], columns=raw["result"].get("columns", []),
                inputs=raw.get("inputs", []))
    return services
