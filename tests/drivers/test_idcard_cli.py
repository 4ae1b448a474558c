"""``kiosk idcard`` as a technician runs it: a subprocess against the simulator's pty."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest

from kiosk.cli.idcard import JSON_KEYS
from tests.fixtures.idcard import card_path


def kiosk_idcard(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "idcard", *args],
                          capture_output=True, text=True, timeout=60)


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
