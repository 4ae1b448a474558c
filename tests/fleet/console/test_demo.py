"""``kiosk-fleet demo`` (what ``kiosk demo`` starts beside the kiosk): the console on the
SQLite default with the demo terminal enrolled, its URL and a working operator login
printed, screenshots of the fleet list and the terminal's page from headless Chromium,
written private like the rest of demo-output/."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fleet import store
from fleet.db import make_engine, migrate
from fleet.demo import DEMO_USER

from .conftest import KIOSK_FLEET


@pytest.mark.skipif(not shutil.which("chromedriver"), reason="chromium-driver not installed")
def test_the_demo_enrols_the_terminal_prints_a_login_and_photographs_the_console(tmp_path):
    out = tmp_path / "demo-output"
    done = subprocess.run([KIOSK_FLEET, "demo", "--out", str(out), "--once"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    found = re.search(r"(http://127\.0\.0\.1:\d+)/console/\s+\(login (\S+) / (\S+)\)",
                      done.stdout)
    assert found, done.stdout
    user, password = found.group(2), found.group(3)
    terminal = json.loads((out / "fleet" / "terminal.json").read_text())
    engine = make_engine(f"sqlite:///{out / 'fleet' / 'fleet.sqlite3'}")
    with engine.begin() as conn:
        assert store.check_password(conn, user, password) is not None
        rows, _ = store.list_terminals(conn, now=store.now())
    engine.dispose()
    assert [r["id"] for r in rows] == [terminal["terminal_id"]]
    for name in ("fleet-list.png", "fleet-terminal.png"):
        shot = out / name
        assert shot.read_bytes().startswith(b"\x89PNG"), name
        assert stat.S_IMODE(shot.stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "fleet" / "terminal.json").stat().st_mode) == 0o600


def _processes() -> dict[int, tuple[str, int]]:
    """Every live (not zombie) process: pid -> (command name, parent pid)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name, fields = line[line.index("(") + 1:line.rindex(")")], line[line.rindex(")") + 2:].split()
        if fields[0] != "Z":
            found[int(entry.name)] = (name, int(fields[1]))
    return found


def _descendants(pid: int) -> set[int]:
    procs, found, todo = _processes(), set(), [pid]
    while todo:
        parent = todo.pop()
        for child, (_name, ppid) in procs.items():
            if ppid == parent and child not in found:
                found.add(child)
                todo.append(child)
    return found


def _until(check, what: str, timeout: float = 60):
    """Poll ``check`` until truthy (a condition, not a sleep)."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return value


@pytest.mark.skipif(not shutil.which("chromedriver"), reason="chromium-driver not installed")
def _reap(proc: subprocess.Popen, pids: list[int]) -> None:
    """After a test: ``proc`` ended, and whatever of ``pids`` it failed to stop killed (the
    old code left them to init: do not leave them here)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_demo_terminated_while_photographing_leaves_no_chromedriver_chromium_or_server(
        tmp_path):
    """``kiosk demo`` stops its fleet console with SIGTERM, maybe mid-screenshot. Python's
    default SIGTERM skipped every ``finally``: chromedriver, Chromium and ``kiosk-fleet
    serve`` went on under init. The demo operator here has another password, so the demo's
    browser sits on the login page (it waits for the fleet list) until it is terminated."""
    out = tmp_path / "demo-output"
    db_url = f"sqlite:///{tmp_path / 'fleet.sqlite3'}"
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        store.add_user(conn, DEMO_USER, "not-the-demo-password", "admin", actor="test",
                       now=store.now())
    demo = subprocess.Popen([KIOSK_FLEET, "demo", "--out", str(out), "--db", db_url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    leftovers: list[int] = []
    try:
        def login_failed() -> bool:
            with engine.begin() as conn:
                return any(e["action"] == "login.fail" for e in store.list_audit(conn))
        _until(login_failed, "the demo's browser to try the login")  # inside screenshots()
        procs = _processes()
        children = {pid: procs[pid][0] for pid in _descendants(demo.pid) if pid in procs}
        assert "chromedriver" in children.values(), children
        assert any(name.startswith("chrom") and name != "chromedriver"
                   for name in children.values()), children
        assert any(name.startswith("python") or name.startswith("kiosk-fleet")
                   for name in children.values()), children  # kiosk-fleet serve
        leftovers = sorted(children)
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
        _until(lambda: not set(leftovers) & set(_processes()),
               "chromedriver, chromium and kiosk-fleet serve to be gone", 20)
    finally:
        _reap(demo, leftovers)
        engine.dispose()


# A sitecustomize for the demo's children: the ``kiosk-fleet serve`` it starts says its pid
# and then never comes up (a slow start, stopped in the middle: deterministic, no browser).
SERVE_NEVER_UP = """
import os, signal, sys
if sys.orig_argv[1:3] == ["-m", "fleet"] and "serve" in sys.orig_argv:
    partial = os.environ["SERVE_PID_FILE"] + ".tmp"
    with open(partial, "w") as f:
        f.write(str(os.getpid()))
    os.replace(partial, os.environ["SERVE_PID_FILE"])
    while True:
        signal.pause()
"""


def test_a_demo_terminated_while_its_console_starts_leaves_no_server_behind(tmp_path):
    """``kiosk demo`` may stop the fleet demo in its first seconds, while ``kiosk-fleet
    serve`` is still coming up: the wait for ``/healthz`` ended on the signal, and the
    server, not yet handed to the cleanup, went on under init."""
    site, pid_file = tmp_path / "site", tmp_path / "serve.pid"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SERVE_NEVER_UP, encoding="utf-8")
    demo = subprocess.Popen([KIOSK_FLEET, "demo", "--out", str(tmp_path / "demo-output")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(site),
                                 "SERVE_PID_FILE": str(pid_file)})
    serve_pid = 0
    try:
        serve_pid = int(_until(lambda: pid_file.exists() and pid_file.read_text(),
                               "the demo to start kiosk-fleet serve"))
        assert _processes()[serve_pid][1] == demo.pid  # the demo's child, still starting
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=60) == 128 + signal.SIGTERM
        _until(lambda: serve_pid not in _processes(), "kiosk-fleet serve to be gone", 20)
    finally:
        _reap(demo, [serve_pid] if serve_pid else [])


BROWSER_HOLDER = """
import sys, time
from pathlib import Path
from tests.fixtures.chromium import headless_chromium
browser = headless_chromium(Path(sys.argv[1]))  # held: closing it quits
driver = next(browser)
driver.get("about:blank")
print("ready", flush=True)
while True:
    time.sleep(3600)  # until the test terminates this process
"""


@pytest.mark.skipif(not shutil.which("chromedriver"), reason="chromium-driver not installed")
def test_a_test_run_terminated_with_a_browser_open_leaves_no_chromedriver_behind(tmp_path):
    """``timeout 900 pytest`` ends with SIGTERM: the browser fixture turns it into a
    KeyboardInterrupt (pytest's teardowns run) and kills its process group at exit."""
    holder = subprocess.Popen([sys.executable, "-c", BROWSER_HOLDER, str(tmp_path / "profile")],
                              stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[3])
    leftovers: list[int] = []
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        procs = _processes()
        leftovers = sorted(_descendants(holder.pid))
        assert "chromedriver" in {procs[p][0] for p in leftovers if p in procs}
        holder.send_signal(signal.SIGTERM)
        holder.wait(timeout=60)
        _until(lambda: not set(leftovers) & set(_processes()),
               "chromedriver and chromium to be gone", 20)
    finally:
        _reap(holder, leftovers)
