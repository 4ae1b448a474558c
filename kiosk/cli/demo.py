"""``kiosk demo``: the kiosk against the simulated central platform and devices.

With a display it opens the kiosk window; without one it plays a scripted resident visit
offscreen and writes a screenshot of every step plus the printed receipt into
``demo-output/``. ``--vnc`` serves the live kiosk on 127.0.0.1 through Qt's vnc platform
(see kiosk/demo/vnc_relay.py for why it runs in a network namespace of its own).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from kiosk.exit_codes import EXIT_FAIL, EXIT_OK
from kiosk.paths import ROOT

HEARTBEAT_WAIT_S = 120  # how long the console waits for the demo kiosk's first heartbeat
CONSOLE_TIMEOUT_S = 300


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the kiosk against simulators (scripted when headless)")
    p.add_argument("--out", default=str(ROOT / "demo-output"), help="where screenshots go")
    p.add_argument("--vnc", action="store_true", help="serve the live kiosk over VNC on 127.0.0.1")
    p.add_argument("--vnc-port", type=int, default=5900)
    p.add_argument("--vnc-inside", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--scripted", action="store_true", help="play the scripted visit even with a display")
    p.set_defaults(func=demo)


def demo(args: argparse.Namespace) -> int:
    if args.vnc:
        return _vnc_outside(args)
    out = Path(args.out)
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if args.vnc_inside:
        os.environ["QT_QPA_PLATFORM"] = f"vnc:size=1080x1920:port={args.vnc_port}"
    elif headless or args.scripted:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    scripted = not args.vnc_inside and (headless or args.scripted)

    from kiosk.app.kiosk_app import KioskApp
    from kiosk.demo.rig import DemoRig, reset_dir
    from kiosk.logs import setup_logging

    reset_dir(out)
    console = _fleet_console(out, once=scripted)
    rig = DemoRig(out / "simulators").start()
    try:
        config = rig.config(fleet=_fleet_link(out, console, rig.work_dir))
        setup_logging(config.path("logging", "dir"), "INFO")
        app = KioskApp(config, tick_ms=250 if scripted else 1000)
        app.start(show=True)
        from kiosk.demo.visit import play_visit, run_interactive

        try:
            if not scripted:
                signal.signal(signal.SIGTERM, lambda *_: app.qt.quit())
                return run_interactive(app, rig)
            shots = play_visit(app, rig, out)
            if console is not None:  # the kiosk heartbeats on until the console is photographed
                from kiosk.app.kiosk_app import wait_until

                wait_until(lambda: console.poll() is not None, CONSOLE_TIMEOUT_S, step_ms=100)
        finally:
            app.stop()
    finally:
        rig.stop()
        _stop_fleet_console(console, wait=scripted)
    print(f"kiosk demo: a resident's visit, {len(shots)} pictures in {out}/")
    for shot in shots:
        print(f"  {shot}")
    return EXIT_OK


def _fleet_console(out: Path, *, once: bool) -> subprocess.Popen[bytes] | None:
    """The fleet console beside the kiosk (``kiosk-fleet demo``: a process, because the
    terminal never imports fleet/); it prints its URL and login and, with ``once``, stops
    after its screenshots, which wait for the demo kiosk's first heartbeat."""
    exe = Path(sys.executable).with_name("kiosk-fleet")
    if not exe.exists():
        print("kiosk demo: kiosk-fleet is not installed: no fleet console", file=sys.stderr)
        return None
    return subprocess.Popen([str(exe), "demo", "--out", str(out),
                             "--wait-heartbeat", str(HEARTBEAT_WAIT_S),
                             *(["--once"] if once else [])])


def _fleet_link(out: Path, console: subprocess.Popen[bytes] | None,
                work_dir: Path) -> dict[str, str]:
    """The ``[fleet]`` override that makes the demo kiosk heartbeat to the console: the URL
    and terminal id ``kiosk-fleet demo`` enrolled (``<out>/fleet/terminal.json``), its key
    stored like ``kiosk enroll --fleet`` stores one. Empty (no fleet) when the console is
    missing or died before enrolling."""
    from kiosk.ops.enrolment import write_key

    creds = out / "fleet" / "terminal.json"
    deadline = time.monotonic() + CONSOLE_TIMEOUT_S
    while console is not None and console.poll() is None and time.monotonic() < deadline:
        try:
            enrolled = json.loads(creds.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # not written yet (the console is still starting)
            time.sleep(0.1)
            continue
        key_file = write_key(work_dir / "secrets" / "fleet.key", bytes.fromhex(enrolled["key"]))
        return {"url": enrolled["url"], "terminal_id": enrolled["terminal_id"],
                "key_file": str(key_file)}
    print("kiosk demo: the fleet console did not enrol the demo terminal; the kiosk runs "
          "without a fleet", file=sys.stderr)
    return {}


def _stop_fleet_console(proc: subprocess.Popen[bytes] | None, *, wait: bool) -> None:
    if proc is None:
        return
    try:
        proc.wait(timeout=CONSOLE_TIMEOUT_S if wait else 0.1)
    except subprocess.TimeoutExpired:
        proc.terminate()
        proc.wait(timeout=30)


def _vnc_outside(args: argparse.Namespace) -> int:
    """The kiosk in its own network namespace; 127.0.0.1:PORT here relays into it."""
    from kiosk.demo.vnc_relay import relay

    inner = [sys.executable, "-m", "kiosk.cli", "demo", "--vnc-inside", "--vnc-port",
             str(args.vnc_port), "--out", args.out]
    unshare, ip = shutil.which("unshare"), shutil.which("ip") or "/usr/sbin/ip"
    if unshare is None or not os.path.exists(ip):
        print("kiosk demo: unshare/ip (util-linux, iproute2) missing; cannot keep VNC on "
              "127.0.0.1", file=sys.stderr)
        return EXIT_FAIL
    cmd = [unshare, "--net", "--", "sh", "-c", f'"{ip}" link set lo up && exec "$@"', "sh", *inner]
    proc = subprocess.Popen(cmd)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server = threading.Thread(target=relay, args=(args.vnc_port, proc.pid, args.vnc_port, stop),
                              daemon=True)
    server.start()
    print(f"kiosk demo: connect a VNC viewer to 127.0.0.1:{args.vnc_port}", flush=True)
    try:
        while proc.poll() is None and not stop.is_set():
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return EXIT_OK if proc.returncode in (EXIT_OK, -signal.SIGTERM) else proc.returncode
