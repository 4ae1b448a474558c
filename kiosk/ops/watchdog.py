"""systemd readiness and watchdog (``sd_notify``) over ``$NOTIFY_SOCKET``, no dependency.

The unit is ``Type=notify`` with ``WatchdogSec=30``: systemd waits for READY=1 before it
counts the app as started, and kills and restarts it when WATCHDOG=1 stops coming — which is
what we want when the GUI thread hangs, so :meth:`Notifier.ping` must be called from the Qt
main loop (a timer), never from a helper thread that would keep beating while the screen is
frozen. Outside systemd (no ``NOTIFY_SOCKET``) every call is a no-op returning False.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


class Notifier:
    """One datagram socket to systemd; ``env`` is injectable for tests."""

    def __init__(self, env: dict[str, str] | None = None):
        env = dict(os.environ if env is None else env)
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # abstract namespace
            address = "\0" + address[1:]
        self._address = address or None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or (pid.isdigit() and int(pid) == os.getpid())
        self.watchdog_seconds = int(usec) / 1e6 if usec.isdigit() and int(usec) > 0 and mine else None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def ping_interval(self) -> float | None:
        """How often to :meth:`ping`: half the watchdog timeout, as systemd advises."""
        return self.watchdog_seconds / 2 if self.watchdog_seconds else None

    def send(self, *fields: str) -> bool:
        """Send ``KEY=VALUE`` lines; False (logged once per failure) when not under systemd."""
        if self._address is None:
            return False
        message = "\n".join(fields).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self._address)
                sock.sendall(message)
        except OSError as exc:
            log.warning("sd_notify %s failed: %s (errno %s)", fields[0], exc.strerror, exc.errno)
            return False
        return True

    def notify_ready(self, status: str = "attract screen shown") -> bool:
        return self.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def ping(self) -> bool:
        return self.send("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    def notify_stopping(self) -> bool:
        return self.send("STOPPING=1")


_default: Notifier | None = None


def _notifier() -> Notifier:
    global _default
    if _default is None:
        _default = Notifier()
    return _default


def notify_ready(status: str = "attract screen shown") -> bool:
    """Tell systemd the terminal is up (call once the first screen is painted)."""
    return _notifier().notify_ready(status)


def ping() -> bool:
    """Tell systemd the main loop is alive (call from a Qt timer every ``ping_interval()``)."""
    return _notifier().ping()
