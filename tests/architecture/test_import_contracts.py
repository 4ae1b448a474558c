"""The layer rules of ../shared/DESIGN.md are import-linter contracts (setup.cfg), checked by
``make lint``. These tests run ``lint-imports`` on a scratch copy of the tree and break one
rule at a time, so a contract that silently stopped checking anything fails here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kiosk", "screens", "drivers", "offline_queue", "simulators", "fleet")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    for name in PACKAGES:
        shutil.copytree(ROOT / name, root / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.qss", "cards"))
    shutil.copy(ROOT / "setup.cfg", root / "setup.cfg")
    return root


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def broken(scratch: Path, tmp_path: Path, path: str, line: str) -> str:
    """A copy of the scratch tree with ``line`` added to ``path``; lint-imports' report."""
    root = tmp_path / "tree"
    shutil.copytree(scratch, root)
    target = root / path
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    result = lint(root)
    assert result.returncode != 0, f"{path} + {line!r} was not caught:\n{result.stdout}"
    return result.stdout


def test_the_tree_keeps_every_contract(scratch):
    result = lint(scratch)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_driver_importing_qt_is_caught(scratch, tmp_path):
    out = broken(scratch, tmp_path, "drivers/base.py", "import PySide6.QtCore")
    assert "drivers/ and offline_queue/ import neither Qt" in out.replace("\n", " ")


def test_the_core_importing_the_app_is_caught(scratch, tmp_path):
    out = broken(scratch, tmp_path, "kiosk/visit/flow.py", "import kiosk.app.kiosk_app")
    assert "kiosk.visit is not allowed to import kiosk.app" in out


def test_qt_outside_the_app_is_caught(scratch, tmp_path):
    out = broken(scratch, tmp_path, "kiosk/ops/heartbeat.py", "import PySide6.QtCore")
    assert "only kiosk/app/ and kiosk/demo/ import Qt" in out.replace("\n", " ")


def test_a_screen_bypassing_the_qt_shim_is_caught(scratch, tmp_path):
    out = broken(scratch, tmp_path, "screens/home.py", "from PySide6.QtWidgets import QLabel")
    assert "screens/ import Qt only through screens/qt.py" in out.replace("\n", " ")


def test_the_product_importing_a_simulator_is_caught(scratch, tmp_path):
    out = broken(scratch, tmp_path, "kiosk/demo/rig.py", "import simulators.idcard")
    assert "kiosk.demo.rig -> simulators.idcard" in out


def test_a_simulator_importing_the_product_is_caught(scratch, tmp_path):
    out = broken(scratch, tmp_path, "simulators/idcard.py", "import drivers.ga467")
    assert "simulators is not allowed to import drivers" in out


def test_an_import_cycle_is_caught(scratch, tmp_path):
    # steps.py is imported by gates.py; importing gates back closes a circle inside visit/
    out = broken(scratch, tmp_path, "kiosk/visit/steps.py", "import kiosk.visit.gates")
    assert "No import cycles" in out


def test_fleet_importing_terminal_code_is_caught(scratch, tmp_path):
    out = broken(scratch, tmp_path, "fleet/store.py", "import kiosk.central.signing")
    assert "fleet/ (central's service) imports no terminal code" in out.replace("\n", " ")


def test_the_terminal_importing_fleet_is_caught(scratch, tmp_path):
    out = broken(scratch, tmp_path, "kiosk/ops/heartbeat.py", "import fleet.store")
    assert "never imports fleet/" in out.replace("\n", " ")
