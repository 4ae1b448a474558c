"""``kiosk demo``: the kiosk against the simulated central platform and devices.

With a display it opens the kiosk window; without one it plays a scripted resident visit
offscreen and writes a screenshot of every step plus the printed receipt into
``demo-output/``. ``--vnc`` serves the live kiosk on 127.0.0.1 through Qt's vnc platform.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from kiosk.paths import ROOT


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the kiosk against simulators (scripted when headless)")
    p.add_argument("--out", default=str(ROOT / "demo-output"), help="where screenshots go")
    p.add_argument("--vnc", action="store_true", help="serve the live kiosk over VNC on 127.0.0.1")
    p.add_argument("--vnc-port", type=int, default=5900)
    p.add_argument("--scripted", action="store_true", help="play the scripted visit even with a display")
    p.set_defaults(func=demo)


def demo(args: argparse.Namespace) -> int:
    out = Path(args.out)
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if args.vnc:
        os.environ["QT_QPA_PLATFORM"] = (f"vnc:size=1080x1920:addr=127.0.0.1:port={args.vnc_port}")
    elif headless or args.scripted:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    scripted = not args.vnc and (headless or args.scripted)

    from kiosk.app import KioskApp
    from kiosk.demo import DemoRig, reset_dir
    from kiosk.logs import setup_logging

    reset_dir(out)
    rig = DemoRig(out / "simulators").start()
    try:
        config = rig.config(session={"idle_timeout": 60.0} if not scripted else {})
        setup_logging(config.path("logging", "dir"), "INFO")
        app = KioskApp(config, tick_ms=250 if scripted else 1000)
        app.start(show=True)
        from kiosk.app_demo import play_visit, run_interactive

        try:
            if not scripted:
                if args.vnc:
                    print(f"kiosk demo: connect a VNC viewer to 127.0.0.1:{args.vnc_port}", flush=True)
                return run_interactive(app, rig)
            shots = play_visit(app, rig, out)
        finally:
            app.stop()
    finally:
        rig.stop()
    print(f"kiosk demo: a resident's visit, {len(shots)} pictures in {out}/")
    for shot in shots:
        print(f"  {shot}")
    return 0
