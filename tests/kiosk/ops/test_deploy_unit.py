"""The systemd unit says what the watchdog code assumes, and systemd itself accepts it."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.paths import ROOT

UNIT = ROOT / "deploy" / "kiosk.service"


def test_unit_is_notify_with_watchdog_and_always_restarts():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(UNIT)
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert service["WatchdogSec"] == "30"
    assert service["Restart"] == "always"
    assert service["User"] == "kiosk"
    assert service["ExecStart"].endswith("kiosk run")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path):
    unit = tmp_path / "kiosk.service"
    text = UNIT.read_text().replace("/opt/kiosk/slots/current", str(Path(sys.executable).parents[1]))
    text = text.replace("/usr/lib/kiosk-terminal", str(ROOT / "kiosk" / "ops"))  # the slot guard
    unit.write_text(text.replace("/opt/kiosk", str(ROOT)))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
