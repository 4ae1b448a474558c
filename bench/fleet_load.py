"""Fleet service under load: N simulated terminals heartbeating ``kiosk-fleet serve`` on a
real PostgreSQL, against the floor of what a heartbeat must cost.

    .venv/bin/python bench/fleet_load.py [--terminals 10000] [--concurrency 64] [--seconds 20]

What it does, in one run, on one PostgreSQL server (Debian's ``postgresql``, started in a
temporary directory exactly as ``tests/fixtures/postgres.py`` does — fsync off for both apps):

1. enrols ``--terminals`` terminals in the fleet database (``fleet.store``: codes, keys);
2. starts ``kiosk-fleet serve`` (one uvicorn worker) and drives it with ``--concurrency``
   asyncio + httpx clients for ``--seconds``: each request is a heartbeat of a terminal taken
   round-robin, signed afresh with the kiosk's own signer (``kiosk.central.signing``), the
   body a real terminal's shape (devices, outbox, versions). Reports sustained heartbeats/s
   and p50/p99 latency (only 200s count; any other answer is counted and printed);
3. the floor: a bare Starlette + psycopg app (this file, ``--floor-serve``) with one uvicorn
   worker that only upserts the terminal's row and inserts the heartbeat, on its own database
   of the same server, driven by the same clients with the same bodies;
4. the fleet list's server time at that many terminals: ``fleet.store.list_terminals`` (what
   the console's fleet page and ``kiosk-fleet terminals`` run), median of 5, in-process.

Prints both throughputs and the ratio. The client runs on the same 2 cores as the server and
PostgreSQL, so absolute figures are lower than with ``wrk``; the ratio compares like with like.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOOR_SQL = """
CREATE TABLE IF NOT EXISTS terminals (id text PRIMARY KEY, last_heartbeat_at double precision,
                                      status jsonb);
CREATE TABLE IF NOT EXISTS heartbeats (id bigserial PRIMARY KEY, terminal_id text NOT NULL,
                                       at double precision NOT NULL, body jsonb NOT NULL);
"""


# ------------------------------------------------------------------ the floor app

def floor_app(dsn: str):  # noqa: ANN201 - a Starlette app
    """Only the heartbeat's essential writes, one transaction, committed before the 200."""
    import psycopg
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    pool: asyncio.Queue[psycopg.AsyncConnection] = asyncio.Queue()

    async def startup() -> None:
        for _ in range(10):
            pool.put_nowait(await psycopg.AsyncConnection.connect(dsn))

    async def beat(request: Request) -> JSONResponse:
        tid = request.path_params["id"]
        body = await request.body()
        now = time.time()
        conn = await pool.get()
        try:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO terminals (id, last_heartbeat_at, status) VALUES (%s, %s, %s)"
                    " ON CONFLICT (id) DO UPDATE SET last_heartbeat_at = excluded.last_heartbeat_at,"
                    " status = excluded.status", (tid, now, body.decode()))
                await conn.execute("INSERT INTO heartbeats (terminal_id, at, body) VALUES (%s, %s, %s)",
                                   (tid, now, body.decode()))
        finally:
            pool.put_nowait(conn)
        return JSONResponse({"server_time": "2026-12-01T08:00:00+08:00", "commands": [],
                             "targets": {}, "next_heartbeat_s": 60})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):  # noqa: ANN202
        await startup()
        yield

    return Starlette(routes=[Route("/v1/terminals/{id}/heartbeat", beat, methods=["POST"])],
                     lifespan=lifespan)


# ------------------------------------------------------------------ the load

def beat_body(tid: str) -> bytes:
    return json.dumps({
        "terminal_id": tid, "sent_at": "2026-12-01T08:01:24+08:00",
        "versions": {"software": "0.1.0", "catalog": "2026.11.2", "config": "3"},
        "uptime_s": 3600.5, "screen": "attract", "maintenance": False,
        "devices": {"receipt_printer": {"state": "ready", "fault": None, "detail": "",
                                        "since": 1796083284.0},
                    "idcard": {"state": "ready", "fault": None, "detail": "", "since": 1.0}},
        "outbox": {"pending": 0, "oldest_ready_age_s": None, "dead": 0, "bytes": 0},
        "counters": {"visits_finished": 3}}).encode()


