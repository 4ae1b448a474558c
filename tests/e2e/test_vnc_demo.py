"""``kiosk demo --vnc``: the live kiosk answers VNC on 127.0.0.1 and on no other address
of this machine, and stopping the demo leaves no process behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listeners(port: int) -> list[str]:
    """Local addresses listening on ``port`` in this network namespace (/proc/net/tcp*)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            for line in fh.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hexport = local.split(":")
                if state == "0A" and int(hexport, 16) == port:
                    found.append(address)
    return found


def pgrep(pattern: str) -> str:
    """Pids of processes whose command line holds ``pattern``, one a line ("" for none)."""
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.strip()


@pytest.mark.skipif(os.geteuid() != 0, reason="a network namespace needs root (CI runs as root)")
def test_vnc_is_served_on_loopback_only(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "demo", "--vnc", "--vnc-port",
                             str(port), "--out", str(tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        banner = b""
        while time.monotonic() < deadline and not banner:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                    banner = s.recv(12)
            except OSError:
                time.sleep(0.05)  # not listening yet: the demo is still starting
        assert banner.startswith(b"RFB "), banner
        assert listeners(port) == ["0100007F"]  # 127.0.0.1, nothing on 0.0.0.0 or ::
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    # the demo's own children get SIGTERM as it exits; any still running after that had
    # their moment are left behind
    deadline = time.monotonic() + 5
    while (leftover := pgrep(f"--vnc-port {port}")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftover == ""
