"""Fleet service under load: 10,000 terminals heartbeating ``kiosk-fleet serve`` on a real
PostgreSQL, against the floor of what a heartbeat must cost, with ``wrk`` as the client.

    .venv/bin/python bench/fleet_load.py [--terminals 10000] [--concurrency 32] [--seconds 20]
                                         [--client auto|wrk|httpx]

What it does, in one run, on one PostgreSQL server (Debian's ``postgresql``, started in a
temporary directory exactly as ``tests/fixtures/postgres.py`` does — fsync off for both apps):

1. enrols ``--terminals`` terminals in the fleet database: 200 through ``fleet.store``'s
   enrolment (codes, keys; their warm-up beat is a first contact), the rest written directly
   as terminals that have been heartbeating (same versions, no faults);
2. pre-signs heartbeats in Python (HMAC over method, path, timestamp, nonce and body hash,
   ``fleet.signing.sign``): one per terminal for the warm-up, then enough for the timed run
   (``--presign-rate`` x ``--seconds`` x 1.5), round-robin over all the terminals, each with
   its own nonce and a fresh timestamp. ``wrk`` (a C client, cheap on the 2 cores the server
   needs) replays them through ``bench/fleet_load_heartbeat.lua``, each exactly once;
3. starts ``kiosk-fleet serve`` (one uvicorn worker), warms it with one beat per terminal
   (its first contact: version events, back-online — the steady state of an enrolled fleet
   comes after), then drives it with ``--concurrency`` connections for ``--seconds``.
   Reports heartbeats/s, p50/p99 latency and every answer that is not a 200 (a replayed
   nonce would be a 401): a run with any non-200 fails, as does one that ran out of
   pre-signed requests;
4. the fleet list's server time at that many terminals (median of 5): in-process
   ``fleet.store.list_terminals`` (the console's first page, and the whole fleet) and the
   console's fleet fragment over HTTP (``GET /console/`` with ``X-Fragment: fleet``, what the
   page's auto-refresh fetches), logged in as a viewer;
5. the floor: a bare Starlette + psycopg app (this file, ``--floor-serve``; one uvicorn worker)
   that only upserts the terminal's row and inserts the heartbeat, committed before its 200, on
   its own database of the same server, warmed and driven by the same pre-built requests (it
   ignores the signatures).

Prints both throughputs and p50/p99, the ratio, and the fleet list's figures against the
issue's goals (ratio >= 1.0x, p99 <= 100 ms, list <= 300 ms). Without ``wrk`` on the PATH it
falls back to asyncio + httpx clients in this process, says so, and those figures are lower
(the client then competes with the server for the CPU). PostgreSQL, the servers and the
request files are removed on exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LUA = Path(__file__).with_name("fleet_load_heartbeat.lua")
TID_MARK = "@@TID@@"

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


# ------------------------------------------------------------------ the requests

def body_template() -> tuple[str, str]:
    """A real terminal's heartbeat (devices, outbox, versions), split around its id: the Lua
    script rebuilds each body as prefix + id + suffix, byte for byte what was signed."""
    text = json.dumps({
        "terminal_id": TID_MARK, "sent_at": "2026-12-01T08:01:24+08:00",
        "versions": {"software": "0.1.0", "catalog": "2026.11.2", "config": "3"},
        "uptime_s": 3600.5, "screen": "attract", "maintenance": False,
        "devices": {"receipt_printer": {"state": "ready", "fault": None, "detail": "",
                                        "since": 1796083284.0},
                    "idcard": {"state": "ready", "fault": None, "detail": "", "since": 1.0}},
        "outbox": {"pending": 0, "oldest_ready_age_s": None, "dead": 0, "bytes": 0},
        "counters": {"visits_finished": 3}}, ensure_ascii=True)
    prefix, suffix = text.split(TID_MARK)
    return prefix, suffix


def beat_body(tid: str) -> bytes:
    prefix, suffix = body_template()
    return (prefix + tid + suffix).encode()


def presign(path: Path, terminals: list[tuple[str, bytes]], count: int) -> None:
    """``count`` heartbeats round-robin over ``terminals``, signed now, each its own nonce,
    into the Lua script's file format."""
    import hashlib
    import hmac

    prefix, suffix = body_template()
    ts = str(int(time.time()))
    shas = {tid: hashlib.sha256((prefix + tid + suffix).encode()).hexdigest()
            for tid, _ in terminals}
    with path.open("w", encoding="ascii") as out:
        out.write(prefix + "\n" + suffix + "\n")
        n = len(terminals)
        for i in range(count):
            tid, key = terminals[i % n]
            nonce = uuid.uuid4().hex
            sha = shas[tid]
            text = f"POST\n/v1/terminals/{tid}/heartbeat\n{ts}\n{nonce}\n{sha}".encode()
            mac = hmac.new(key, text, hashlib.sha256).hexdigest()
            out.write(f"{tid} {ts} {nonce} {sha} {mac}\n")


