"""A wrong key or value stops start-up with one line naming file, key and what is allowed."""

import os
import subprocess
import sys

import pytest

from kiosk.config import DEMO_FILE, ConfigError, in_language, load_config, startup_problems
from kiosk.paths import ROOT
from tests.fixtures.kiosk_config import TEST_MODE


def write(tmp_path, text):
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_load():
    config = load_config()
    assert config.session["idle_timeout"] > 0 and config.ui["language"] == "zh_CN"


def test_override_changes_only_its_keys(tmp_path):
    config = load_config(write(tmp_path, '[session]\nidle_timeout = 90\n'))
    assert config.session["idle_timeout"] == 90.0 and config.session["countdown"] == 20.0


@pytest.mark.parametrize("text, needle", [
    ('[session]\nidel_timeout = 5\n', "[session] unknown key 'idel_timeout'; allowed: idle_timeout"),
    ('[ui]\nlanguage = "fr"\n', "[ui] language = 'fr' is not allowed; expected one of zh_CN, zh_HK, en"),
    ('[screen]\nwidth = "wide"\n', "[screen] width = 'wide' is not allowed"),
    ('[printer]\nx = 1\n', "unknown section [printer]"),
    ('[devices]\nidcard = "/dev/ttyUSB0"\n', "[devices] idcard = '/dev/ttyUSB0' is not allowed"),
    ('[session\n', "not valid TOML"),
    ('[terminal]\nhall_en = 5\n', "[terminal] hall_en = 5 is not allowed"),
    ('[terminal]\nhall_fr = "Centre"\n', "[terminal] unknown key 'hall_fr'"),
])
def test_bad_values_name_file_key_and_allowed(tmp_path, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(str(path)) and needle in str(err.value)


def test_hall_texts_per_language_fall_back_to_the_simplified_text(tmp_path):
    config = load_config(write(tmp_path, '[terminal]\nhall = "示例中心"\nhall_en = "Example Centre"\n'
                                         'hall_zh_HK = ""\n'))
    terminal = config.terminal
    assert in_language(terminal, "hall", "en") == "Example Centre"
    assert in_language(terminal, "hall", "zh_HK") == "示例中心"  # not set: the 简体 name
    assert in_language(terminal, "hall", "zh_CN") == "示例中心"


def test_kiosk_run_refuses_a_bad_config_with_one_line(tmp_path):
    path = write(tmp_path, '[ui]\nlanguage = "fr"\n')
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "run", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "language" in lines[0] and str(path) in lines[0]


# -- shipped defaults: production, no demo key; the demo is its own configuration -----------
DEMO_KEY = "config/demo-terminal.key"


def kiosk(*args, env=None, timeout=60):
    """A real ``kiosk`` process; ``kiosk run`` quits after its first paint (never waits)."""
    full = {k: v for k, v in os.environ.items() if k != "KIOSK_CONFIG"}
    full.update({"KIOSK_EXIT_AFTER_PAINT": "1", "QT_QPA_PLATFORM": "offscreen"}, **(env or {}))
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=full)


def test_shipped_defaults_are_a_production_terminal_without_the_demo_key(monkeypatch):
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    config = load_config()
    assert config.mode == "production" and config.terminal["id"] != "GZ-DEMO-0001"
    assert config.central["key_file"] == "var/secrets/terminal.key"
    demo = load_config(DEMO_FILE)
    assert demo.mode == "demo" and demo.terminal["id"] == "GZ-DEMO-0001"
    assert demo.path("central", "key_file").read_bytes() == (ROOT / DEMO_KEY).read_bytes()


def test_an_override_in_test_mode_starts_from_the_demo_terminal(tmp_path):
    config = load_config(write(tmp_path, TEST_MODE + '[session]\nidle_timeout = 0.5\n'))
    assert config.mode == "test" and config.terminal["id"] == "GZ-DEMO-0001"
    assert config.central["key_file"] == DEMO_KEY and config.session["idle_timeout"] == 0.5
    assert startup_problems(config) == []


