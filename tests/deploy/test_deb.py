"""The Debian package a technician installs: built as `make deb` builds it, inspected with
dpkg-deb, and installed by dpkg into a scratch root.

What cannot run here: a chroot install (no Debian root filesystem to chroot into, and no
network for debootstrap), so the scratch-root install runs the maintainer scripts
chrootless (``dpkg --root --force-script-chrootless``, ``$DPKG_ROOT`` set), in which the
postinst makes only files under that root — the ``kiosk`` user, ``systemctl enable`` and
``udevadm`` act on the running machine and are left out. The base venv takes this checkout's
site-packages (``KIOSK_BASE_SITE``): the test package carries the project wheel only, as
``make deb WHEELHOUSE=none`` builds it, so the dependency wheels are not downloaded per run.
lintian is not installed (147 packages with its Perl stack): that check skips.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from kiosk.paths import CONFIG_DIR, ROOT

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb not installed")]

VERSION = re.search(r"^version = (\S+)", (ROOT / "setup.cfg").read_text(), re.M).group(1)


@pytest.fixture(scope="module")
def deb(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "WHEELHOUSE": "none", "OUT": str(out), "PY": sys.executable}
    done = subprocess.run(["sh", str(ROOT / "deploy" / "build_deb.sh")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path == out / f"kiosk-terminal_{VERSION}_all.deb"
    return path


def dpkg_deb(*args: str) -> str:
    done = subprocess.run(["dpkg-deb", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_deb_runs_the_package_build():
    done = subprocess.run(["make", "-n", "deb"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "deploy/build_deb.sh" in done.stdout


def test_the_package_says_what_it_is_and_needs(deb):
    fields = dict(re.findall(r"^ ?([A-Za-z-]+): (.*)$", dpkg_deb("--field", str(deb)), re.M))
    assert fields["Package"] == "kiosk-terminal"
    assert fields["Version"] == VERSION
    assert fields["Architecture"] == "all"
    for needed in ("python3 (>= 3.11)", "python3-venv", "adduser", "systemd", "udev"):
        assert needed in fields["Depends"]
    info = dpkg_deb("--info", str(deb))
    for script in ("postinst", "prerm", "postrm"):
        assert re.search(rf"\*\s+{script}\s", info), f"{script} missing or not executable"


def test_the_package_carries_wheel_units_rules_display_settings_and_guard(deb):
    listing = dpkg_deb("--contents", str(deb))
    paths = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
    owners = {line.split()[1] for line in listing.splitlines()}
    assert owners == {"root/root"}  # no build user's uid leaks into a terminal
    for path in (f"/opt/kiosk/wheels/kiosk_terminal-{VERSION}-py3-none-any.whl",
                 "/lib/systemd/system/kiosk.service",
                 "/lib/systemd/system/kiosk-slot-guard.service",
                 "/lib/systemd/system/kiosk-slot-guard.timer",
                 "/lib/systemd/system/kiosk-consoleblank.service",
                 "/lib/udev/rules.d/60-kiosk-terminal.rules",
                 "/etc/kiosk/eglfs.env",
                 "/usr/lib/kiosk-terminal/slot_guard.py",
                 "/opt/kiosk/share/config/kiosk.toml",
                 "/usr/share/doc/kiosk-terminal/README.md"):
        assert path in paths, path
    assert not any("__pycache__" in p for p in paths)
    assert not any(p.startswith("/opt/kiosk/.venv") for p in paths)


def test_udev_rules_give_the_kiosk_user_every_shipped_reader_and_the_printer():
    rules = (ROOT / "deploy" / "60-kiosk-terminal.rules").read_text(encoding="utf-8")
    ids = {("0416", "5011")}  # the receipt printer of config/kiosk.toml
    for reader in CONFIG_DIR.glob("readers/*.toml"):
        spec = tomllib.loads(reader.read_text(encoding="utf-8"))
        if "vid" in spec:
            ids.add((f"{spec['vid']:04x}", f"{spec['pid']:04x}"))
    lines = [line for line in rules.splitlines() if line and not line.startswith("#")]
    for vid, pid in ids:
        matching = [line for line in lines if f'"{vid}"' in line and f'"{pid}"' in line]
        assert matching, f"no rule for {vid}:{pid}"
        assert all('GROUP="kiosk"' in line and 'MODE="0660"' in line for line in matching)
    for subsystem in ("video4linux", "input"):  # camera, touch panel
        assert any(f'SUBSYSTEM=="{subsystem}"' in line and 'GROUP="kiosk"' in line for line in lines)
    assert any("060101" in line for line in lines)  # still-image class: the document scanner


def test_eglfs_settings_rotate_picture_and_touch_alike_and_hide_the_cursor():
    env = dict(line.split("=", 1) for line in
               (ROOT / "deploy" / "eglfs.env").read_text(encoding="utf-8").splitlines()
               if line and not line.startswith("#"))
    assert env["QT_QPA_PLATFORM"] == "eglfs"
    assert env["QT_QPA_EVDEV_TOUCHSCREEN_PARAMETERS"] == f"rotate={env['QT_QPA_EGLFS_ROTATION']}"
    assert env["QT_QPA_EGLFS_HIDECURSOR"] == "1"
    blank = (ROOT / "deploy" / "kiosk-consoleblank.service").read_text(encoding="utf-8")
    assert "setterm --blank 0 --powerdown 0" in blank
    unit = (ROOT / "deploy" / "kiosk.service").read_text(encoding="utf-8")
    assert "EnvironmentFile=-/etc/kiosk/eglfs.env" in unit
    assert "After=" in unit and "kiosk-consoleblank.service" in unit


@pytest.mark.skipif(shutil.which("lintian") is None,
                    reason="lintian not installed (147 packages with its Perl stack)")
def test_lintian_finds_no_errors(deb):
    done = subprocess.run(["lintian", "--no-tag-display-limit", str(deb)], capture_output=True,
                          text=True, timeout=300)
    assert not [line for line in done.stdout.splitlines() if line.startswith("E:")], done.stdout


def dpkg(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KIOSK_BASE_SITE": sysconfig.get_path("purelib")}
    return subprocess.run(["dpkg", f"--root={root}", "--force-script-chrootless",
                           "--force-depends", f"--log={root}/dpkg.log", *args], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("dpkg") is None,
                    reason="dpkg into a scratch root needs root")
def test_installed_into_a_scratch_root_the_kiosk_runs_from_slot_a_and_asks_for_enrolment(
        deb, tmp_path):
    root = tmp_path / "root"
    (root / "var/lib/dpkg/updates").mkdir(parents=True)
    (root / "var/lib/dpkg/info").mkdir()
    (root / "var/lib/dpkg/status").touch()
    done = dpkg(root, "--install", str(deb))
    assert done.returncode == 0, done.stderr + done.stdout
    assert "kiosk enroll CODE" in done.stdout  # the technician is told the next step

    slots = root / "opt/kiosk/slots"
    assert os.readlink(slots / "current") == "a"
    assert (slots / "a/kiosk-version").read_text().strip() == VERSION
    kiosk = slots / "current/bin/kiosk"
    assert subprocess.run([str(kiosk), "--help"], capture_output=True, timeout=60).returncode == 0
    validate = subprocess.run([str(kiosk), "config", "validate", str(root / "etc/kiosk/kiosk.toml")],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert validate.returncode == 2 and "kiosk enroll CODE" in validate.stderr  # not yet enrolled
    site = Path(subprocess.run([str(slots / "a/bin/python"), "-c",
                                "import kiosk.paths as p; print(p.ROOT)"], cwd=tmp_path,
                               capture_output=True, text=True, timeout=60).stdout.strip())
    assert site.is_relative_to(slots / "a")  # the slot's own kiosk, not this checkout's
    assert (site / "var").resolve() == (root / "opt/kiosk/var").resolve()  # one var for both slots
    assert oct((root / "opt/kiosk/var").stat().st_mode & 0o777) == "0o700"
    status = dpkg(root, "--status", "kiosk-terminal").stdout
    assert "Status: install ok installed" in status
    assert re.search(r"Conffiles:\n /etc/kiosk/eglfs.env [0-9a-f]{32}", status)
    guard = subprocess.run(["/usr/bin/python3", str(root / "usr/lib/kiosk-terminal/slot_guard.py"),
                            "start", "--root", str(slots)], capture_output=True, text=True,
                           timeout=60)
    assert guard.stdout.strip() == "slot_guard: running (a)"  # system python3, outside the slots

    (root / "opt/kiosk/var/outbox.sqlite").write_bytes(b"residents' submissions")
    removed = dpkg(root, "--remove", "kiosk-terminal")
    assert removed.returncode == 0, removed.stderr
    assert not slots.exists()
    assert (root / "opt/kiosk/var/outbox.sqlite").exists()  # remove keeps data; purge drops it


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_accepts_every_unit_the_package_ships(deb, tmp_path):
    tree = tmp_path / "x"
    dpkg_deb("-x", str(deb), str(tree))
    units = tmp_path / "units"
    units.mkdir()
    for unit in (tree / "lib/systemd/system").iterdir():  # paths that exist on this machine
        text = unit.read_text(encoding="utf-8")
        text = text.replace("/opt/kiosk/slots/current", str(Path(sys.executable).parents[1]))
        text = text.replace("/usr/lib/kiosk-terminal", str(tree / "usr/lib/kiosk-terminal"))
        (units / unit.name).write_text(text.replace("/opt/kiosk", str(tree / "opt/kiosk")))
    names = sorted(p.name for p in units.iterdir())
    assert names == ["kiosk-consoleblank.service", "kiosk-slot-guard.service",
                     "kiosk-slot-guard.timer", "kiosk.service"]
    done = subprocess.run(["systemd-analyze", "verify", *names], cwd=units, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
