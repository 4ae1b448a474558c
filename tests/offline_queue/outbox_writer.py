"""Child process for the crash tests (run as a script, killed with SIGKILL at random moments).

``put TRIAL DB`` puts deterministic transactions and prints each key only after put returned.
``sync DB URL`` drains the outbox to a dedup central until told to die.
The terminal key is the fixed test key; payloads derive from the key so the parent can check
what arrived.
"""

from __future__ import annotations

import sys

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


if __name__ == "__main__":
    if sys.argv[1] == "put":
        run_put(int(sys.argv[2]), sys.argv[3])
    else:
        run_sync(sys.argv[2], sys.argv[3])
