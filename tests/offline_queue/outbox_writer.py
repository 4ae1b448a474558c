"""Child process for the crash tests (run as a script, killed with SIGKILL at random moments).

``put TRIAL DB`` puts deterministic transactions and prints each key only after put returned.
``sync DB URL`` drains the outbox to a dedup central until told to die.
``serve FD`` forks one such child per request on the unix socket FD (see :func:`serve`).
The terminal key is the fixed test key; payloads derive from the key so the parent can check
what arrived.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import traceback

from offline_queue import Outbox
from offline_queue.sync import SyncWorker

STREAMS = ("submission", "evaluation", "appointment", "audit", "telemetry")
TEST_KEY = bytes(range(32))


def payload_for(trial: int, i: int) -> dict:
    return {"trial": trial, "i": i, "applicant": {"name": "测试人甲"}, "pad": "x" * (i % 97)}


def stream_for(i: int) -> str:
    return STREAMS[i % 5]


def run_put(trial: int, db: str) -> None:
    with Outbox(db, key=TEST_KEY) as box:
        print("open", flush=True)
        i = 0
        while True:
            if i % 7 == 6:  # a burst in one commit
                keys = box.put_many([(stream_for(j), payload_for(trial, j), f"t{trial}-{j}")
                                     for j in range(i, i + 3)])
                i += 3
            else:
                keys = [box.put(stream_for(i), payload_for(trial, i), key=f"t{trial}-{i}")]
                i += 1
            print("\n".join(keys), flush=True)


def run_sync(db: str, url: str) -> None:
    sys.path.insert(0, ".")
    from tests.fixtures.outbox import CentralDown, make_upload

    with Outbox(db, key=TEST_KEY) as box:
        worker = SyncWorker(box, make_upload(url), batch_size=20, unavailable=(CentralDown,))
        print("open", flush=True)
        while True:
            worker.sync_once(force=True)


def run(args: list[str]) -> None:
    if args[0] == "put":
        run_put(int(args[1]), args[2])
    else:
        run_sync(args[1], args[2])


def serve(sock_fd: int) -> None:
    """Fork a ``put``/``sync`` child per request, so each starts with the outbox code already
    imported: a cold interpreter costs ~0.25 s, and the crash tests start 58 of them. A request
    is the child's words with its stdout and stderr pipe ends attached (SCM_RIGHTS); the
    answer is its pid. The parent kills the child itself; the kernel reaps it. Ends at EOF."""
    sys.path.insert(0, ".")
    import tests.fixtures.outbox  # noqa: F401  (what run_sync imports, before any fork)

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    sock = socket.socket(fileno=sock_fd)
    while True:
        msg, fds, _, _ = socket.recv_fds(sock, 4096, 2)
        if not msg:
            return
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.dup2(fds[0], 1)
                os.dup2(fds[1], 2)
                for fd in fds:
                    os.close(fd)
                run(msg.decode().split())
            except BaseException:
                traceback.print_exc()
                sys.stderr.flush()
            finally:
                os._exit(1)
        for fd in fds:
            os.close(fd)
        sock.sendall(b"%d\n" % pid)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        run(sys.argv[1:])
