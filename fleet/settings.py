"""The service's settings: from the command line and ``KIOSK_FLEET_*`` environment variables,
never from the database (replicas must agree on them before they can read it)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DB = "sqlite:///var/fleet.sqlite3"


@dataclass(frozen=True)
class Settings:
    """What one replica needs: the database, the limits it enforces on terminals' requests."""

    database_url: str = DEFAULT_DB
    heartbeat_interval_s: int = 60  # new terminals' interval; the reply tells them
    max_skew_s: int = 300  # a signed request's timestamp may be this far off (the kiosk's rule)
    max_json_bytes: int = 256 * 1024
    max_diagnostics_bytes: int = 2 * 1024 * 1024
    max_screenshot_bytes: int = 4 * 1024 * 1024
    command_ttl_s: int = 24 * 3600
    # a delivered command unacknowledged after max(this, 2 heartbeat intervals) goes out
    # again (its reply may have been lost), at most command_max_deliveries times
    command_lease_min_s: float = 60.0
    command_max_deliveries: int = 5
    enrol_code_ttl_s: int = 7 * 24 * 3600
    offline_after_intervals: int = 3  # silent for 3 intervals: an offline alert
    sweep_every_s: float = 30.0  # how often a replica looks for silent terminals (0: never)
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then ``KIOSK_FLEET_DATABASE_URL`` etc., then explicit overrides."""
        values: dict[str, object] = {}
        url = os.environ.get("KIOSK_FLEET_DATABASE_URL")
        if url:
            values["database_url"] = url
        for name in ("heartbeat_interval_s", "max_skew_s", "command_ttl_s"):
            raw = os.environ.get(f"KIOSK_FLEET_{name.upper()}")
            if raw:
                values[name] = int(raw)
        sweep = os.environ.get("KIOSK_FLEET_SWEEP_EVERY_S")
        if sweep:
            values["sweep_every_s"] = float(sweep)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def sqlite_path(self) -> Path | None:
        """The file of an ``sqlite:///`` URL (to create its directory), else None."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and len(self.database_url) > len(prefix):
            return Path(self.database_url[len(prefix):])
        return None
