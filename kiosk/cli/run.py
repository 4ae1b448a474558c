"""``kiosk run``: the terminal app, fullscreen, against the configured devices and platform.

Start-up fails with one line and a non-zero exit, never a traceback: the configuration and
what start-up needs beyond it (:func:`kiosk.cli.config.preflight`: the terminal key — in
production never the published demo key —, device profile, log directory) are checked before
anything is built, and whatever still fails while building the app is caught and named.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from kiosk.cli.common import load_config_or_exit
from kiosk.exit_codes import EXIT_FAIL, EXIT_USAGE

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the kiosk (fullscreen)")
    p.add_argument("--config", help="configuration file (default: $KIOSK_CONFIG or built-in)")
    p.add_argument("--windowed", action="store_true", help="a normal window, for the bench")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.cli.config import preflight

    config = load_config_or_exit(args.config, "kiosk run")
    problems, warnings = preflight(config)
    for problem in problems:
        print(f"kiosk run: configuration error: {problem}", file=sys.stderr)
    if problems:
        return EXIT_USAGE
    try:
        from kiosk.logs import setup_logging

        cfg = config.logging
        setup_logging(config.path("logging", "dir"), cfg["level"], cfg["max_bytes"], cfg["backups"])
    except Exception as exc:  # noqa: BLE001 - checked above; a race or a full disk still gets one line
        print(f"kiosk run: cannot start logging: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    for warning in warnings:
        log.warning("%s", warning)
    if args.windowed:
        config = config.replace(screen={"fullscreen": False})
    try:
        from kiosk.app.kiosk_app import KioskApp

        app = KioskApp(config)
        app.start()
    except Exception as exc:  # noqa: BLE001 - start-up's last word is one line, not a traceback
        log.critical("kiosk run: cannot start: %s: %s", type(exc).__name__, exc)
        return EXIT_FAIL
    if os.environ.get("KIOSK_EXIT_AFTER_PAINT"):  # for bench/cold_start.py
        app.window.first_painted.connect(lambda: (print(f"painted {peak_rss_kib()}", flush=True),
                                                  app.qt.quit()))
    try:
        return app.qt.exec()
    finally:
        app.stop()


def peak_rss_kib() -> int:
    """This process's peak resident memory so far (Linux ``VmHWM``), 0 where unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
