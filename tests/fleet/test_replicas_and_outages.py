"""N replicas on one PostgreSQL, and the database going away: the service keeps no state of
its own, so two ``kiosk-fleet serve`` processes share commands exactly, and a database that
stops answering gives terminals a 503 they retry, not a lost report."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from fleet import store
from fleet.db import head_revision, make_engine, migrate
from fleet.settings import Settings

from .conftest import ServedApp, Terminal, free_port

KIOSK_FLEET = str(Path(sys.executable).with_name("kiosk-fleet"))


def _serve(db_url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([KIOSK_FLEET, "--db", db_url, "serve", "--port", str(port),
                             "--sweep-every", "1", "--log-level", "warning"],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url + "/healthz", timeout=5).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"kiosk-fleet serve did not come up:\n{log.read_text()}")
        time.sleep(0.1)


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
def test_two_replicas_deliver_each_command_exactly_once(kind, request, tmp_path):
    """PostgreSQL is the fleet's case; the embedded SQLite file is held to the same rule."""
    db_url = (request.getfixturevalue("postgres").create_database() if kind == "postgresql"
              else f"sqlite:///{tmp_path / 'fleet.sqlite3'}")
    engine = make_engine(db_url)
    assert subprocess.run([KIOSK_FLEET, "--db", db_url, "migrate"], check=False).returncode == 0
    procs = []
    try:
        (a, url_a), (b, url_b) = (_serve(db_url, tmp_path / "a.log"),
                                  _serve(db_url, tmp_path / "b.log"))
        procs = [a, b]
        with engine.begin() as conn:
            code = store.create_enrol_code(conn, actor="t", now=store.now(), ttl_s=600)
        enrolled = requests.post(url_a + "/v1/enroll", json={"code": code}, timeout=30).json()
        tid, key = enrolled["terminal_id"], bytes.fromhex(enrolled["key"])
        queued: list[str] = []
        delivered: list[tuple[str, str]] = []  # (command id, replica)
        failures: list[str] = []
        answered = {url_a: 0, url_b: 0}
        urls = [url_a, url_b] * 3  # six heartbeats at once, three through each replica
        lock = threading.Lock()

        def beat(url: str, barrier: threading.Barrier) -> None:
            terminal = Terminal(url, tid, key)
            barrier.wait(timeout=60)  # all six arrive together: the claims race
            reply = terminal.beat()
            with lock:
                if reply.status_code != 200:
                    failures.append(f"{url}: {reply.status_code} {reply.text}")
                else:
                    answered[url] += 1
                    delivered.extend((c["id"], url) for c in reply.json()["commands"])

        for _ in range(12):  # rounds: the operator queues, then the terminal beats 6 times
            with engine.begin() as conn:
                queued.extend(store.queue_command(conn, tid, "sync_outbox", {}, actor="op",
                                                  now=store.now(), ttl_s=600)
                              for _ in range(3))
            barrier = threading.Barrier(len(urls))
            threads = [threading.Thread(target=beat, args=(u, barrier)) for u in urls]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
        assert failures == []
        ids = [cid for cid, _ in delivered]
        assert sorted(ids) == sorted(queued)  # every command once: none lost, none twice
        assert len(set(ids)) == len(ids) == 36
        assert answered == {url_a: 36, url_b: 36}  # both replicas served the terminal
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        engine.dispose()


@pytest.mark.expected_errors(r"fleet database unreachable")
def test_the_database_going_away_gives_503_and_coming_back_heals(postgres_factory, tmp_path):
    server = postgres_factory()
    db_url = server.create_database()
    engine = make_engine(db_url)
    migrate(engine)
    app = ServedApp(Settings(database_url=db_url, sweep_every_s=0))
    try:
        with engine.begin() as conn:
            code = store.create_enrol_code(conn, actor="t", now=store.now(), ttl_s=600)
        enrolled = requests.post(app.url + "/v1/enroll", json={"code": code}, timeout=30).json()
        terminal = Terminal(app.url, enrolled["terminal_id"], bytes.fromhex(enrolled["key"]))
        assert terminal.beat().status_code == 200
        server.stop()
        down = terminal.beat()
        assert down.status_code == 503
        assert down.json() == {"error": {"code": "database_unavailable", "message": (
            "the fleet database is unreachable; keep the data and retry later")}}
        assert requests.get(app.url + "/healthz", timeout=30).status_code == 503
        server.start()
        assert terminal.beat().status_code == 200
    finally:
        app.stop()
        engine.dispose()


def test_replicas_starting_together_migrate_in_turn(postgres):
    """Two `kiosk-fleet migrate` at once on an empty PostgreSQL database (two replicas
    deployed together): both succeed, the schema is built once."""
    db_url = postgres.create_database()
    procs = [subprocess.Popen([KIOSK_FLEET, "--db", db_url, "migrate"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    assert all(f"revision {head_revision()}" in out for out in outputs)
