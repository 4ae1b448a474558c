"""``kiosk run``: the terminal app, fullscreen, against the configured devices and platform."""

from __future__ import annotations

import argparse
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the kiosk (fullscreen)")
    p.add_argument("--config", help="configuration file (default: $KIOSK_CONFIG or built-in)")
    p.add_argument("--windowed", action="store_true", help="a normal window, for the bench")
    p.set_defaults(func=run)


def load_or_exit(path: str | None):
    """Load config and set up logging; a bad config is one clear line and exit 2."""
    from kiosk.config import ConfigError, load_config
    from kiosk.logs import setup_logging

    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"kiosk: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    log = config.logging
    setup_logging(config.path("logging", "dir"), log["level"], log["max_bytes"], log["backups"])
    return config


def run(args: argparse.Namespace) -> int:
    config = load_or_exit(args.config)
    if args.windowed:
        config = config.replace(screen={"fullscreen": False})
    from kiosk.app.kiosk_app import KioskApp

    app = KioskApp(config)
    app.start()
    if os.environ.get("KIOSK_EXIT_AFTER_PAINT"):  # for bench/cold_start.py
        _exit_after_first_paint(app)
    try:
        return app.qt.exec()
    finally:
        app.stop()


def _exit_after_first_paint(app) -> None:
    """Print "painted" once the attract screen has been painted, then quit."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    screen = app.window.current_screen()

    class PaintWatch(QObject):
        def eventFilter(self, obj, event) -> bool:
            if event.type() == QEvent.Paint:
                screen.removeEventFilter(self)
                QTimer.singleShot(0, lambda: (print("painted", flush=True), app.qt.quit()))
            return False

    app._paint_watch = PaintWatch()
    screen.installEventFilter(app._paint_watch)
