"""A wrong key or value stops start-up with one line naming file, key and what is allowed."""

import subprocess
import sys

import pytest

from kiosk.config import ConfigError, load_config


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
])
def test_bad_values_name_file_key_and_allowed(tmp_path, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(str(path)) and needle in str(err.value)


def test_kiosk_run_refuses_a_bad_config_with_one_line(tmp_path):
    path = write(tmp_path, '[ui]\nlanguage = "fr"\n')
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "run", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "language" in lines[0] and str(path) in lines[0]