def read_presigned(path: Path) -> tuple[str, str, list[list[str]]]:
    with path.open(encoding="ascii") as f:
        prefix, suffix = f.readline().rstrip("\n"), f.readline().rstrip("\n")
        return prefix, suffix, [line.split() for line in f]


# ------------------------------------------------------------------ the clients

@dataclass
class Load:
    """One driven run's figures."""

    ok: int
    non200: int
    seconds: float
    p50_ms: float
    p99_ms: float
    exhausted: bool = False
    first_bad: str = ""
    socket_errors: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def wrk_argv(url: str, requests_file: Path, concurrency: int, seconds: float,
             threads: int) -> list[str]:
    return ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{seconds:g}s",
            "--timeout", "30s", "--latency", "-s", str(LUA), url, "--",
            str(requests_file), str(threads)]


def parse_wrk(returncode: int, stdout: str, stderr: str) -> Load:
    """The Lua script's done() line: its figures."""
    line = next((s for s in stdout.splitlines() if s.startswith("FLEETLOAD ")), None)
    if returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({returncode}):\n{stdout}\n{stderr}")
    f = dict(kv.split("=", 1) for kv in line.split()[1:])
    errors = {k: int(f[k]) for k in ("connect", "read", "write", "timeout") if int(f[k])}
    return Load(ok=int(f["ok"]), non200=int(f["non200"]),
                seconds=int(f["duration_us"]) / 1e6,
                p50_ms=int(f["p50_us"]) / 1000, p99_ms=int(f["p99_us"]) / 1000,
                exhausted=int(f["exhausted"]) > 0, first_bad=f["first_bad"],
                socket_errors=errors)


def run_wrk(url: str, requests_file: Path, concurrency: int, seconds: float,
            threads: int) -> Load:
    """wrk replaying ``requests_file`` for ``seconds``."""
    done = subprocess.run(wrk_argv(url, requests_file, concurrency, seconds, threads),
                          capture_output=True, text=True, check=False, timeout=seconds + 120)
    return parse_wrk(done.returncode, done.stdout, done.stderr)