async def drive(url: str, terminals: list[tuple[str, bytes]], concurrency: int,
                seconds: float) -> dict[str, float]:
    import httpx

    from kiosk.central.signing import sign_headers

    latencies: list[float] = []
    failures: dict[str, int] = {}
    counter = 0
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        async def worker() -> None:
            nonlocal counter
            while time.monotonic() < stop_at:
                tid, key = terminals[counter % len(terminals)]
                counter += 1
                path = f"/v1/terminals/{tid}/heartbeat"
                body = beat_body(tid)
                headers = sign_headers(tid, key, "POST", path, body)
                headers["Content-Type"] = "application/json"
                t0 = time.perf_counter()
                try:
                    reply = await http.post(path, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
                    continue
                took = time.perf_counter() - t0
                if reply.status_code == 200:
                    latencies.append(took)
                else:
                    code = f"{reply.status_code} {reply.text[:80]}"
                    failures[code] = failures.get(code, 0) + 1

        t_start = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - t_start
    latencies.sort()
    n = len(latencies)
    return {"ok": n, "rate": n / elapsed if elapsed else 0.0,
            "p50_ms": 1000 * latencies[n // 2] if n else float("nan"),
            "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))] if n else float("nan"),
            "failures": failures}  # type: ignore[dict-item]


async def warm(url: str, terminals: list[tuple[str, bytes]], concurrency: int) -> None:
    """One heartbeat per terminal: its first contact (version events, back-online) is done
    before the measured load, which is the steady state of an enrolled fleet."""
    size = max(1, len(terminals) // concurrency)
    for i in range(0, len(terminals), size * concurrency):
        chunk = terminals[i:i + size * concurrency]
        await drive_once(url, chunk)


async def drive_once(url: str, terminals: list[tuple[str, bytes]]) -> None:
    import httpx

    from kiosk.central.signing import sign_headers

    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        async def one(tid: str, key: bytes) -> None:
            path = f"/v1/terminals/{tid}/heartbeat"
            body = beat_body(tid)
            headers = {**sign_headers(tid, key, "POST", path, body),
                       "Content-Type": "application/json"}
            await http.post(path, content=body, headers=headers)

        await asyncio.gather(*(one(t, k) for t, k in terminals))


def wait_up(url: str, proc: subprocess.Popen, path: str = "/healthz") -> None:
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server died: exit {proc.returncode}")
        try:
            if path.endswith("heartbeat"):
                requests.post(url + path, data=b"{}", timeout=1)
            else:
                requests.get(url + path, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def enrol_many(engine, count: int) -> list[tuple[str, bytes]]:  # noqa: ANN001
    from fleet import store

    out = []
    now = store.now()
    with engine.begin() as conn:
        for i in range(count):
            code = store.create_enrol_code(conn, actor="bench", now=now, ttl_s=3600,
                                           district=f"区{i % 11}", hall=f"厅{i % 97}",
                                           group=("canary" if i % 20 == 0 else "main"))
            done = store.enrol(conn, code, now=now, interval_s=60)
            out.append((done.terminal_id, bytes.fromhex(done.key_hex)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--terminals", type=int, default=10_000)
    parser.add_argument("--active", type=int, default=1000,
                        help="terminals that heartbeat during the load (each warmed with one "
                             "beat first: the steady state, not first-contact events)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--floor-serve", nargs=2, metavar=("PORT", "DSN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_serve:
        import uvicorn

        port, dsn = args.floor_serve
        uvicorn.run(floor_app(dsn), host="127.0.0.1", port=int(port), log_level="warning",
                    access_log=False)
        return 0

    import psycopg

    from fleet import store
    from fleet.db import make_engine, migrate
    from tests.fixtures.postgres import PostgresServer

    pg = PostgresServer()
    procs: list[subprocess.Popen] = []
    try:
        pg.start()
        fleet_url, floor_url = pg.create_database(), pg.create_database()
        engine = make_engine(fleet_url)
        migrate(engine)
        t0 = time.perf_counter()
        terminals = enrol_many(engine, args.terminals)
        print(f"enrolled {len(terminals)} terminals in {time.perf_counter() - t0:.1f}s")
        floor_dsn = floor_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(floor_dsn, autocommit=True) as conn:
            conn.execute(FLOOR_SQL)

        env = {**os.environ, "KIOSK_FLEET_SWEEP_EVERY_S": "0"}
        results = {}
        for name in ("fleet", "floor"):
            port = free_port()
            if name == "fleet":
                argv = [sys.executable, "-m", "fleet", "--db", fleet_url, "serve", "--port",
                        str(port), "--log-level", "warning"]
            else:
                argv = [sys.executable, __file__, "--floor-serve", str(port), floor_dsn]
            proc = subprocess.Popen(argv, env=env, cwd=ROOT)
            procs.append(proc)
            url = f"http://127.0.0.1:{port}"
            wait_up(url, proc, "/healthz" if name == "fleet" else "/v1/terminals/x/heartbeat")
            active = terminals[:args.active]
            asyncio.run(warm(url, active, min(16, args.concurrency)))
            results[name] = asyncio.run(drive(url, active, args.concurrency, args.seconds))
            proc.terminate()
            proc.wait(timeout=30)
            r = results[name]
            print(f"{name:5}: {r['rate']:8.1f} heartbeats/s  p50 {r['p50_ms']:6.1f} ms  "
                  f"p99 {r['p99_ms']:6.1f} ms  ({r['ok']} ok; refused/failed: "
                  f"{r['failures'] or 'none'})")

        for limit in (200, args.terminals):  # the console's first page; the whole fleet
            times = []
            for _ in range(5):
                with engine.begin() as conn:
                    t = time.perf_counter()
                    rows, counts = store.list_terminals(conn, now=store.now(), limit=limit)
                    times.append(time.perf_counter() - t)
            list_ms = 1000 * statistics.median(times)
            print(f"fleet list at {sum(v for k, v in counts.items() if k != 'faulty')} "
                  f"terminals, {len(rows)} rows: {list_ms:.0f} ms server time "
                  f"(median of 5; goal <= 300 ms); counts {counts}")
        ratio = results["fleet"]["rate"] / results["floor"]["rate"]
        print(f"ratio fleet/floor throughput: {ratio:.2f}x (goal >= 1.0x, p99 <= 100 ms)")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
        pg.remove()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
