"""What every ``kiosk`` subcommand does the same way: load the configuration or say why and
exit 2 (one line naming the file, the key and what is allowed), and set up logging."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from kiosk.config import Config, ConfigError, load_config
from kiosk.exit_codes import EXIT_USAGE


def load_config_or_exit(path: str | Path | None, command: str = "kiosk", *,
                        logs: bool = False) -> Config:
    """The configuration, or one clear line on stderr and ``SystemExit(2)``. ``logs``: also
    send this process's log to the configured directory (what the running kiosk does)."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"{command}: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
    if logs:
        from kiosk.logs import setup_logging

        log = config.logging
        setup_logging(config.path("logging", "dir"), log["level"], log["max_bytes"],
                      log["backups"])
    return config


def override_file(path: str | None, command: str, why: str) -> Path:
    """The override file a command writes (``--config`` or ``$KIOSK_CONFIG``): the shipped
    defaults are never changed, so without one the command says so and exits 2."""
    target = path or os.environ.get("KIOSK_CONFIG")
    if not target:
        print(f"{command}: say which override file {why} (--config PATH or KIOSK_CONFIG)",
              file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
    return Path(target)
