"""``kiosk-fleet demo``: the console beside ``kiosk demo`` — the SQLite default, a demo
operator, the demo terminal enrolled, ``kiosk-fleet serve`` on 127.0.0.1, and (headless
Chromium, when installed) screenshots of the fleet list and of the terminal's page.

The kiosk may not import fleet (import-linter), so ``kiosk demo`` runs this as a process.
The terminal's id and key go to ``<out>/fleet/terminal.json`` (0600); ``kiosk demo`` reads
them into the demo kiosk's override config, and the screenshots wait (``--wait-heartbeat``)
until that kiosk's heartbeat has shown the terminal online with its devices.

Nothing the demo starts outlives it: SIGTERM/SIGINT become an exit that runs every
``finally`` (serve stopped, browser quit), and chromedriver runs in a process group of its
own that is killed whole afterwards, so no chromedriver or chromium is left to init.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from fleet import store
from fleet.db import make_engine, migrate

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-operator"  # a local demo on 127.0.0.1 only; printed on purpose
DEMO_DISTRICT, DEMO_HALL = "天河区", "天河区政务服务中心（演示）"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update",
                  "--no-first-run")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _private(path: Path) -> Path:
    """Demo output is written 0600 in 0700 directories (tests/kiosk/test_demo_output.py)."""
    path.chmod(0o700 if path.is_dir() else 0o600)
    return path


def prepare(db_url: str) -> None:
    """Schema, the demo operator (admin, so every page and button shows)."""
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        if not any(u["username"] == DEMO_USER for u in store.list_users(conn)):
            store.add_user(conn, DEMO_USER, DEMO_PASSWORD, "admin", actor="demo",
                           now=store.now())
    engine.dispose()


def enrol_terminal(db_url: str, url: str) -> dict[str, Any]:
    """The demo terminal, enrolled through the API with a fresh single-use code."""
    engine = make_engine(db_url)
    with engine.begin() as conn:
        code = store.create_enrol_code(conn, actor="demo", now=store.now(), ttl_s=600,
                                       district=DEMO_DISTRICT, hall=DEMO_HALL)
    engine.dispose()
    reply = requests.post(url + "/v1/enroll", json={"code": code}, timeout=30)
    reply.raise_for_status()
    body: dict[str, Any] = reply.json()
    return body


def wait_for_heartbeat(db_url: str, terminal_id: str, timeout: float) -> bool:
    """True once the terminal is online with its devices reported (what the screenshots are
    for); False after ``timeout`` seconds (0: do not wait)."""
    engine = make_engine(db_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.begin() as conn:
                row = store.terminal_detail(conn, terminal_id, now=store.now())
            if row["status"] == "online" and row["devices"]:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)
    finally:
        engine.dispose()


def serve(db_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``kiosk-fleet serve`` as a child process, once ``/healthz`` answers; killed when it
    does not come up, or when SIGTERM/SIGINT (:class:`Interrupted`) ends the wait for it."""
    proc = subprocess.Popen([sys.executable, "-m", "fleet", "--db", db_url, "serve",
                             "--host", "127.0.0.1", "--port", str(port),
                             "--log-level", "warning"],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok:
                    return proc
            except requests.RequestException:  # not listening yet, or not answering yet
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"kiosk-fleet serve did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
    except BaseException:
        proc.kill()
        proc.wait()
        raise


class Interrupted(SystemExit):
    """SIGTERM or SIGINT while the demo works: unwinds through every ``finally``."""


def exit_on_signals() -> None:
    """Turn SIGTERM/SIGINT into :class:`Interrupted` (Python's default for SIGTERM is to
    die at once, skipping the cleanup that stops chromedriver and ``kiosk-fleet serve``).
    A second signal during the cleanup is ignored so the cleanup finishes."""
    def stop(signum: int, _frame: Any) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        raise Interrupted(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)


def chromedriver_service(driver_bin: str) -> Any:
    """chromedriver as the leader of a new session, so that it, Chromium and Chromium's
    helpers (crashpad, zygotes) form one process group :func:`close_browser` can kill."""
    from selenium.webdriver.chrome.service import Service

    return Service(driver_bin, popen_kw={"start_new_session": True})


def close_browser(driver: Any, service: Any) -> None:
    """Quit the browser politely, then kill whatever of its process group is left (a
    driver that never finished starting, a renderer that ignored the quit)."""
    if driver is not None:
        try:
            driver.quit()
        except Exception:  # the browser may already be gone; the group kill follows
            pass
    process = getattr(service, "process", None)
    if process is None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already empty
    try:
        process.wait(timeout=10)
    except Exception:  # reaped by selenium already
        pass


def _has(by: str, value: str) -> Any:
    """A WebDriverWait condition: an element is on the current page."""
    return lambda driver: bool(driver.find_elements(by, value))


def screenshots(url: str, terminal_id: str, out: Path) -> list[Path]:
    """Log in as the demo operator in headless Chromium and photograph two pages; [] when
    Chromium, chromedriver or selenium is missing (said on stderr)."""
    chromium, driver_bin = shutil.which("chromium"), shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        chromium = None
    if not chromium or not driver_bin:
        print("kiosk-fleet demo: no chromium/chromedriver/selenium: console screenshots "
              "skipped (scripts/setup.sh installs them)", file=sys.stderr)
        return []
    with tempfile.TemporaryDirectory(prefix="fleet-demo-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1280,860"):
            options.add_argument(flag)
        service, driver = chromedriver_service(driver_bin), None
        try:
            driver = webdriver.Chrome(service=service, options=options)
            driver.set_page_load_timeout(60)
            driver.get(url + "/console/login")
            driver.find_element(By.ID, "username").send_keys(DEMO_USER)
            driver.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
            driver.find_element(By.ID, "login-submit").click()
            wait = WebDriverWait(driver, 60)
            wait.until(_has(By.ID, "fleet-table"))  # signed in
            shots = []
            for name, path, marker in (
                    ("fleet-list.png", "/console/", "fleet-table"),
                    ("fleet-terminal.png", f"/console/terminals/{terminal_id}", "terminal-id")):
                driver.get(url + path)
                wait.until(_has(By.ID, marker))  # the page, not the login form
                target = out / name
                driver.save_screenshot(str(target))
                shots.append(_private(target))
            return shots
        finally:
            close_browser(driver, service)


def run(out: Path, *, port: int | None = None, db_url: str | None = None,
        keep_serving: bool = True, wait_heartbeat: float = 0) -> int:
    """Everything ``kiosk demo`` asks of the fleet side; serves until SIGTERM unless
    ``keep_serving`` is False."""
    exit_on_signals()
    fleet_dir = out / "fleet"
    fleet_dir.mkdir(parents=True, exist_ok=True)
    _private(fleet_dir)
    db_url = db_url or f"sqlite:///{fleet_dir / 'fleet.sqlite3'}"
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}"
    prepare(db_url)
    proc = serve(db_url, port, fleet_dir / "serve.log")
    try:
        enrolled = enrol_terminal(db_url, url)
        creds = fleet_dir / "terminal.json"  # whole or absent: kiosk demo polls for it
        partial = creds.with_name(creds.name + ".tmp")
        partial.write_text(json.dumps({"url": url, "terminal_id": enrolled["terminal_id"],
                                       "key": enrolled["key"]}), encoding="utf-8")
        os.replace(_private(partial), creds)
        print(f"fleet console: {url}/console/  (login {DEMO_USER} / {DEMO_PASSWORD})",
              flush=True)
        print(f"demo terminal {enrolled['terminal_id']} enrolled ({DEMO_HALL})", flush=True)
        if wait_heartbeat > 0:
            if wait_for_heartbeat(db_url, enrolled["terminal_id"], wait_heartbeat):
                print(f"demo terminal {enrolled['terminal_id']} online", flush=True)
            else:
                print(f"kiosk-fleet demo: no heartbeat from the demo terminal in "
                      f"{wait_heartbeat:g} s; photographing it silent", file=sys.stderr)
        try:
            shots = screenshots(url, enrolled["terminal_id"], out)
        except Exception as exc:  # the console is up and usable; only the pictures failed
            print(f"kiosk-fleet demo: console screenshots failed: {type(exc).__name__}: "
                  f"{str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
            shots = []
        for shot in shots:
            print(f"  {shot}", flush=True)
        if keep_serving:
            signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
            proc.wait()
        return 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="kiosk-fleet demo", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="demo-output")
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--db", default=None)
    p.add_argument("--once", action="store_true", help="stop after the screenshots")
    p.add_argument("--wait-heartbeat", type=float, default=0, metavar="SECONDS",
                   help="before the screenshots, wait this long for the demo terminal's "
                        "heartbeat (kiosk demo passes it; 0: photograph at once)")
    args = p.parse_args(argv)
    os.umask(0o077)
    return run(Path(args.out), port=args.port, db_url=args.db, keep_serving=not args.once,
               wait_heartbeat=args.wait_heartbeat)