def run_wrk_until(url: str, requests_file: Path, concurrency: int, threads: int,
                  finished: Callable[[], bool], limit_s: float = 120) -> Load:
    """wrk replaying ``requests_file`` until ``finished()`` (a wrk thread that runs out of
    requests idles until its duration ends, so wrk is stopped with SIGINT, as Ctrl-C would:
    it still prints its figures)."""
    proc = subprocess.Popen(wrk_argv(url, requests_file, concurrency, limit_s, threads),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + limit_s
        while proc.poll() is None and not finished():
            if time.monotonic() > deadline:
                raise SystemExit("warm-up did not finish")
            time.sleep(0.2)
        if not finished():
            raise SystemExit(f"warm-up did not finish in {limit_s:g} s")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return parse_wrk(proc.returncode, out, err)


async def run_httpx(url: str, requests_file: Path, concurrency: int, seconds: float) -> Load:
    """The fallback client: the same pre-signed requests from asyncio + httpx (it eats CPU
    the server needs, so its figures are lower than wrk's)."""
    import httpx

    prefix, suffix, lines = read_presigned(requests_file)
    latencies: list[float] = []
    bad: list[str] = []
    exhausted = False
    position = 0
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        async def worker() -> None:
            nonlocal position, exhausted
            while time.monotonic() < stop_at:
                if position >= len(lines):
                    exhausted = True
                    return
                tid, ts, nonce, sha, sig = lines[position]
                position += 1
                headers = {"Content-Type": "application/json", "X-Kiosk-Terminal": tid,
                           "X-Kiosk-Timestamp": ts, "X-Kiosk-Nonce": nonce,
                           "X-Kiosk-Content-SHA256": sha, "X-Kiosk-Signature": sig}
                t0 = time.perf_counter()
                try:
                    reply = await http.post(f"/v1/terminals/{tid}/heartbeat",
                                            content=(prefix + tid + suffix).encode(),
                                            headers=headers)
                except httpx.HTTPError as exc:
                    bad.append(type(exc).__name__)
                    continue
                if reply.status_code == 200:
                    latencies.append(time.perf_counter() - t0)
                else:
                    bad.append(f"{reply.status_code} {reply.text[:160]}")

        t_start = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - t_start
    latencies.sort()
    n = len(latencies)
    return Load(ok=n, non200=len(bad), seconds=elapsed,
                p50_ms=1000 * latencies[n // 2] if n else float("nan"),
                p99_ms=1000 * latencies[min(n - 1, int(n * 0.99))] if n else float("nan"),
                exhausted=exhausted, first_bad=bad[0] if bad else "")


# ------------------------------------------------------------------ plumbing

def wait_up(url: str, proc: subprocess.Popen, path: str) -> None:
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server died: exit {proc.returncode}")
        try:
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


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def enrol_many(engine, count: int, real: int = 200) -> list[tuple[str, bytes]]:  # noqa: ANN001
    """``count`` terminals in 11 districts and 97 halls, every 20th in the canary group. The
    first ``real`` go through the real enrolment (code, claim, key) and make their first
    contact in the warm-up; the rest are written as a fleet that has been heartbeating (the
    beat's versions, no faults, last beat now): enrolling 10,000 one by one would take most
    of the bench's two minutes."""
    import secrets

    from fleet import store
    from fleet.schema import terminals

    out = []
    now = store.now()
    rows = []
    with engine.begin() as conn:
        for i in range(count):
            district, hall = f"区{i % 11}", f"厅{i % 97}"
            group = "canary" if i % 20 == 0 else "main"
            if i < real:
                code = store.create_enrol_code(conn, actor="bench", now=now, ttl_s=3600,
                                               district=district, hall=hall, group=group)
                done = store.enrol(conn, code, now=now, interval_s=60)
                out.append((done.terminal_id, bytes.fromhex(done.key_hex)))
                continue
            tid, key = f"B{i:07d}", secrets.token_bytes(32)
            out.append((tid, key))
            rows.append(dict(
                id=tid, district=district, hall=hall, group_name=group, key_hex=key.hex(),
                state="enrolled", enrolled_at=now, last_heartbeat_at=now, interval_s=60,
                software_version="0.1.0", catalog_version="2026.11.2", config_version="3",
                devices={}, faults="", fault_count=0, outbox_depth=0, screen="attract",
                uptime_s=1.0, maintenance=False))
        if rows:
            conn.execute(terminals.insert(), rows)
    return out


def list_times(engine, url: str, password: str, terminals: int) -> None:  # noqa: ANN001
    """The fleet list's server time: in-process (store.list_terminals) and the console's
    fleet fragment over HTTP, median of 5 each."""
    import requests

    from fleet import store

    for limit in (200, terminals):  # the console's first page; the whole fleet
        times = []
        for _ in range(5):
            with engine.begin() as conn:
                t = time.perf_counter()
                rows, counts = store.list_terminals(conn, now=store.now(), limit=limit)
                times.append(time.perf_counter() - t)
        total = sum(v for k, v in counts.items() if k != "faulty")
        print(f"fleet list in-process, {len(rows)} of {total} terminals: "
              f"{1000 * statistics.median(times):.0f} ms (median of 5; goal <= 300 ms); "
              f"counts {counts}")
    with requests.Session() as http:
        page = http.get(url + "/console/login", timeout=30)
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        if token is None:
            raise SystemExit("console login page has no CSRF token")
        http.post(url + "/console/login", data={"csrf": token.group(1), "username": "bench",
                                                "password": password}, timeout=30)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            reply = http.get(url + "/console/", headers={"X-Fragment": "fleet"}, timeout=30)
            times.append(time.perf_counter() - t)
            if reply.status_code != 200 or "fleet-table" not in reply.text:
                raise SystemExit(f"console fleet fragment: {reply.status_code} "
                                 f"{reply.text[:200]}")
    print(f"fleet list over HTTP (console fragment, {terminals} terminals): "
          f"{1000 * statistics.median(times):.0f} ms (median of 5; goal <= 300 ms)")


def report(name: str, load: Load) -> str:
    extra = f"; socket errors {load.socket_errors}" if load.socket_errors else ""
    bad = f"; first: {load.first_bad}" if load.non200 else ""
    return (f"{name:5}: {load.rate:8.1f} heartbeats/s  p50 {load.p50_ms:6.1f} ms  "
            f"p99 {load.p99_ms:6.1f} ms  ({load.ok} ok in {load.seconds:.1f} s, "
            f"{load.non200} not 200{bad}{extra})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--terminals", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32,
                        help="open connections, the same for both apps (default 32: the "
                             "best throughput and p99 for both here; 64 and 128 only queue)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1,
                        help="the fleet's uvicorn workers (replicas on one database); the "
                             "floor always has one")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--presign-rate", type=int, default=5000,
                        help="heartbeats/s the pre-signed requests must last for (x1.5)")
    parser.add_argument("--client", choices=("auto", "wrk", "httpx"), default="auto")
    parser.add_argument("--skip-floor", action="store_true")
    parser.add_argument("--floor-serve", nargs=2, metavar=("PORT", "DSN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_serve:
        import uvicorn

        port, dsn = args.floor_serve
        uvicorn.run(floor_app(dsn), host="127.0.0.1", port=int(port), log_level="warning",
                    access_log=False)
        return 0

    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "httpx"
        if client == "httpx":
            print("wrk not found: falling back to asyncio + httpx clients in this process "
                  "(they compete with the server for the CPU; figures are lower than wrk's)")
    elif client == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk not found (apt-get install wrk)")

    # Ctrl-C and SIGTERM unwind through the finally below
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))

    import psycopg

    from fleet import store
    from fleet.db import make_engine, migrate
    from tests.fixtures.postgres import PostgresServer

    scratch = Path(tempfile.mkdtemp(prefix="fleet-load-"))
    pg = PostgresServer()
    procs: list[subprocess.Popen] = []

    def drive(url: str, requests_file: Path, seconds: float, concurrency: int) -> Load:
        if client == "wrk":
            return run_wrk(url, requests_file, concurrency, seconds, args.threads)
        return asyncio.run(run_httpx(url, requests_file, concurrency, seconds))

    def warm_up(url: str, dsn: str, sql: str) -> Load:
        """One beat per terminal, until the database has seen every terminal."""
        if client != "wrk":
            return asyncio.run(run_httpx(url, warm_file, min(args.concurrency, 32), 600))
        with psycopg.connect(dsn, autocommit=True) as conn:
            def finished() -> bool:
                row = conn.execute(sql).fetchone()
                return row is not None and int(row[0]) >= len(terminals)

            return run_wrk_until(url, warm_file, min(args.concurrency, 32), args.threads,
                                 finished)

    def start(argv: list[str], url: str, probe: str) -> subprocess.Popen:
        env = {**os.environ, "KIOSK_FLEET_SWEEP_EVERY_S": "0"}
        proc = subprocess.Popen(argv, env=env, cwd=ROOT)
        procs.append(proc)
        wait_up(url, proc, probe)
        return proc

    def stop(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    failed: list[str] = []
    try:
        print(f"client: {client}, {args.concurrency} connections, {args.seconds:g} s per app; "
              f"load average {load_average()}")
        pg.start()
        fleet_url, floor_url = pg.create_database(), pg.create_database()
        engine = make_engine(fleet_url)
        migrate(engine)
        t0 = time.perf_counter()
        terminals = enrol_many(engine, args.terminals)
        password = "bench-" + uuid.uuid4().hex
        with engine.begin() as conn:
            store.add_user(conn, "bench", password, "viewer", actor="bench", now=store.now())
        print(f"enrolled {len(terminals)} terminals in {time.perf_counter() - t0:.1f} s")
        floor_dsn = floor_url.replace("postgresql+psycopg://", "postgresql://")
        fleet_dsn = fleet_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(floor_dsn, autocommit=True) as conn:
            conn.execute(FLOOR_SQL)

        warm_file, load_file = scratch / "warm.txt", scratch / "load.txt"
        t0 = time.perf_counter()
        presign(warm_file, terminals, len(terminals))
        count = int(args.presign_rate * args.seconds * 1.5)
        print(f"pre-signed {len(terminals)} heartbeats for the warm-up in "
              f"{time.perf_counter() - t0:.1f} s")

        results: dict[str, Load] = {}
        for name in ("fleet", "floor"):
            if name == "floor" and args.skip_floor:
                continue
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            if name == "fleet":
                proc = start([sys.executable, "-m", "fleet", "--db", fleet_url, "serve",
                              "--port", str(port), "--log-level", "warning",
                              "--workers", str(args.workers)], url, "/healthz")
            else:
                proc = start([sys.executable, __file__, "--floor-serve", str(port), floor_dsn],
                             url, "/")
            t0 = time.perf_counter()
            warm = warm_up(url, fleet_dsn, "SELECT count(*) FROM terminals WHERE "
                           f"last_heartbeat_at >= {time.time()}") if name == "fleet" else \
                warm_up(url, floor_dsn, "SELECT count(*) FROM terminals")
            print(f"{name:5}: warm-up, one beat per terminal: all {len(terminals)} in the "
                  f"database in {time.perf_counter() - t0:.1f} s ({warm.ok} answers read by "
                  f"the client, {warm.non200} not 200)")
            if warm.non200:
                failed.append(f"{name}: warm-up: {warm.non200} answers not 200; first: "
                              f"{warm.first_bad}")
            if name == "fleet":  # signed now, so fresh for the fleet's 300 s window
                t0 = time.perf_counter()
                presign(load_file, terminals, count)
                print(f"pre-signed {count} heartbeats in {time.perf_counter() - t0:.1f} s "
                      "(the floor gets the same requests)")
            loadavg = load_average()
            results[name] = load = drive(url, load_file, args.seconds, args.concurrency)
            print(report(name, load) + f"  [load average before: {loadavg}]")
            if load.non200 or load.socket_errors:
                failed.append(f"{name}: {load.non200} answers not 200, socket errors "
                              f"{load.socket_errors or 'none'}")
            if load.exhausted:
                failed.append(f"{name}: ran out of pre-signed requests; raise --presign-rate "
                              f"above {load.rate:.0f}")
            if name == "fleet":
                list_times(engine, url, password, len(terminals))
            stop(proc)

        if "floor" in results:
            fleet, floor = results["fleet"], results["floor"]
            ratio = fleet.rate / floor.rate if floor.rate else float("nan")
            print(f"\nfleet {fleet.rate:.0f} hb/s p50 {fleet.p50_ms:.1f} ms p99 "
                  f"{fleet.p99_ms:.1f} ms | floor {floor.rate:.0f} hb/s p50 "
                  f"{floor.p50_ms:.1f} ms p99 {floor.p99_ms:.1f} ms")
            met = ratio >= 1.0 and fleet.p99_ms <= 100
            print(f"ratio fleet/floor throughput: {ratio:.2f}x (goal >= 1.0x with p99 <= "
                  f"100 ms: {'met' if met else 'NOT met'})")
        engine.dispose()
    except KeyboardInterrupt:
        print("interrupted: cleaning up", file=sys.stderr)
        return 130
    finally:
        for proc in procs:
            stop(proc)
        pg.remove()
        shutil.rmtree(scratch, ignore_errors=True)
    if failed:
        print("MEASUREMENT INVALID:\n  " + "\n  ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
