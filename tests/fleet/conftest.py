"""The fleet service under test: a real ``uvicorn`` on 127.0.0.1 over a real database —
an SQLite file or a fresh database on the real PostgreSQL server (tests/fixtures/postgres.py);
``fleet`` is parametrised over both, so every API test runs twice.

Terminals sign with the kiosk's own signer (``kiosk.central.signing``): the fleet's
re-implementation is checked against the real thing, not against itself.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn

from fleet import store
from fleet.app import create_app
from fleet.db import make_engine, migrate
from fleet.settings import Settings
from kiosk.central.signing import sign_headers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServedApp:
    """``create_app`` served by uvicorn in a thread of the test process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1",
                                                    port=self.port, log_level="warning",
                                                    access_log=False, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fleet app did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@dataclass
class Terminal:
    """An enrolled terminal as the kiosk would be: its id, its key, where the fleet is."""

    base: str
    id: str
    key: bytes
    session: requests.Session = field(default_factory=requests.Session)

    def post(self, path: str, body: bytes, *, content_type: str = "application/json",
             as_id: str | None = None, **sign: Any) -> requests.Response:
        headers = sign_headers(as_id or self.id, self.key, "POST", path, body, **sign)
        headers["Content-Type"] = content_type
        return self.session.post(self.base + path, data=body, headers=headers, timeout=30)

    def beat(self, payload: dict[str, Any] | None = None, **kw: Any) -> requests.Response:
        body = json.dumps(payload if payload is not None else healthy()).encode()
        return self.post(f"/v1/terminals/{self.id}/heartbeat", body, **kw)

    def ack(self, command_id: str, ok: bool = True, detail: str | None = None
            ) -> requests.Response:
        payload: dict[str, Any] = {"ok": ok}
        if detail is not None:
            payload["detail"] = detail
        return self.post(f"/v1/terminals/{self.id}/commands/{command_id}/ack",
                         json.dumps(payload).encode())


def healthy(**devices: dict[str, Any]) -> dict[str, Any]:
    """A heartbeat as the kiosk sends it, all devices ready unless given."""
    return {"sent_at": "2026-12-01T08:00:00+08:00",
            "versions": {"software": "0.1.0", "catalog": "2026.11.2", "config": "1"},
            "uptime_s": 12.5, "screen": "attract",
            "devices": {"receipt_printer": {"state": "ready", "fault": None},
                        "id_reader": {"state": "ready", "fault": None}, **devices},
            "outbox": {"pending": 0, "oldest_ready_age_s": None}, "maintenance": False,
            "acks": []}


class Fleet:
    """One fleet under test: its database, its served app, helpers to act as operator."""

    def __init__(self, url: str, kind: str) -> None:
        self.kind = kind
        self.db_url = url
        self.engine = make_engine(url)
        migrate(self.engine)
        self.settings = Settings(database_url=url, sweep_every_s=0)
        self.app = ServedApp(self.settings)

    @property
    def url(self) -> str:
        return self.app.url

    def restart(self) -> None:
        self.app.stop()
        self.app = ServedApp(self.settings)

    def code(self, **kw: Any) -> str:
        with self.engine.begin() as conn:
            return store.create_enrol_code(conn, actor="test", now=store.now(), ttl_s=3600, **kw)

    def enrol(self, **kw: Any) -> Terminal:
        reply = requests.post(self.url + "/v1/enroll", json={"code": self.code(**kw)},
                              timeout=30)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        return Terminal(self.url, body["terminal_id"], bytes.fromhex(body["key"]))

    def queue(self, terminal_id: str, command: str = "collect_diagnostics", *,
              ttl_s: float = 3600, now: float | None = None) -> str:
        with self.engine.begin() as conn:
            return store.queue_command(conn, terminal_id, command, {}, actor="op",
                                       now=store.now() if now is None else now, ttl_s=ttl_s)

    def terminal(self, terminal_id: str) -> dict[str, Any]:
        with self.engine.begin() as conn:
            return store.terminal_detail(conn, terminal_id, now=store.now())

    def alerts(self, **kw: Any) -> list[dict[str, Any]]:
        with self.engine.begin() as conn:
            return store.list_alerts(conn, now=store.now(), **kw)

    def close(self) -> None:
        self.app.stop()
        self.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def fleet(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fleet]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fleet.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres").create_database()
    served = Fleet(url, request.param)
    try:
        yield served
    finally:
        served.close()
