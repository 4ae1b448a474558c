"""``kiosk demo`` with its fleet console: the demo kiosk is enrolled with the console that
``kiosk-fleet demo`` starts and heartbeats to it (URL, terminal id and key through the
demo's override config; the kiosk never imports fleet/), so the console's screenshots show
the demo terminal online with its devices, not enrolled and silent."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys

import pytest

from fleet import store
from fleet.db import make_engine
from kiosk.paths import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.mark.skipif(not shutil.which("chromedriver") or not shutil.which("chromium"),
                    reason="chromium / chromium-driver not installed")
def test_the_scripted_demo_kiosk_heartbeats_to_its_console(tmp_path):
    out = tmp_path / "demo-output"
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "KIOSK_CONFIG")}
    env["PYTHONUNBUFFERED"] = "1"
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "demo", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    found = re.search(r"(http://127\.0\.0\.1:\d+)/console/\s+\(login (\S+) / (\S+)\)",
                      done.stdout)
    assert found, done.stdout
    terminal = json.loads((out / "fleet" / "terminal.json").read_text())["terminal_id"]
    assert f"demo terminal {terminal} online" in done.stdout, done.stdout + done.stderr

    engine = make_engine(f"sqlite:///{out / 'fleet' / 'fleet.sqlite3'}")
    try:
        with engine.begin() as conn:
            row = store.terminal_detail(conn, terminal, now=store.now())
            # what the console showed when the kiosk had just beaten
            then = store.terminal_detail(conn, terminal, now=row["last_heartbeat_at"] + 1)
    finally:
        engine.dispose()
    assert row["last_heartbeat_at"] is not None, "the demo kiosk never heartbeat to the console"
    assert then["status"] == "online"
    assert row["software_version"] and row["catalog_version"] and row["screen"]
    assert {"idcard", "receipt_printer"} <= set(row["devices"])
    assert row["devices"]["receipt_printer"]["state"] == "ready"

    for name in ("fleet-list.png", "fleet-terminal.png"):
        shot = out / name
        assert shot.read_bytes().startswith(b"\x89PNG"), name
        assert stat.S_IMODE(shot.stat().st_mode) == 0o600
    key = out / "simulators" / "secrets" / "fleet.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
