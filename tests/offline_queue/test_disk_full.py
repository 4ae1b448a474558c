"""A disk filled to the brim by something else: the outbox still empties itself to central.

A real small filesystem (tmpfs with ``size=``, mounted for the test: we run as root; skipped
with the reason when mounting is not allowed) and a real HTTP central on 127.0.0.1. The
terminal restarted after the disk filled up, the hard case: SQLite must create its -shm and
-wal before it can even read.
"""

from __future__ import annotations

import errno
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from offline_queue import Outbox, OutboxFull
from offline_queue.sync import SyncWorker
from tests.fixtures.outbox import CentralDown, make_upload

KEY = bytes(range(32))
ROWS = 2000


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs",
                           str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Write until the filesystem says ENOSPC, down to the last byte."""
    filler = directory / "runaway.log"
    with open(filler, "wb", buffering=0) as f:
        for chunk in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
            while True:
                try:
                    f.write(b"\0" * chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    return filler


def queue(path: Path, rows: int = ROWS) -> None:
    with Outbox(path, key=KEY) as box:
        for start in range(0, rows, 100):
            box.put_many([("submission", {"i": i, "applicant": {"name": "测试人乙"},
                                          "pad": "y" * 300}, f"s-{i}")
                          for i in range(start, start + 100)])


@pytest.mark.expected_errors(r"upload of \d+ transactions failed", r"outbox sync pass failed")
def test_a_full_disk_still_empties_the_outbox_to_central(small_disk, dedup_central):
    path = small_disk / "outbox.sqlite"
    queue(path)
    fill(small_disk)
    with Outbox(path, key=KEY) as box:  # a restart on the full disk
        with pytest.raises(OutboxFull):
            box.put("submission", {"i": "one more"})  # still refused clearly ...
        report = SyncWorker(box, make_upload(dedup_central.url), batch_size=200,
                            unavailable=(CentralDown,)).sync_once(force=True)
        left = box.stats()
    assert report.sent == ROWS, report  # ... yet everything already queued reaches central
    assert left["pending"] == 0
    assert sorted(dedup_central.store) == sorted(f"s-{i}" for i in range(ROWS))
    assert dedup_central.store["s-7"]["payload"]["i"] == 7


def test_while_the_reserve_is_given_back_puts_do_not_eat_it(small_disk, dedup_central):
    path = small_disk / "outbox.sqlite"
    queue(path, rows=300)
    filler = fill(small_disk)
    with Outbox(path, key=KEY) as box:
        SyncWorker(box, make_upload(dedup_central.url), unavailable=(CentralDown,)
                   ).sync_once(force=True)
        assert box.stats()["pending"] == 0
        with pytest.raises(OutboxFull, match="kept for sending"):
            box.put("submission", {"i": "new"})
        os.truncate(filler, 0)  # the technician frees the disk: the outbox takes puts again
        box.put("submission", {"i": "new"})
        assert (small_disk / "outbox.sqlite.reserve").exists()


def test_the_log_reports_only_evictions_that_were_committed(small_disk, caplog):
    """The quota evicts telemetry inside the put's transaction; the full disk rolls it back."""
    path = small_disk / "outbox.sqlite"
    with Outbox(path, key=KEY, max_rows=500, reserve_bytes=0) as box:
        box.put_many([("telemetry", {"n": i, "pad": "t" * 200}) for i in range(500)])
        fill(small_disk)
        caplog.set_level(logging.WARNING, logger="offline_queue")
        caplog.clear()
        big = {"blob": os.urandom(2 << 20).hex()}  # needs pages the disk does not have
        with pytest.raises(OutboxFull):
            box.put("submission", big)
        gone = 500 - box.stats()["by_stream"]["telemetry"]["ready"]
    logged = sum(n for r in caplog.records if "evicted" in r.getMessage()  # args: the dict
                 for n in (r.args if isinstance(r.args, dict) else r.args[0]).values())
    assert logged == gone, f"the log says {logged} telemetry rows were evicted, {gone} are gone"
