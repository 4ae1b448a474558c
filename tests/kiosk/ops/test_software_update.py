"""Software updates that install: real wheels of this project, published with ``kiosk-ops``,
fetched and verified by the real update client, installed into the inactive A/B slot, started
by a supervisor standing in for systemd (no systemd in this container: it restarts on any
exit like ``Restart=always`` and runs the slot guard first like ``ExecStartPre``).

The supervised program is a stand-in for ``kiosk run``'s operations side, run by the slot's
own interpreter: the real :class:`Heartbeat` (whose first sent beat confirms the version) and
the real :class:`UpdateClient` (which finds the installer through ``KIOSK_SLOTS``); it exits
75 (EXIT_RESTART) once a software update is installed, as the app does for a restart.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kiosk.exit_codes import EXIT_RESTART, EXIT_TO_DESKTOP
from kiosk.ops import slot_guard
from kiosk.ops.software_slots import SlotInstaller, SoftwareInstallError
from kiosk.paths import ROOT

KIOSK_OPS = [str(Path(sys.executable).with_name("kiosk-ops"))]
if subprocess.run([*KIOSK_OPS, "--help"], capture_output=True).returncode != 0:
    # the console script predates the move of kiosk-ops to fleet/ (re-run `pip install -e .`)
    KIOSK_OPS = [sys.executable, "-m", "fleet.repository_cli"]
GUARD = ROOT / "kiosk" / "ops" / "slot_guard.py"  # run as a file, as systemd runs its copy
BASE_SITE = sysconfig.get_path("purelib")  # the dependencies every slot shares
PACKAGES = ("kiosk", "drivers", "screens", "offline_queue", "simulators", "fleet")

pytestmark = pytest.mark.slow

APP = r'''
import json, os, signal, sys, time, urllib.request
import kiosk
from kiosk.central.errors import CentralUnavailable
from kiosk.ops.heartbeat import Heartbeat, TerminalFacts
from kiosk.ops.updates import UpdateClient

class Fleet:  # the heartbeat's only need of the fleet client
    terminal_id = "T-SLOTS-1"
    base_url = os.environ["COLLECTOR"]
    def heartbeat(self, body):
        request = urllib.request.Request(self.base_url, json.dumps(body).encode(),
                                         {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as reply:
                return json.load(reply)
        except OSError as exc:
            raise CentralUnavailable(str(exc)) from exc

signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
beat = Heartbeat(Fleet(), TerminalFacts(), interval=3600)
updates = UpdateClient(os.environ["VAR"], os.environ["REPO_URL"], os.environ["TRUSTED_ROOT"])
while True:
    beat.beat()
    result = updates.check("software")
    if result.outcome not in ("up_to_date",):
        beat.report({"update": result.to_json()})
        beat.beat()
    if result.outcome == "applied":
        sys.exit(75)
    time.sleep(0.2)
'''


def build_wheel(tmp_path: Path, version: str, *, broken: bool = False) -> Path:
    """A real wheel of this project at ``version``; ``broken`` exits before any heartbeat."""
    src = tmp_path / f"src-{version}"
    for package in PACKAGES:
        if (ROOT / package).is_dir():
            shutil.copytree(ROOT / package, src / package,
                            ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    cfg = (ROOT / "setup.cfg").read_text(encoding="utf-8")
    (src / "setup.cfg").write_text(cfg.replace("version = 0.1.0", f"version = {version}", 1),
                                   encoding="utf-8")
    init = src / "kiosk" / "__init__.py"
    text = init.read_text(encoding="utf-8").replace('__version__ = "0.1.0"',
                                                    f'__version__ = "{version}"')
    if broken:
        text += '\nraise SystemExit("broken build: exits before its first heartbeat")\n'
    init.write_text(text, encoding="utf-8")
    out = tmp_path / f"target-{version}"
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "-q", "-w", str(out), str(src)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return out


class Collector:
    """The fleet's heartbeat endpoint: a real HTTP server that keeps what it was sent."""

    def __init__(self) -> None:
        self.beats: list[dict] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                collector.beats.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"commands": []}')

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/heartbeat"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def versions(self) -> list[str]:
        return [b["versions"]["software"] for b in list(self.beats)]

    def reports(self) -> list[dict]:
        return [r for b in list(self.beats) for r in b.get("reports", [])]


