"""READY=1 reaches systemd (a real unix datagram socket as $NOTIFY_SOCKET) only once the
kiosk window is on screen and its first screen painted, as deploy/kiosk.service promises."""

from __future__ import annotations

import socket

import pytest

from kiosk.app.kiosk_app import KioskApp
from kiosk.demo.rig import DemoRig


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    rig = DemoRig(tmp_path_factory.mktemp("rig"), mode="test").start(devices=False, camera=None)
    yield rig
    rig.stop()


@pytest.fixture
def systemd(tmp_path, monkeypatch):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    received: list[bytes] = []

    def datagrams() -> list[bytes]:
        while True:
            try:
                received.append(sock.recv(4096))
            except BlockingIOError:
                return received

    yield datagrams
    sock.close()


def make_app(rig, tmp_path, fleet=None) -> KioskApp:
    """The real app; with ``fleet`` enrolled there, so its heartbeats have somewhere to go."""
    config = rig.config(ops={"technician_state": str(tmp_path / "tech.json")})
    if fleet is not None:
        config = fleet.enrol(config, tmp_path / "fleet.key")
    return KioskApp(config, tick_ms=100)


def test_a_window_never_shown_never_tells_systemd_it_is_ready(rig, tmp_path, qtbot, systemd,
                                                               fleet_module):
    app = make_app(rig, tmp_path, fleet_module)
    try:
        app.start(show=False)  # operations run, nothing is on screen
        qtbot.waitUntil(lambda: app.ops.heartbeat.last is not None, timeout=10000)
        assert not any(d.startswith(b"READY=1") for d in systemd())
    finally:
        app.stop()


def test_ready_only_after_the_window_is_shown_and_painted(rig, tmp_path, qtbot, systemd):
    app = make_app(rig, tmp_path)
    painted: list[bool] = []
    seen_at_paint: list[int] = []
    app.window.first_painted.connect(lambda: (painted.append(app.window.isVisible()),
                                              seen_at_paint.append(len(systemd()))))
    try:
        app.start(show=True)
        qtbot.waitUntil(lambda: any(d.startswith(b"READY=1") for d in systemd()), timeout=10000)
        assert painted == [True]  # shown and painted first …
        assert seen_at_paint == [0]  # … and nothing had reached systemd before
        assert [d for d in systemd() if d.startswith(b"READY=1")] == [systemd()[0]]
    finally:
        app.stop()
