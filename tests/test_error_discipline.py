"""The suite's own rule (tests/conftest.py): a test fails when the code logs an ERROR it did
not announce or a GUI callback raises, even though the bridge keeps the kiosk running."""

import os
import subprocess
import sys
import textwrap

from kiosk.paths import ROOT

INNER = '''
import logging

import pytest

from kiosk.app.bridge import Bridge


def test_logs_an_unexpected_error():
    logging.getLogger("drivers.printer").error("paper jam on %s", "receipt")


@pytest.mark.expected_errors(r"paper jam")
def test_logs_the_error_it_announces():
    logging.getLogger("drivers.printer").error("paper jam on %s", "receipt")


def test_says_at_run_time_which_error_it_provokes(expect_errors):
    expect_errors(r"cover open")
    logging.getLogger("drivers.printer").critical("cover open")


def test_a_gui_callback_raises(qtbot):
    bridge = Bridge(workers=1)
    ran = []

    def callback():
        ran.append(True)
        raise ValueError("bad state in callback")

    bridge.post(callback)
    qtbot.waitUntil(lambda: ran)
    bridge.shutdown()


def test_a_warning_is_not_an_error():
    logging.getLogger("kiosk.central").warning("central slow")
'''

CONFTEST = '''
from tests.conftest import _fail_on_unexpected_errors, expect_errors  # noqa: F401


def pytest_configure(config):
    config.addinivalue_line("markers", "expected_errors(*patterns): announced errors")
'''


def test_unexpected_errors_and_raising_callbacks_fail_the_test(tmp_path):
    (tmp_path / "conftest.py").write_text(textwrap.dedent(CONFTEST))
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER))
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
                          "-p", "no:rerunfailures", "-p", "no:randomly", str(tmp_path)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    report = out.stdout
    assert "ERROR test_inner.py::test_logs_an_unexpected_error" in report, report
    assert "paper jam on receipt" in report
    assert "ERROR test_inner.py::test_a_gui_callback_raises" in report, report
    assert "bad state in callback" in report
    for name in ("test_logs_the_error_it_announces", "test_says_at_run_time_which_error_it_provokes",
                 "test_a_warning_is_not_an_error"):
        assert f"PASSED test_inner.py::{name}" in report, report
