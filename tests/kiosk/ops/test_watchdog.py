"""sd_notify over a real unix datagram socket standing in for systemd's NOTIFY_SOCKET."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from kiosk.ops.watchdog import Notifier


@pytest.fixture
def systemd_socket(tmp_path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    try:
        yield path, sock
    finally:
        sock.close()


def test_ready_and_watchdog_datagrams(systemd_socket):
    path, sock = systemd_socket
    notifier = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "30000000"})
    assert notifier.enabled and notifier.ping_interval() == 15.0
    assert notifier.notify_ready()
    assert sock.recv(4096) == f"READY=1\nSTATUS=attract screen shown\nMAINPID={os.getpid()}".encode()
    assert notifier.ping()
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert notifier.notify_stopping()
    assert sock.recv(4096) == b"STOPPING=1"


def test_abstract_namespace_socket():
    name = f"kiosk-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).ping()
        assert sock.recv(100) == b"WATCHDOG=1"


def test_module_functions_in_a_child_process_as_systemd_runs_it(systemd_socket):
    path, sock = systemd_socket
    code = "from kiosk.ops import watchdog; assert watchdog.notify_ready(); assert watchdog.ping()"
    env = {**os.environ, "NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "30000000"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=30)
    assert sock.recv(4096).startswith(b"READY=1\n")
    assert sock.recv(4096) == b"WATCHDOG=1"


def test_outside_systemd_everything_is_a_quiet_no_op():
    notifier = Notifier({})
    assert not notifier.enabled and notifier.ping_interval() is None
    assert notifier.notify_ready() is False and notifier.ping() is False


def test_watchdog_meant_for_another_pid_is_ignored():
    notifier = Notifier({"NOTIFY_SOCKET": "/nonexistent", "WATCHDOG_USEC": "30000000",
                         "WATCHDOG_PID": "1"})
    assert notifier.ping_interval() is None


def test_missing_socket_is_logged_not_raised(tmp_path, caplog):
    assert Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}).ping() is False
    assert "sd_notify WATCHDOG=1 failed" in caplog.text