class Supervisor:
    """Stands in for systemd: ExecStartPre = the slot guard, ExecStart = current/bin/python,
    Restart=always except exit 64, RestartSec small."""

    def __init__(self, root: Path, app: Path, env: dict[str, str]):
        self.root, self.app, self.env = root, app, env
        self.runs: list[tuple[str | None, int]] = []  # (slot, exit code)
        self.guard_said: list[str] = []
        self._stop = threading.Event()
        self._proc: subprocess.Popen | None = None
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> Supervisor:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            guard = subprocess.run([sys.executable, str(GUARD), "start", "--root", str(self.root)],
                                   capture_output=True, text=True, timeout=30)
            self.guard_said.append(guard.stdout.strip())
            slot = slot_guard.current_slot(self.root)
            self._proc = subprocess.Popen([str(self.root / "current" / "bin" / "python"),
                                           str(self.app)], env=self.env, cwd=self.app.parent,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _, err = self._proc.communicate()
            self.runs.append((slot, self._proc.returncode))
            if self._proc.returncode == EXIT_TO_DESKTOP:
                return
            self._stop.wait(0.2)  # RestartSec

    def stop(self) -> None:
        self._stop.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
        self._thread.join(30)


def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def updates(central: Collector) -> list[dict]:
    return [r["update"] for r in central.reports() if "update" in r]


def publish(repo, target: Path, version: str) -> None:
    for args in (["add", str(repo.path), "software", str(target), "--version", version],
                 ["publish", str(repo.path)]):
        done = subprocess.run([*KIOSK_OPS, *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr


def test_a_good_build_installs_in_the_other_slot_and_a_bad_one_rolls_back_by_itself(
        tmp_path, tuf_repo):
    first = build_wheel(tmp_path, "2026.12.1")
    good = build_wheel(tmp_path, "2026.12.2")
    bad = build_wheel(tmp_path, "2026.12.3", broken=True)
    root = tmp_path / "slots"
    assert SlotInstaller(root, BASE_SITE).install(first) == "a"  # what the package's postinst does
    (tmp_path / "root.json").write_bytes(tuf_repo.root)
    app = tmp_path / "app" / "standin_kiosk_run.py"
    app.parent.mkdir()
    app.write_text(APP, encoding="utf-8")
    central = Collector()
    env = {"PATH": "/usr/bin:/bin", "KIOSK_SLOTS": str(root), "KIOSK_BASE_SITE": BASE_SITE,
           "KIOSK_SLOT_BOUND_S": "60", "COLLECTOR": central.url, "VAR": str(tmp_path / "var"),
           "REPO_URL": tuf_repo.url, "TRUSTED_ROOT": str(tmp_path / "root.json")}
    systemd = Supervisor(root, app, env).start()
    try:
        wait_for(lambda: "2026.12.1" in central.versions(), "the first version's heartbeat")

        publish(tuf_repo, good, "2026.12.2")
        wait_for(lambda: "2026.12.2" in central.versions(), "the good update's heartbeat")
        # it confirms once the beat's reply is back, which may be just after the collector
        # has recorded the beat
        wait_for(lambda: slot_guard.pending(root) is None, "the good version confirmed")
        assert (slot_guard.current_slot(root), slot_guard.pending(root)) == ("b", None)  # confirmed
        assert systemd.runs[0] == ("a", EXIT_RESTART)  # installed, then restarted into slot b
        assert (root / "b" / slot_guard.VERSION_FILE).read_text().strip() == "2026.12.2"
        applied = updates(central)
        assert (applied[0]["kind"], applied[0]["outcome"], applied[0]["version"]) == \
            ("software", "applied", "2026.12.2")

        publish(tuf_repo, bad, "2026.12.3")
        wait_for(lambda: any(r["outcome"] == "rolled_back" for r in updates(central)),
                 "the rollback report")
        rollback = next(r for r in updates(central) if r["outcome"] == "rolled_back")
        assert (rollback["kind"], rollback["version"], rollback["previous"], rollback["reason"]) \
            == ("software", "2026.12.3", "2026.12.2", "health_check")
        assert "without a healthy heartbeat" in rollback["detail"]
        assert slot_guard.current_slot(root) == "b"  # back on the good build, by itself
        assert central.versions()[-1] == "2026.12.2"
        assert "2026.12.3" not in central.versions()  # the bad build never sent a heartbeat
        assert [code for slot, code in systemd.runs if slot == "a"][-3:] == [1, 1, 1]  # crash loop
        # delivered once, then dropped: the terminal drops it once the reply is back, which
        # may be just after the collector has recorded it
        wait_for(lambda: slot_guard.reports(root) == [], "the delivered rollback dropped")
        assert len([r for r in updates(central) if r["outcome"] == "rolled_back"]) == 1
    finally:
        systemd.stop()
        central.server.shutdown()
    assert any(s.startswith("slot_guard: rolled_back") for s in systemd.guard_said)


def test_an_install_that_fails_leaves_the_running_slot_untouched(tmp_path):
    first = build_wheel(tmp_path, "2026.12.1")
    root = tmp_path / "slots"
    installer = SlotInstaller(root, BASE_SITE)
    installer.install(first)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "kiosk_terminal-2026.12.2-py3-none-any.whl").write_bytes(b"not a zip")
    with pytest.raises(SoftwareInstallError, match="not a wheel"):
        installer.install(broken)
    with pytest.raises(SoftwareInstallError, match="target says 2026.12.9"):
        installer.install(first, version="2026.12.9")  # the signed version must be the wheel's
    assert slot_guard.current_slot(root) == "a" and slot_guard.pending(root) is None
    assert not (root / "b").exists()


def test_a_version_that_hangs_is_rolled_back_at_its_deadline_by_the_timer(tmp_path):
    first = build_wheel(tmp_path, "2026.12.1")
    second = tmp_path / "second"
    shutil.copytree(first, second)
    root = tmp_path / "slots"
    SlotInstaller(root, BASE_SITE).install(first)
    # a version that started once and hangs: its deadline is already over
    SlotInstaller(root, BASE_SITE, bound_s=-1).install(second, version=None)
    assert slot_guard.current_slot(root) == "b" and slot_guard.pending(root) is not None
    done = subprocess.run([sys.executable, str(GUARD), "watch", "--root", str(root)],
                          capture_output=True, text=True, timeout=30)
    assert "rolled_back" in done.stdout, done.stderr
    assert slot_guard.current_slot(root) == "a"
    assert "no healthy heartbeat within -1" in slot_guard.reports(root)[0]["update"]["detail"]


def test_operations_installs_a_published_software_update_and_restarts_into_it(
        tmp_path, tuf_repo, central_sim, fleet_module):
    """The terminal's own update loop (Operations.check_updates, as the timer and central's
    check_updates command run it) takes software too once the slots installer is set: it
    installs into the other slot, tells the fleet, and exits 75 for systemd to restart it."""
    from kiosk.catalog.services import Catalog
    from kiosk.config import load_config
    from kiosk.ops.operations import Operations
    from kiosk.ops.updates import UpdateClient
    from kiosk.parts import Devices, central_client, fleet_client

    root = tmp_path / "slots"
    SlotInstaller(root, BASE_SITE).install(build_wheel(tmp_path, "2026.12.1"))
    publish(tuf_repo, build_wheel(tmp_path, "2026.12.2"), "2026.12.2")
    central_sim.reset()
    config = fleet_module.enrol(load_config().replace(
        central={"url": central_sim.url},
        ops={"technician_state": str(tmp_path / "technician.json"), "heartbeat_interval": 3600}),
        tmp_path / "fleet.key")
    updates = UpdateClient(tmp_path / "var", tuf_repo.url, tuf_repo.root,
                           health={"software": SlotInstaller(root, BASE_SITE)})
    posted, exits = [], []
    client, fleet = central_client(config, retries=0), fleet_client(config)

    class Visits:
        idle, maintenance, announcements = True, False, []

    ops = Operations(config=config, devices=Devices(), client=client, outbox=None, sync=None,
                     updates=updates, visits=Visits(), catalog=Catalog.load(),
                     post=posted.append, exit_app=exits.append, fleet=fleet)
    try:
        assert "software applied 2026.12.2" in ops.check_updates()
        for fn in posted:
            fn()
        assert exits == [EXIT_RESTART]
        assert slot_guard.current_slot(root) == "b" and slot_guard.pending(root)["version"] == \
            "2026.12.2"
        reports = [r for r in fleet_module.reports(config.fleet["terminal_id"])
                   if r["kind"] == "update" and r["target"] == "software"]
        assert reports and (reports[-1]["outcome"], reports[-1]["version"]) == (
            "applied", "2026.12.2")
    finally:
        ops.stop()
        client.close()
        if fleet is not None:
            fleet.close()


@pytest.mark.skipif(os.geteuid() != 0 or not os.access("/usr/bin/python3", os.X_OK),
                    reason="needs root (to act as the timer and as kiosk) and /usr/bin/python3")
def test_the_kiosk_user_can_take_the_lock_the_root_timer_created():
    """The timer's guard runs as root and may create the lock first; the app (user kiosk,
    here nobody) must still take it, or its heartbeat could never confirm a good version."""
    base = Path(tempfile.mkdtemp(prefix="slots-lock-"))
    try:
        base.chmod(0o755)
        root = base / "slots"
        root.mkdir()
        assert slot_guard.check(root, starting=False) == "running"  # as root: creates .lock
        os.chown(root, 65534, 65534)
        probe = ("import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
                 "import slot_guard\nwith slot_guard.locked(Path(sys.argv[2])): print('locked')")
        done = subprocess.run(["/usr/bin/python3", "-c", probe, str(GUARD.parent), str(root)],
                              user=65534, group=65534, capture_output=True, text=True,
                              timeout=30, cwd=base)
        assert done.stdout.strip() == "locked", done.stderr
    finally:
        shutil.rmtree(base)
