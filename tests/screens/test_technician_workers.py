"""Technician checks and test actions run on the app's workers: while one waits on a slow
central (a real HTTP server on 127.0.0.1 that answers only when the test lets it), the
screen says 检查中 with its buttons waiting, and the GUI thread keeps running."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PySide6.QtCore import QTimer

from kiosk.app.bridge import Bridge
from kiosk.ops.console import TechnicianConsole
from kiosk.ops.doctor import Check
from kiosk.ops.technician import TechnicianAccess
from screens.qt import QLabel, Qt
from screens.technician import CHECKING, TechnicianScreen

PIN = "246813"


class SlowCentral:
    """Answers each request only once ``answer`` is set (at the latest after 15 s)."""

    def __init__(self) -> None:
        self.answer = threading.Event()
        self.arrived = threading.Semaphore(0)
        self.requests = 0
        central = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                central.requests += 1
                central.arrived.release()
                central.answer.wait(15)
                body = b'{"status": "up"}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/updates"

    def get(self) -> str:
        with urllib.request.urlopen(self.url, timeout=30) as reply:
            return f"HTTP {reply.status} {reply.read().decode()}"


@pytest.fixture
def central() -> Iterator[SlowCentral]:
    central = SlowCentral()
    thread = threading.Thread(target=central.server.serve_forever, name="slow-central", daemon=True)
    thread.start()
    yield central
    central.answer.set()
    central.server.shutdown()
    central.server.server_close()
    thread.join(5)


@pytest.fixture
def screen(qtbot, tmp_path, central):
    access = TechnicianAccess(tmp_path / "tech.json")
    access.set_pin(PIN)
    console = TechnicianConsole(
        access, checks=lambda: [Check("central", "central", True, central.get())],
        actions={"中心连通 Central": central.get})
    bridge = Bridge()
    widget = TechnicianScreen(console, run_async=bridge.run_async)
    widget.resize(1080, 1920)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    central.answer.set()
    bridge.shutdown()


class Ticks:
    """A GUI-thread timer's ticks: they stop whenever the GUI thread is blocked."""

    def __init__(self) -> None:
        self.count = 0
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        self.count += 1


def lines(widget) -> list[str]:
    return [widget.check_box.itemAt(i).widget().text() for i in range(widget.check_box.count())]


def test_checks_wait_on_a_worker_and_the_screen_says_checking(qtbot, screen, central):
    for digit in PIN:
        qtbot.mouseClick(screen.keys[digit], Qt.LeftButton)
    qtbot.mouseClick(screen.keys["✓"], Qt.LeftButton)  # returns at once: the check is on a worker
    assert central.answer.is_set() is False
    assert screen.pages.currentIndex() == 1
    assert lines(screen) == [CHECKING]
    assert screen.findChild(QLabel, "checking") is not None
    assert not screen.recheck_button.isEnabled()
    assert central.arrived.acquire(timeout=10)  # the worker is waiting on central
    ticks = Ticks()
    qtbot.waitUntil(lambda: ticks.count >= 5, timeout=5000)  # the GUI thread keeps running
    assert not central.answer.is_set() and lines(screen) == [CHECKING]
    central.answer.set()
    qtbot.waitUntil(lambda: lines(screen) == ['✔ central: HTTP 200 {"status": "up"}'], timeout=10000)
    assert screen.recheck_button.isEnabled()


def test_a_test_action_waits_on_a_worker_with_its_buttons_disabled(qtbot, screen, central):
    assert screen.console.attempt(PIN).ok
    central.answer.set()  # the first checks pass quickly
    screen.pages.setCurrentIndex(1)
    screen.show_checks()
    qtbot.waitUntil(lambda: not screen.busy, timeout=10000)
    central.answer.clear()
    central.arrived.acquire(timeout=1)
    button = screen.findChild(type(screen.recheck_button), "action_中心连通 Central")
    qtbot.mouseClick(button, Qt.LeftButton)
    assert screen.action_result.text() == f"{CHECKING} 中心连通 Central"
    assert not button.isEnabled() and not screen.recheck_button.isEnabled()
    assert central.arrived.acquire(timeout=10)
    ticks = Ticks()
    qtbot.waitUntil(lambda: ticks.count >= 5, timeout=5000)
    qtbot.mouseClick(screen.recheck_button, Qt.LeftButton)  # disabled: no second run
    assert central.requests == 2
    central.answer.set()
    qtbot.waitUntil(lambda: screen.action_result.text().startswith("✔ 中心连通 Central: HTTP 200"),
                    timeout=10000)
    assert button.isEnabled() and screen.recheck_button.isEnabled()