@pytest.mark.parametrize("override, needle", [
    ("", "no terminal key there; install the government platform's key"),
    (f'[central]\nkey_file = "{DEMO_KEY}"\n', "is the demo key published in the repository"),
    # the demo key's bytes under another name are the demo key too
    ('[central]\nkey_file = "{tmp}/copied.key"\n', "is the demo key published in the repository"),
])
def test_production_refuses_to_start_without_its_own_key(tmp_path, override, needle):
    (tmp_path / "copied.key").write_bytes((ROOT / DEMO_KEY).read_bytes())
    path = write(tmp_path, override.replace("{tmp}", str(tmp_path)) +
                 '[devices]\nidcard = ""\nreceipt_printer = ""\n'
                 f'[logging]\ndir = "{tmp_path}/log"\n')
    for command in (["config", "validate", str(path)], ["run", "--windowed", "--config", str(path)]):
        proc = kiosk(*command)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and "painted" not in proc.stdout, (command, proc.stderr)
        assert len(lines) == 1 and needle in lines[0] and "kiosk enroll" in lines[0], lines


def _override(tmp_path, **sections: dict) -> str:
    """A mode-"test" override without devices, logging under tmp_path, plus ``sections``."""
    values = {"terminal": {"mode": "test"}, "devices": {"idcard": "", "receipt_printer": ""},
              "logging": {"dir": f"{tmp_path}/log"}}
    for name, keys in sections.items():
        values.setdefault(name, {}).update(keys)
    return "".join(f"[{name}]\n" + "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in keys.items())
                   for name, keys in values.items())


# the six settings `validate` passed and `kiosk run` then crashed on (issue 13)
SIX = [
    ({"central": {"key_file": "{tmp}/missing.key"}}, "key_file = '{tmp}/missing.key': no such file"),
    ({"devices": {"idcard": "serial://"}}, "idcard = 'serial://' is not allowed"),
    ({"devices": {"receipt_profile": "99mm-klingon"}},
     "receipt_profile = '99mm-klingon': no such printer profile (known: 58mm-cjk"),
    ({"logging": {"dir": "{tmp}/a-file/log"}}, "[logging] dir = '{tmp}/a-file/log': cannot be created"),
    ({"logging": {"dir": "{tmp}/a-file"}}, "[logging] dir = '{tmp}/a-file': exists and is not a directory"),
    ({"screen": {"width": 100000}}, "width = 100000 is not allowed; expected a width in pixels from 320 to 7680"),
]


@pytest.mark.parametrize("sections, needle", SIX)
def test_validate_catches_what_would_crash_start_up_and_run_says_one_line(tmp_path, sections, needle):
    (tmp_path / "a-file").write_text("")
    tmp = str(tmp_path)
    sections = {n: {k: v.replace("{tmp}", tmp) if isinstance(v, str) else v for k, v in keys.items()}
                for n, keys in sections.items()}
    needle = needle.replace("{tmp}", tmp)
    path = write(tmp_path, _override(tmp_path, **sections))
    validate = kiosk("config", "validate", str(path))
    assert validate.returncode == 2, validate
    assert validate.stderr.count("\n") == 1 and needle in validate.stderr, validate.stderr
    run = kiosk("run", "--windowed", "--config", str(path))
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert run.stderr.count("\n") == 1 and needle in run.stderr, run.stderr


def test_what_still_fails_while_building_the_app_is_one_line_not_a_traceback(tmp_path):
    (tmp_path / "broken.toml").write_text("width_dots = [\n")  # a profile file that is not TOML
    path = write(tmp_path, TEST_MODE + '[devices]\nidcard = ""\nreceipt_printer = "tcp://127.0.0.1:9"\n'
                 f'receipt_profile = "{tmp_path}/broken.toml"\n[logging]\ndir = "{tmp_path}/log"\n'
                 f'[outbox]\npath = "{tmp_path}/o.sqlite"\nkey_file = "{tmp_path}/o.key"\n')
    run = kiosk("run", "--windowed", "--config", str(path))
    assert run.returncode == 1 and "painted" not in run.stdout
    assert "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert "cannot start: PrinterError" in last and "broken.toml" in last


