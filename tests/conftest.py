"""Shared test set-up: Qt runs offscreen, and every module in tests/fixtures/ is a plugin
(one per simulator or service: central, idcard, printer, pcsc, cups …).

Every test also fails when the code under test logs an ERROR or CRITICAL record it did not
announce, or when a GUI callback raises (the bridge logs and swallows those so the kiosk
carries on; a test must not). A test that provokes an error on purpose says which:
``@pytest.mark.expected_errors(r"regex", …)`` or ``expect_errors(r"regex")`` — each record's
message and traceback must match one of the patterns (``re.search``).
"""

from __future__ import annotations

import logging
import os
import pathlib
import re
import traceback
from collections.abc import Callable, Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("KIOSK_SPEECH", "off")  # tests capture speech explicitly when they need it

pytest_plugins = sorted(
    f"tests.fixtures.{p.stem}"
    for p in (pathlib.Path(__file__).parent / "fixtures").glob("*.py")
    if p.stem not in ("__init__", "procs", "virtual_reader")  # helpers without fixtures
)


class _ErrorWatch(logging.Handler):
    """Collects ERROR+ records from every logger, and GUI callbacks' exceptions."""

    def __init__(self, patterns: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.patterns = [re.compile(p) for p in patterns]
        self.unexpected: list[str] = []

    def expect(self, *patterns: str) -> None:
        self.patterns.extend(re.compile(p) for p in patterns)

    def _check(self, text: str) -> None:
        if not any(p.search(text) for p in self.patterns):
            self.unexpected.append(text)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = f"{record.levelname} {record.name}: {record.getMessage()}"
        except Exception:  # a bad format string is an error in itself; report it as logged
            text = f"{record.levelname} {record.name}: {record.msg!r} % {record.args!r}"
        if record.exc_info and record.exc_info[0] is not None:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        elif record.exc_text:
            text += "\n" + record.exc_text
        self._check(text)

    def callback_raised(self, exc: BaseException) -> None:
        # the bridge logged it too; this copy makes sure a test sees it even with logging off
        text = "GUI callback raised\n" + "".join(traceback.format_exception(exc))
        self._check(text)


@pytest.fixture(autouse=True)
def _fail_on_unexpected_errors(request: pytest.FixtureRequest) -> Iterator[_ErrorWatch]:
    patterns = [p for m in request.node.iter_markers("expected_errors") for p in m.args]
    watch = _ErrorWatch(patterns)
    root = logging.getLogger()
    root.addHandler(watch)
    remove_hook: Callable[[], None] | None = None
    try:
        from kiosk.app.bridge import on_callback_error  # Qt; absent in a Qt-free run
    except ImportError:
        pass
    else:
        remove_hook = on_callback_error(watch.callback_raised)
    try:
        yield watch
    finally:
        root.removeHandler(watch)
        if remove_hook is not None:
            remove_hook()
    if watch.unexpected:
        shown = "\n---\n".join(u[-3000:] for u in watch.unexpected[:5])
        pytest.fail(f"{len(watch.unexpected)} unexpected error(s) logged or raised in a GUI "
                    f"callback (mark the test expected_errors if they are the point):\n{shown}",
                    pytrace=False)


@pytest.fixture
def expect_errors(_fail_on_unexpected_errors: _ErrorWatch) -> Callable[..., None]:
    """``expect_errors(r"regex", …)``: these ERROR records are what this test provokes."""
    return _fail_on_unexpected_errors.expect
