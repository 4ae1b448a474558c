"""The console under test: a real ``kiosk-fleet serve`` process over a real database (an
SQLite file, or a fresh database on the real PostgreSQL server of tests/fixtures/postgres.py),
terminals that exist because they enrolled and sent real signed heartbeats through the
terminal API, and Debian's Chromium driven through Selenium (chromium-driver).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from fleet import store
from fleet.db import make_engine
from tests.fixtures.chromium import headless_chromium
from tests.fleet.conftest import Terminal, free_port, healthy

KIOSK_FLEET = str(Path(sys.executable).with_name("kiosk-fleet"))
PASSWORDS = {"admin": "admin-password-1", "operator": "operator-pass-1",
             "viewer": "viewer-password-1"}
SHOTS = Path(__file__).resolve().parents[3] / "var" / "console-shots"


class Console:
    """One ``kiosk-fleet serve`` with three accounts (admin, operator, viewer)."""

    def __init__(self, db_url: str, workdir: Path) -> None:
        self.db_url, self.workdir = db_url, workdir
        self.engine = make_engine(db_url)
        subprocess.run([KIOSK_FLEET, "--db", db_url, "migrate"], check=True,
                       capture_output=True)
        with self.engine.begin() as conn:
            for name, password in PASSWORDS.items():
                store.add_user(conn, name, password, name, actor="test", now=store.now())
        self.procs: list[subprocess.Popen[bytes]] = []
        self.url = self.serve()

    def serve(self) -> str:
        """Start a (further) replica on the same database; its base URL."""
        port = free_port()
        log = self.workdir / f"serve-{port}.log"
        proc = subprocess.Popen([KIOSK_FLEET, "--db", self.db_url, "serve", "--port", str(port),
                                 "--sweep-every", "0", "--log-level", "warning"],
                                stdout=log.open("wb"), stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url + "/healthz", timeout=5).status_code == 200:
                    return url
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"kiosk-fleet serve did not come up:\n{log.read_text()}")
            time.sleep(0.1)

    def terminal(self, *, district: str = "", hall: str = "", beat: dict[str, Any] | None = None
                 ) -> Terminal:
        """A terminal enrolled with an operator's code that has sent one heartbeat."""
        with self.engine.begin() as conn:
            code = store.create_enrol_code(conn, actor="test", now=store.now(), ttl_s=600,
                                           district=district, hall=hall)
        reply = requests.post(self.url + "/v1/enroll", json={"code": code}, timeout=30)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        term = Terminal(self.url, body["terminal_id"], bytes.fromhex(body["key"]))
        sent = term.beat(beat if beat is not None else healthy())
        assert sent.status_code == 200, sent.text
        return term

    def telemetry(self, term: Terminal, items: list[dict[str, Any]]) -> None:
        body = json.dumps({"batch_id": f"b{time.monotonic_ns()}", "items": items}).encode()
        sent = term.post(f"/v1/terminals/{term.id}/telemetry", body)
        assert sent.status_code == 200, sent.text

    def commands(self, terminal_id: str) -> list[dict[str, Any]]:
        with self.engine.begin() as conn:
            return store.list_commands(conn, terminal_id, now=store.now())

    def session(self, role: str, url: str | None = None) -> requests.Session:
        """A logged-in ``requests`` session (the browser tests log in through the page)."""
        base = url or self.url
        s = requests.Session()
        page = s.get(base + "/console/login", timeout=30)
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token, page.text
        done = s.post(base + "/console/login", data={"csrf": token.group(1), "username": role,
                                                     "password": PASSWORDS[role]},
                      allow_redirects=False, timeout=30)
        assert done.status_code == 303 and "fleet_session" in s.cookies, done.text
        return s

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.engine.dispose()


def csrf_of(html: str) -> str:
    """The CSRF token a signed-in page carries in its forms."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def console(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Console]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fleet.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres").create_database()
    served = Console(url, tmp_path)
    served.kind = request.param  # type: ignore[attr-defined]
    try:
        yield served
    finally:
        served.close()


@pytest.fixture
def sqlite_console(tmp_path: Path) -> Iterator[Console]:
    served = Console(f"sqlite:///{tmp_path / 'fleet.sqlite3'}", tmp_path)
    try:
        yield served
    finally:
        served.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Headless Chromium (tests/fixtures/chromium.py)."""
    yield from headless_chromium(tmp_path / "chromium")