@pytest.mark.parametrize("content, needle", [
    (b'[terminal]\nhall = "\xe8\xb6\x8a\xff"\n', "not valid UTF-8 (byte 22)"),
    (b"[devices]\nidcard = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deeply"),
    (b"[devices]\nidcard = " + b"[" * 50 + b"]" * 50 + b"\n", "idcard = [[[...]]] is not allowed"),
    (None, "is a directory, not a configuration file"),
])
def test_validate_never_crashes_whatever_the_file_holds(tmp_path, content, needle):
    path = tmp_path / "dir.toml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    proc = kiosk("config", "validate", str(path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and needle in lines[0], lines


@pytest.mark.parametrize("text, needle", [
    ("[session]\nidle_timeout = inf\n", "idle_timeout = inf is not allowed; expected seconds from 10 to 600"),
    ("[session]\nidle_timeout = nan\n", "idle_timeout = nan is not allowed"),
    ("[session]\ncountdown = 0.01\n", "countdown = 0.01 is not allowed; expected seconds from 5 to 120"),
    ("[ops]\nheartbeat_interval = 1e-6\n", "heartbeat_interval = 1e-06 is not allowed; expected seconds from 5 to 3600"),
    ("[ops]\nupdate_interval = -60.0\n", "update_interval = -60.0 is not allowed"),
    ("[central]\nread_timeout = 1e9\n", "read_timeout = 1000000000.0 is not allowed; expected seconds from 0.1 to 120"),
    ("[logging]\nmax_bytes = 10\n", "max_bytes = 10 is not allowed; expected bytes from 65536"),
    ("[logging]\nbackups = 100000\n", "backups = 100000 is not allowed"),
    ("[outbox]\nbatch_size = 0\n", "batch_size = 0 is not allowed; expected transactions per upload from 1 to 5000"),
    ("[screen]\nheight = 0\n", "height = 0 is not allowed"),
    ('[central]\nurl = "http://"\n', "url = 'http://' is not allowed; expected an http:// or https:// URL with a host"),
    ('[central]\nurl = "https://host:port/"\n', "url = 'https://host:port/' is not allowed"),
    ('[central]\nurl = "central.example.cn"\n', "url = 'central.example.cn' is not allowed"),
    ('[ops]\nupdates_url = "ftp://repo.example.cn/"\n', "updates_url = 'ftp://repo.example.cn/' is not allowed"),
    ('[ops]\nupdates_url = "https:///metadata"\n', "updates_url = 'https:///metadata' is not allowed"),
    ('[devices]\nreceipt_printer = "tcp://:9100"\n', "receipt_printer = 'tcp://:9100' is not allowed"),
    ('[devices]\nreceipt_printer = "usb://printer"\n', "receipt_printer = 'usb://printer' is not allowed"),
    ('[devices]\ndocument_printer = "cups://"\n', "document_printer = 'cups://' is not allowed"),
    ('[devices]\nidcard = "tcp://10.0.0.5:9100"\n', "idcard = 'tcp://10.0.0.5:9100' is not allowed"),
])
def test_nonsense_values_are_refused_in_every_mode(tmp_path, text, needle):
    for mode in ("production", "demo", "test"):
        path = write(tmp_path, f'[terminal]\nmode = "{mode}"\n' + text)
        with pytest.raises(ConfigError) as err:
            load_config(path)
        assert str(err.value).startswith(str(path)) and needle in str(err.value)


def test_only_test_mode_runs_sub_second_timers(tmp_path):
    timers = "[session]\nidle_timeout = 0.6\ncountdown = 1.0\n[ops]\nheartbeat_interval = 0.3\n"
    assert load_config(write(tmp_path, TEST_MODE + timers)).ops["heartbeat_interval"] == 0.3
    with pytest.raises(ConfigError, match="idle_timeout = 0.6 is not allowed"):
        load_config(write(tmp_path, '[terminal]\nmode = "demo"\n' + timers))
    with pytest.raises(ConfigError, match="heartbeat_interval = 0.05 is not allowed"):
        load_config(write(tmp_path, TEST_MODE + "[ops]\nheartbeat_interval = 0.05\n"))


