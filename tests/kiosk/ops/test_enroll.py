"""``kiosk enroll`` against a real fleet service (``kiosk-fleet serve``, codes made as the
console makes them), and against a tiny stdlib HTTP server playing the fleet's enrolment
endpoint (127.0.0.1, a thread stopped by the fixture) that records exactly what was sent."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kiosk.central.signing import load_key

KEY_HEX = "5a" * 32


class _Enrol(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((self.path, body))
        if self.path == "/v1/enroll" and body == {"code": "GOOD-CODE"}:
            status, reply = 200, {"terminal_id": "GZ-TH-0042", "key": KEY_HEX,
                                  "heartbeat_interval_s": 60}
        else:
            status, reply = 403, {"error": {"code": "bad_code", "message": "code unknown or used"}}
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def enrol_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Enrol)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def kiosk(*args):
    # $KIOSK_CONFIG is the suite's mode-"test" override (tests/fixtures/kiosk_config.py): until
    # --config exists, enrolment starts from it, and may use http:// to 127.0.0.1
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def test_enrol_stores_key_0600_and_records_the_fleet_id(tmp_path, enrol_server):
    url = f"http://127.0.0.1:{enrol_server.server_address[1]}"
    cfg, key = tmp_path / "kiosk.toml", tmp_path / "secrets" / "fleet.key"
    done = kiosk("enroll", "GOOD-CODE", "--url", url, "--config", str(cfg), "--key-file", str(key))
    assert done.returncode == 0, done.stderr
    assert "enrolled with the fleet as GZ-TH-0042" in done.stdout
    assert load_key(key) == bytes.fromhex(KEY_HEX)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    get = lambda name: kiosk("config", "get", name, "--config", str(cfg)).stdout.strip()  # noqa: E731
    assert (get("fleet.terminal_id"), get("fleet.url"), get("fleet.key_file")) == (
        "GZ-TH-0042", url, str(key))
    assert enrol_server.requests == [("/v1/enroll", {"code": "GOOD-CODE"})]  # only the fleet


def test_refused_code_exits_5_and_writes_nothing(tmp_path, enrol_server):
    url = f"http://127.0.0.1:{enrol_server.server_address[1]}"
    cfg, key = tmp_path / "kiosk.toml", tmp_path / "fleet.key"
    done = kiosk("enroll", "USED-CODE", "--url", url, "--config", str(cfg), "--key-file", str(key))
    assert done.returncode == 5
    assert "enrolment refused" in done.stderr and "bad_code" in done.stderr
    assert not key.exists() and not cfg.exists()


def test_enrol_with_the_fleet_then_the_new_key_heartbeats(tmp_path, fleet_module):
    from kiosk.config import load_config
    from kiosk.ops.heartbeat import Heartbeat, TerminalFacts
    from kiosk.parts import fleet_client

    code = fleet_module.code(district="越秀区", hall="示例大厅")
    cfg, key = tmp_path / "kiosk.toml", tmp_path / "fleet.key"
    cfg.write_text('[terminal]\nmode = "test"\n')  # test mode: http:// to 127.0.0.1
    done = kiosk("enroll", code, "--url", fleet_module.url, "--config", str(cfg),
                 "--key-file", str(key))
    assert done.returncode == 0, done.stderr
    config = load_config(cfg)
    with fleet_client(config) as client:
        assert Heartbeat(client, TerminalFacts()).beat().sent
    from fleet import store

    row = fleet_module.read(lambda c: store.terminal_detail(
        c, config.fleet["terminal_id"], now=store.now()))
    assert (row["district"], row["hall"], row["status"]) == ("越秀区", "示例大厅", "online")
    again = kiosk("enroll", code, "--url", fleet_module.url, "--config", str(cfg),
                  "--key-file", str(tmp_path / "other.key"))
    assert again.returncode == 5 and "bad_code" in again.stderr  # single use
