"""``kiosk idcard`` as a technician runs it: a subprocess against the simulator's pty."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time

import pytest

from kiosk.cli.idcard import JSON_KEYS
from tests.fixtures.idcard import IdCardSim, card_path


def kiosk_idcard(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "idcard", *args],
                          capture_output=True, text=True, timeout=40)


@pytest.mark.parametrize("card", ["resident", "resident_longterm", "hmt_residence",
                                  "foreign_permanent"])
def test_json_output_has_exactly_the_contract_keys(idcard_sim, card):
    idcard_sim.place(card)
    done = kiosk_idcard("--uri", idcard_sim.uri, "--json", "--timeout", "5")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert tuple(data) == JSON_KEYS
    want = json.loads(card_path(card).read_text(encoding="utf-8"))
    assert {k: v for k, v in data.items() if k != "photo_wlt"} == \
        {k: v for k, v in want.items() if k != "photo_wlt"}
    assert len(base64.b64decode(data["photo_wlt"])) == 1024


def test_human_summary_is_masked(idcard_sim):
    idcard_sim.place("resident")
    done = kiosk_idcard("--uri", idcard_sim.uri, "--timeout", "5")
    assert done.returncode == 0, done.stderr
    assert "440104********0020" in done.stdout
    assert "林**" in done.stdout
    assert "440104198503120020" not in done.stdout
    assert "林晓梅" not in done.stdout and "东风中路" not in done.stdout


def test_no_card_exits_3_with_one_line(idcard_sim):
    done = kiosk_idcard("--uri", idcard_sim.uri, "--json", "--timeout", "0.5")
    assert done.returncode == 3
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("fault", "cause"), [
    ("bad_checksum", "checksum"),
    ("truncate", "truncated"),
    ("sam_error", "0x60"),
])
def test_protocol_faults_exit_4_naming_the_cause(idcard_sim, fault, cause):
    idcard_sim.place("resident")
    idcard_sim.fault(fault)
    done = kiosk_idcard("--uri", idcard_sim.uri, "--json", "--timeout", "2")
    assert done.returncode == 4
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and cause in lines[0]
    assert done.stdout == ""


def test_missing_port_exits_4(tmp_path):
    done = kiosk_idcard("--uri", f"serial://{tmp_path}/ttyNONE?baud=115200", "--timeout", "1")
    assert done.returncode == 4
    assert "port_missing" in done.stderr and "ttyNONE" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_expired_card_exits_4_with_the_date(idcard_sim):
    idcard_sim.place("resident_expired")
    done = kiosk_idcard("--uri", idcard_sim.uri, "--json", "--timeout", "5")
    assert done.returncode == 4
    assert "2024-06-01" in done.stderr


def test_timeout_holds_at_a_low_baud_rate(tmp_path):
    """At 50 baud one read reply takes 260 s on the wire and the per-frame timeout stretches
    with it; ``--timeout 1.5`` must still end the read (typed timeout, exit 3) and let go of the
    port, which the simulator reports as ``hangup``. The subprocess bound only guards the run:
    the old code sat in the SAM check for 13 s per frame and in the read for minutes."""
    sim = IdCardSim(tmp_path / "ttySLOW", ["--pace", "--baud", "50"])
    try:
        sim.place("resident")
        done = kiosk_idcard("--uri", f"serial://{sim.link}?baud=50", "--json", "--timeout", "1.5")
        assert done.returncode == 3, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "timeout" in lines[0]
        assert done.stdout == ""
        assert sim.proc is not None
        deadline = time.monotonic() + 10
        while "hangup" not in sim.proc.lines and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "hangup" in sim.proc.lines
    finally:
        sim.stop()


def test_info_names_reader_transport_sam_and_photo_decoder(idcard_sim):
    done = kiosk_idcard("--uri", idcard_sim.uri, "--info")
    assert done.returncode == 0, done.stderr
    assert f"reader:      serial {idcard_sim.link} at 115200 baud" in done.stdout
    assert "SAM id:      0501000000000000000000000000002a" in done.stdout
    assert "photo:       no WLT photo decoder configured" in done.stdout


def test_info_without_a_reader_exits_4_saying_why(tmp_path):
    done = kiosk_idcard("--uri", f"serial://{tmp_path}/ttyNONE", "--info")
    assert done.returncode == 4
    assert "not read (port_missing" in done.stdout
