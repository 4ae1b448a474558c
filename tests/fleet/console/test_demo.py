"""``kiosk-fleet demo`` (what ``kiosk demo`` starts beside the kiosk): the console on the
SQLite default with the demo terminal enrolled, its URL and a working operator login
printed, screenshots of the fleet list and the terminal's page from headless Chromium,
written private like the rest of demo-output/."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess

import pytest

from fleet import store
from fleet.db import make_engine

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
