"""Phone code scanned → identity on screen, through the simulators (a bench, not a test).

A 2D scanner engine on a pty (``kiosk-sim qr-scanner``) sends a fresh code minted by the
central simulator; the real app (offscreen Qt) takes it on the place-card screen of 公积金账户
查询, posts it to ``POST /v1/identity/code`` on 127.0.0.1, and moves on. Three figures, median
and worst of 20 codes: the platform call alone (client → simulator → client); the scan to the
identity set in the visit (serial read, GUI hop, the call); and the scan to the result screen
on display (that plus the service's own query). Each code is minted just before it is shown.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python bench/app_code_bench.py``
"""

from __future__ import annotations

import os
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import requests  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from kiosk.app.kiosk_app import KioskApp  # noqa: E402
from kiosk.demo.rig import DemoRig  # noqa: E402
from kiosk.visit.flow import Step  # noqa: E402
from tests.fixtures.procs import start_sim  # noqa: E402

RUNS = 20
SERVICE = "gjj_zh"


def wait(app: QApplication, condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        app.processEvents()


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    return f"{name:<34} median {statistics.median(ms):7.1f} ms   worst {ms[-1]:7.1f} ms"


def main() -> int:
    qt = QApplication.instance() or QApplication([])
    work = pathlib.Path(tempfile.mkdtemp(prefix="app-code-bench-"))
    rig = DemoRig(work / "rig", mode="test").start(camera=None)
    scanner = start_sim(["qr-scanner", "--link", str(work / "ttySCAN")])
    app = KioskApp(rig.config(devices={"qr_scanner": f"serial://{work / 'ttySCAN'}?baud=9600"}),
                   tick_ms=100)
    app.start(show=True)
    mint_url = rig.central.address + "/_admin/app-codes"
    try:
        wait(qt, lambda: str(app.devices.qr_scanner.status().state) == "ready")
        call, identified, on_screen = [], [], []
        for _ in range(RUNS):
            code = requests.post(mint_url, json={}, timeout=5).json()["code"]
            start = time.perf_counter()
            app.client.identify_by_code(code)
            call.append(time.perf_counter() - start)
        for _ in range(RUNS):
            app.flow.start()
            app.flow.choose_service(SERVICE)
            app.flow.confirm_intro()
            wait(qt, lambda: app.window.current_screen().name == "place_card")
            code = requests.post(mint_url, json={}, timeout=5).json()["code"]
            start = time.perf_counter()
            scanner.send(f"scan {code}")
            wait(qt, lambda: app.flow.identity is not None)
            identified.append(time.perf_counter() - start)
            wait(qt, lambda: app.flow.step is Step.RESULT
                 and app.window.current_screen().name == "result")
            qt.processEvents()  # the result screen painted
            on_screen.append(time.perf_counter() - start)
            app.flow.cancel()
            wait(qt, lambda: app.flow.session is None)
        print(f"{RUNS} codes each, pty scanner at 9600 baud, central simulator on 127.0.0.1")
        print(summary("identify_by_code (HTTP round trip)", call))
        print(summary("scan → identity in the visit", identified))
        print(summary("scan → result screen", on_screen))
    finally:
        app.stop()
        scanner.stop()
        rig.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