@pytest.mark.parametrize("name, value, needle", [
    ("session.idle_timeout", "inf", "idle_timeout = inf is not allowed"),
    ("ops.heartbeat_interval", "1e-6", "heartbeat_interval = 1e-06 is not allowed"),
    ("central.url", "http://", "url = 'http://' is not allowed"),
    ("devices.idcard", "serial://", "idcard = 'serial://' is not allowed"),
])
def test_config_set_uses_the_same_checks_and_keeps_the_file(tmp_path, name, value, needle):
    path = write(tmp_path, TEST_MODE + "[session]\nidle_timeout = 90\n")
    before = path.read_bytes()
    proc = kiosk("config", "set", name, value, "--config", str(path))
    assert proc.returncode == 2 and needle in proc.stderr and str(path) in proc.stderr
    assert path.read_bytes() == before


def test_config_set_survives_a_damaged_override(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_bytes(b"[ui]\nlanguage = \"\xff\"\n")
    proc = kiosk("config", "set", "ui.voice", "false", "--config", str(path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "not valid UTF-8" in proc.stderr and path.read_bytes() == b"[ui]\nlanguage = \"\xff\"\n"


def test_a_damaged_technician_state_does_not_stop_the_kiosk(tmp_path):
    state = tmp_path / "technician.json"
    state.write_text('{"pin": {"alg": "scrypt", "hash": ', encoding="utf-8")  # torn write
    path = write(tmp_path, TEST_MODE + '[devices]\nidcard = ""\nreceipt_printer = ""\n'
                 f'[logging]\ndir = "{tmp_path}/log"\n[ops]\ntechnician_state = "{state}"\n'
                 f'[outbox]\npath = "{tmp_path}/o.sqlite"\nkey_file = "{tmp_path}/o.key"\n')
    validate = kiosk("config", "validate", str(path))
    assert validate.returncode == 0, validate.stderr  # systemd's ExecStartPre lets it start
    assert "warning: technician mode will be refused" in validate.stderr and str(state) in validate.stderr
    run = kiosk("run", "--windowed", "--config", str(path))
    assert run.returncode == 0 and run.stdout.startswith("painted"), run.stderr
    assert "Traceback" not in run.stderr
    assert "technician mode unavailable" in run.stderr and "damaged technician state" in run.stderr


def test_a_production_terminal_without_a_fleet_url_is_told_it_will_never_heartbeat(tmp_path,
                                                                                  capsys):
    """It starts (residents are served) but central operations would never see it: the
    technician's check says what is missing and how to set it; an enrolled terminal, and a
    demo or test one (no fleet by design), hear nothing of it."""
    from argparse import Namespace

    from kiosk.cli.config import validate

    own_key = tmp_path / "terminal.key"
    own_key.write_text("5a" * 32, encoding="ascii")  # synthetic, not the demo key
    fleet_key = tmp_path / "fleet.key"
    fleet_key.write_text("a5" * 32, encoding="ascii")
    production = (f'[central]\nkey_file = "{own_key}"\n'
                  '[devices]\nidcard = ""\nreceipt_printer = ""\n'
                  f'[logging]\ndir = "{tmp_path}/log"\n'
                  f'[ops]\ntechnician_state = "{tmp_path}/technician.json"\n')
    path = write(tmp_path, production)
    assert validate(Namespace(path=str(path))) == 0  # systemd's ExecStartPre lets it start
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "warning:" in err and str(path) in err, err
    assert "[fleet] url is empty" in err and "no heartbeats" in err and "kiosk enroll" in err
    enrolled = production + ('[fleet]\nurl = "https://fleet.example.invalid"\n'
                             f'terminal_id = "T-TEST-0001"\nkey_file = "{fleet_key}"\n')
    for text in (enrolled, TEST_MODE + production.split("\n", 2)[2]):
        path = write(tmp_path, text)
        assert validate(Namespace(path=str(path))) == 0
        assert "[fleet]" not in capsys.readouterr().err, text


def test_doctor_no_longer_passes_a_production_terminal_on_the_demo_key(tmp_path, central_sim):
    path = write(tmp_path, f'[central]\nurl = "{central_sim.url}"\nkey_file = "{DEMO_KEY}"\n'
                 '[devices]\nidcard = ""\nreceipt_printer = ""\n'
                 f'[outbox]\npath = "{tmp_path}/o.sqlite"\n')
    proc = kiosk("doctor", "--config", str(path))
    assert proc.returncode != 0
    assert "FAIL startup:" in proc.stdout and "is the demo key published" in proc.stdout
