"""``kiosk run``: the terminal app, fullscreen, against the configured devices and platform."""

from __future__ import annotations

import argparse
import os

from kiosk.cli.common import load_config_or_exit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the kiosk (fullscreen)")
    p.add_argument("--config", help="configuration file (default: $KIOSK_CONFIG or built-in)")
    p.add_argument("--windowed", action="store_true", help="a normal window, for the bench")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config_or_exit(args.config, logs=True)
    if args.windowed:
        config = config.replace(screen={"fullscreen": False})
    from kiosk.app.kiosk_app import KioskApp

    app = KioskApp(config)
    app.start()
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
