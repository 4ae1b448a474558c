"""Demo output (screenshots of a visit, the printed receipt) shows a resident, synthetic or
not: it is written 0600 in 0700 directories whatever the umask the command runs under."""

import os
import stat
import subprocess
import sys

import pytest

from kiosk.demo.rig import reset_dir
from kiosk.paths import ROOT


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_demo_output_dir_is_private_whatever_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        out = reset_dir(tmp_path / "demo-output")
    finally:
        os.umask(old)
    assert _mode(out) == 0o700


@pytest.mark.slow
def test_screenshot_is_written_0600_under_a_loose_umask(tmp_path):
    shot = tmp_path / "shots" / "home.png"
    shot.parent.mkdir()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "kiosk.cli", "screenshot", "--screen", "home",
                          "--out", str(shot)], cwd=ROOT, env=env, umask=0o000,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert _mode(shot) == 0o600
