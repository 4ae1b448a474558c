"""``kiosk screenshot``: render any screen offscreen with demo data, for reviews and docs."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from kiosk.exit_codes import EXIT_OK, EXIT_USAGE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("screenshot", help="render a screen to PNG with demo data")
    p.add_argument("--screen", help="screen name (see --list)")
    p.add_argument("--lang", default="zh_CN", choices=("zh_CN", "zh_HK", "en"))
    p.add_argument("--elderly", action="store_true", help="senior mode: larger text and targets")
    p.add_argument("--out", help="PNG file to write")
    p.add_argument("--list", action="store_true", help="print every screen's name, one per line")
    p.add_argument("--all", metavar="DIR",
                   help="every screen in every language and mode into DIR (<screen>-<lang>[-elderly].png)")
    p.set_defaults(func=screenshot)


def screenshot(args: argparse.Namespace) -> int:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from kiosk.demo.visit import SCREEN_NAMES

    if args.list:
        print("\n".join(SCREEN_NAMES))
        return EXIT_OK
    if args.all:
        return _all(Path(args.all))
    if not args.screen or not args.out:
        print("kiosk screenshot: need --screen NAME and --out FILE (or --list, --all)",
              file=sys.stderr)
        return EXIT_USAGE
    if args.screen not in SCREEN_NAMES:
        print(f"kiosk screenshot: unknown screen {args.screen!r}; see --list", file=sys.stderr)
        return EXIT_USAGE
    from kiosk.app.kiosk_app import KioskApp
    from kiosk.demo.rig import DemoRig
    from kiosk.demo.visit import snapshot, stage_screen

    with tempfile.TemporaryDirectory(prefix="kiosk-shot-") as tmp:
        rig = DemoRig(Path(tmp)).start(devices=False)
        try:
            config = rig.config(ui={"language": args.lang, "elderly_mode": args.elderly})
            app = KioskApp(config)
            app.start(show=True)
            try:
                stage_screen(app, args.screen)
                snapshot(app, Path(args.out))
            finally:
                app.stop()
        finally:
            rig.stop()
    print(args.out)
    return EXIT_OK


def _all(out: Path) -> int:
    from kiosk.app.kiosk_app import KioskApp
    from kiosk.demo.rig import DemoRig
    from kiosk.demo.visit import render_all

    out.mkdir(parents=True, exist_ok=True)
    count = 0
    with tempfile.TemporaryDirectory(prefix="kiosk-shot-") as tmp:
        rig = DemoRig(Path(tmp)).start(devices=False)
        try:
            for lang in ("zh_CN", "zh_HK", "en"):
                for elderly in (False, True):
                    config = rig.config(ui={"language": lang, "elderly_mode": elderly})
                    app = KioskApp(config)
                    app.start(show=True)
                    try:
                        suffix = f"-{lang}" + ("-elderly" if elderly else "")
                        count += len(render_all(app, out, suffix))
                    finally:
                        app.stop()
        finally:
            rig.stop()
    print(f"{count} screenshots in {out}/")
    return EXIT_OK
