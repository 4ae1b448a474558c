"""``kiosk doctor`` and ``kiosk config`` as a technician runs them: real processes, real sims."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from offline_queue import Outbox
from tests.fixtures.procs import start_sim

KIOSK = [sys.executable, "-m", "kiosk.cli"]


def kiosk(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "KIOSK_CONFIG"}
    full_env.update(env or {})
    return subprocess.run([*KIOSK, *args], capture_output=True, text=True, timeout=60, env=full_env)


def write_override(path, central_url: str, outbox: str, printer: str = "") -> None:
    path.write_text(
        '[terminal]\nmode = "test"\n'  # the demo terminal's key and id (config/demo.toml)
        "[central]\n"
        f'url = "{central_url}"\n'
        "[devices]\n"
        'idcard = ""\n'
        f'receipt_printer = "{printer}"\n'
        "[outbox]\n"
        f'path = "{outbox}"\n', encoding="utf-8")


@pytest.fixture
def printer_sim(tmp_path):
    proc = start_sim(["printer", "--listen", "127.0.0.1:0", "--out", str(tmp_path / "jobs")])
    try:
        yield proc
    finally:
        proc.stop()


def test_doctor_passes_with_a_ready_printer_and_central(tmp_path, central_sim, printer_sim):
    central_sim.reset()
    cfg = tmp_path / "kiosk.toml"
    write_override(cfg, central_sim.url, str(tmp_path / "var" / "outbox.sqlite"),
                   f"tcp://{printer_sim.address}")
    result = kiosk("doctor", "--json", "--config", str(cfg))
    report = json.loads(result.stdout)
    assert result.returncode == 0, report
    names = {c["name"]: c for c in report["checks"]}
    assert names["device:receipt_printer"]["ok"]
    assert names["central"]["ok"] and names["disk"]["ok"] and names["outbox"]["ok"]


def test_doctor_names_central_down_and_exits_5(tmp_path):
    cfg = tmp_path / "kiosk.toml"
    write_override(cfg, "http://127.0.0.1:9", str(tmp_path / "outbox.sqlite"))
    result = kiosk("doctor", "--config", str(cfg))
    assert result.returncode == 5
    assert "FAIL central: CentralUnavailable" in result.stdout
    assert result.stdout.strip().endswith("1 problem(s): central")


def test_doctor_reports_dead_outbox_items(tmp_path, central_sim):
    central_sim.reset()
    box_path = tmp_path / "outbox.sqlite"
    with Outbox(box_path) as box:
        key = box.put("evaluation", {"rating": 5})
        box.claim(10)
        box.mark_dead({key: "rejected by central: bad rating"})
    cfg = tmp_path / "kiosk.toml"
    write_override(cfg, central_sim.url, str(box_path))
    result = kiosk("doctor", "--config", str(cfg))
    assert result.returncode == 1
    assert "FAIL outbox: 0 waiting; 1 dead (rejected by central: bad rating)" in result.stdout


def test_doctor_device_fault_exits_4(tmp_path):
    cfg = tmp_path / "kiosk.toml"
    write_override(cfg, "http://127.0.0.1:9", str(tmp_path / "o.sqlite"), "tcp://127.0.0.1:9")
    result = kiosk("doctor", "--json", "--config", str(cfg), "--settle", "1")
    assert result.returncode == 4
    report = json.loads(result.stdout)
    assert not {c["name"]: c for c in report["checks"]}["device:receipt_printer"]["ok"]


def test_config_set_writes_validated_toml_and_get_reads_it(tmp_path):
    cfg = tmp_path / "override.toml"
    env = {"KIOSK_CONFIG": str(cfg)}
    assert kiosk("config", "set", "terminal.mode", "test", env=env).returncode == 0  # demo key
    assert kiosk("config", "set", "session.idle_timeout", "90", env=env).returncode == 0
    assert kiosk("config", "set", "terminal.hall", '天河区 "东" 服务点', env=env).returncode == 0
    assert kiosk("config", "set", "ui.voice", "false", env=env).returncode == 0
    assert kiosk("config", "get", "session.idle_timeout", env=env).stdout.strip() == "90.0"
    assert kiosk("config", "get", "terminal.hall", env=env).stdout.strip() == '天河区 "东" 服务点'
    assert kiosk("config", "get", "ui.voice", env=env).stdout.strip() == "false"
    # the shipped default is untouched
    assert kiosk("config", "get", "ui.voice").stdout.strip() == "true"
    assert kiosk("config", "validate", str(cfg)).returncode == 0


def test_config_set_refuses_a_bad_value_and_keeps_the_file(tmp_path):
    cfg = tmp_path / "override.toml"
    cfg.write_text('[ui]\nlanguage = "en"\n')
    before = cfg.read_bytes()
    result = kiosk("config", "set", "ui.language", "fr", "--config", str(cfg))
    assert result.returncode == 2
    assert "language = 'fr' is not allowed; expected one of zh_CN, zh_HK, en" in result.stderr
    assert str(cfg) in result.stderr
    assert cfg.read_bytes() == before
    bad_type = kiosk("config", "set", "screen.width", "wide", "--config", str(cfg))
    assert bad_type.returncode == 2 and "width" in bad_type.stderr
    unknown = kiosk("config", "set", "ui.colour", "red", "--config", str(cfg))
    assert unknown.returncode == 2 and "unknown key 'colour'" in unknown.stderr


def test_config_set_without_an_override_file_never_touches_defaults():
    result = kiosk("config", "set", "ui.voice", "false")
    assert result.returncode == 2 and "--config" in result.stderr


def test_config_validate_gives_one_line_and_exit_2(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[screen]\nwidth = -5\n")
    result = kiosk("config", "validate", str(cfg))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "width = -5 is not allowed" in lines[0]
