"""``kiosk screenshot``: render any screen offscreen with demo data, for reviews and docs."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.exit_codes import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from kiosk.app.kiosk_app import KioskApp


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("screenshot", help="render a screen to PNG with demo data")
    p.add_argument("--screen", help="screen name (see --list)")
    p.add_argument("--lang", default="zh_CN", choices=("zh_CN", "zh_HK", "en"))
    p.add_argument("--elderly", action="store_true", help="senior mode: larger text and targets")
    p.add_argument("--out", help="PNG file to write")
    p.add_argument("--list", action="store_true", help="print every screen's name, one per line")
    p.add_argument("--all", metavar="DIR",
                   help="every screen in every language and mode into DIR (<screen>-<lang>[-elderly].png)")
    p.add_argument("--tree", metavar="FILE.json",
                   help="also write the visible widget tree as JSON (with --all: any value, "
                        "one <screen>-<lang>[-elderly].json beside each PNG)")
    p.add_argument("--size", type=_size, default=None, metavar="WxH",
                   help="window size, e.g. 1920x1080 (default: the config's [screen])")
    p.set_defaults(func=screenshot)


def _size(text: str) -> tuple[int, int]:
    """``1920x1080`` → (1920, 1080), a clear usage error otherwise."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, not {text!r}") from None
    if not (320 <= width <= 7680 and 320 <= height <= 7680):
        raise argparse.ArgumentTypeError(f"size {text!r} outside 320–7680 px")
    return width, height


def _screen(args: argparse.Namespace) -> dict[str, object]:
    if args.size is None:
        return {}
    return {"screen": {"width": args.size[0], "height": args.size[1]}}


def _write_tree(app: KioskApp, path: Path) -> Path:
    import json

    from kiosk.logs import write_private
    from screens.tree import widget_tree

    app.qt.processEvents()
    text = json.dumps(widget_tree(app.window), ensure_ascii=False, indent=1)
    return write_private(path, text.encode("utf-8"))


def screenshot(args: argparse.Namespace) -> int:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from kiosk.demo.visit import SCREEN_NAMES

    if args.list:
        print("\n".join(SCREEN_NAMES))
        return EXIT_OK
    if args.all:
        return _all(Path(args.all), tree=bool(args.tree), screen=_screen(args))
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
            config = rig.config(ui={"language": args.lang, "elderly_mode": args.elderly},
                                **_screen(args))
            app = KioskApp(config)
            app.start(show=True)
            try:
                stage_screen(app, args.screen)
                snapshot(app, Path(args.out))
                if args.tree:
                    _write_tree(app, Path(args.tree))
            finally:
                app.stop()
        finally:
            rig.stop()
    print(args.out)
    return EXIT_OK


def _all(out: Path, *, tree: bool = False, screen: dict[str, object] | None = None) -> int:
    from kiosk.app.kiosk_app import KioskApp
    from kiosk.demo.rig import DemoRig
    from kiosk.demo.visit import render_all
    from kiosk.logs import private_dir

    private_dir(out)
    count = 0
    with tempfile.TemporaryDirectory(prefix="kiosk-shot-") as tmp:
        rig = DemoRig(Path(tmp)).start(devices=False)
        try:
            for lang in ("zh_CN", "zh_HK", "en"):
                for elderly in (False, True):
                    config = rig.config(ui={"language": lang, "elderly_mode": elderly},
                                        **(screen or {}))
                    app = KioskApp(config)
                    app.start(show=True)
                    try:
                        suffix = f"-{lang}" + ("-elderly" if elderly else "")
                        def write(png: Path, app: KioskApp = app) -> Path:
                            return _write_tree(app, png.with_suffix(".json"))

                        shots = render_all(app, out, suffix, each=write if tree else None)
                        count += len(shots)
                    finally:
                        app.stop()
        finally:
            rig.stop()
    print(f"{count} screenshots in {out}/")
    return EXIT_OK
