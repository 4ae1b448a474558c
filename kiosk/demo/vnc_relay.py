"""Serve the demo's live kiosk over VNC on 127.0.0.1 only.

Qt's bundled vnc platform plugin listens on every interface and has no option to choose one,
so ``kiosk demo --vnc`` runs the kiosk in a network namespace of its own (which holds nothing
but a loopback) and this relay, in the machine's namespace, forwards 127.0.0.1:PORT into it.
A relay thread enters the kiosk's namespace with ``setns`` just long enough to connect: a
socket stays in the namespace it was made in.
"""

from __future__ import annotations

import ctypes
import logging
import os
import socket
import threading
import time

log = logging.getLogger(__name__)
CLONE_NEWNET = 0x40000000


def _connect_in_namespace(pid: int, port: int, timeout: float) -> socket.socket:
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    theirs = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        if libc.setns(theirs, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns into the kiosk's network namespace failed")
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    return socket.create_connection(("127.0.0.1", port), timeout=2)
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        finally:
            libc.setns(own, CLONE_NEWNET)
    finally:
        os.close(own)
        os.close(theirs)


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def relay(listen_port: int, pid: int, target_port: int, stop: threading.Event) -> None:
    """Forward 127.0.0.1:listen_port to 127.0.0.1:target_port inside ``pid``'s namespace."""
    with socket.create_server(("127.0.0.1", listen_port)) as server:
        server.settimeout(0.5)
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=_serve, args=(client, pid, target_port), daemon=True).start()


def _serve(client: socket.socket, pid: int, port: int) -> None:
    try:
        upstream = _connect_in_namespace(pid, port, timeout=30)
    except OSError as exc:
        log.error("VNC relay could not reach the kiosk: %s", exc)
        client.close()
        return
    upstream.settimeout(None)
    threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
    _pump(client, upstream)
