"""The fleet console in a real Chromium watching real terminals: ``kiosk-fleet serve`` on an
SQLite file (tests/fixtures/fleet.py), two ``kiosk run`` processes (offscreen) against their
own simulated reader and printer, enrolled with codes from ``kiosk-fleet enrol-code``
through ``kiosk enroll --fleet``, and a TUF repository that ``kiosk-ops`` published a
catalog into (tests/fixtures/tuf_repo.py).

An operator logs in and sees both online; moves a catalog rollout from the canary group to
all and sees the terminals' catalog versions move as each fetches it through TUF; one
printer runs out of paper and its alert appears; maintenance on for the other terminal puts
it on its out-of-service screen, reported in its heartbeat, and the acknowledgement shows on
its page; the first kiosk's process stops and the page shows it late, then offline. Every
wait is on a condition (the page reloaded until it says so), never a sleep.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from fleet import store
from fleet.repository_cli import main as kiosk_ops
from kiosk.demo.rig import DemoRig
from kiosk.paths import SERVICES_DIR
from tests.fixtures.chromium import headless_chromium
from tests.fixtures.fleet import FleetService, poll, terminal_override

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
KIOSK = [sys.executable, "-m", "kiosk.cli"]
ADMIN, PASSWORD = "ops-admin", "ops-admin-password-1"
CATALOG = "2026.12.1"


class KioskProcess:
    """One terminal: its simulators (a DemoRig), its override file, ``kiosk run``."""

    def __init__(self, work: Path, fleet: FleetService, updates: dict[str, str],
                 district: str, hall: str) -> None:
        self.work = work
        self.rig = DemoRig(work / "rig", mode="test").start(camera=None)
        self.override = self._override(fleet.url, updates)
        self.env = {k: v for k, v in os.environ.items() if k != "KIOSK_CONFIG"}
        self.env["QT_QPA_PLATFORM"] = "offscreen"
        code = fleet.cli("enrol-code", "--district", district, "--hall", hall)
        done = subprocess.run([*KIOSK, "enroll", "--fleet", code, "--config", str(self.override)],
                              capture_output=True, text=True, timeout=120, env=self.env)
        assert done.returncode == 0, done.stderr
        self.id = done.stdout.split("enrolled with the fleet as ")[1].split(";")[0]
        self.out = work / "kiosk.out"
        self.proc: subprocess.Popen[bytes] | None = None

    def _override(self, fleet_url: str, updates: dict[str, str]) -> Path:
        work = self.work
        return terminal_override(work / "kiosk.toml", self.rig, fleet_url, work=work,
                                 fleet_key=work / "fleet.key", ops=f'''update_interval = 3600.0
updates_url = "{updates['url']}"
trusted_root = "{updates['root']}"
updates_dir = "{work / 'updates'}"
technician_state = "{work / 'secrets' / 'technician.json'}"
''')

    def run(self) -> None:
        self.proc = subprocess.Popen([*KIOSK, "run", "--config", str(self.override)],
                                     env=self.env, stdout=self.out.open("wb"),
                                     stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, \
            self.out.read_text(errors="replace")[-3000:]
        return True

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def close(self) -> None:
        self.stop()
        self.rig.stop()


def bucket(terminal_id: str) -> int:
    """The terminal's place in a percent rollout (fleet/store.py ``_selected``)."""
    return int(hashlib.sha256(terminal_id.encode()).hexdigest()[:8], 16) % 100


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Any]:
    """Headless Chromium (tests/fixtures/chromium.py)."""
    yield from headless_chromium(tmp_path / "chromium")


@pytest.fixture
def published(tuf_repo: Any, tmp_path: Path) -> dict[str, str]:
    """A new catalog (one more hall service) published with ``kiosk-ops``; where the
    terminals find it and the root they trust."""
    source = tmp_path / "catalog-src"
    shutil.copytree(SERVICES_DIR, source)
    hall = (source / "hall.toml").read_text(encoding="utf-8")
    first = hall.index("[[services]]")
    block = hall[first:hall.index("[[services]]", first + 1)]
    (source / "hall.toml").write_text(
        hall + "\n" + block.replace('id = "hall_qh"', 'id = "hall_from_rollout"'),
        encoding="utf-8")
    assert kiosk_ops(["add", str(tuf_repo.path), "catalog", str(source), "--version", CATALOG]) == 0
    assert kiosk_ops(["publish", str(tuf_repo.path)]) == 0
    root = tmp_path / "root.json"
    root.write_bytes(tuf_repo.root)
    return {"url": tuf_repo.url, "root": str(root)}


@pytest.fixture
def kiosks(fleet_service: FleetService, published: dict[str, str],
           tmp_path: Path) -> Iterator[list[KioskProcess]]:
    made: list[KioskProcess] = []
    try:
        for name, district, hall in (("a", "天河区", "天河政务服务中心"),
                                     ("b", "越秀区", "越秀政务服务中心")):
            made.append(KioskProcess(tmp_path / name, fleet_service, published, district, hall))
        for k in made:
            k.run()
        yield made
    finally:
        for k in made:
            k.close()


def test_the_console_watches_two_real_terminals(fleet_service: FleetService,
                                                kiosks: list[KioskProcess],
                                                chromium: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver, url = chromium, fleet_service.url
    a, b = kiosks
    fleet_service.read(lambda c: store.add_user(c, ADMIN, PASSWORD, "admin", actor="test",
                                                now=store.now()))

    def css(selector: str) -> list[Any]:
        return list(driver.find_elements(By.CSS_SELECTOR, selector))

    def page_until(path: str, check: Any, what: str, timeout: float = 60) -> Any:
        """Reload ``path`` until ``check()`` holds, the kiosks still running."""
        def loaded() -> Any:
            for k in kiosks:
                if k is not stopped:
                    k.alive()
            driver.get(url + path)
            return check()
        return poll(loaded, what, timeout)

    stopped: KioskProcess | None = None
    driver.get(url + "/console/login")
    driver.find_element(By.ID, "username").send_keys(ADMIN)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    poll(lambda: css("#fleet-table"), "the fleet list after logging in")

    def row_state(k: KioskProcess) -> str | None:
        rows = css(f"#fleet-table tr[data-terminal='{k.id}']")
        return rows[0].get_attribute("class") if rows else None

    page_until("/console/", lambda: all(row_state(k) == "row-online" for k in kiosks),
               "both terminals online in the fleet list", 120)
    assert driver.find_element(By.ID, "count-online").text == "2"

    # a catalog rollout: the canary group holds exactly the terminal lower in the buckets
    first, second = sorted(kiosks, key=lambda k: bucket(k.id))
    canary = bucket(first.id) + 0.5 if bucket(first.id) < bucket(second.id) else 5
    driver.get(url + "/console/rollouts")
    Select(driver.find_element(By.ID, "r-kind")).select_by_value("catalog")
    driver.find_element(By.ID, "r-version").send_keys(CATALOG)
    percent = driver.find_element(By.ID, "r-canary")
    percent.clear()
    percent.send_keys(str(canary))
    driver.find_element(By.ID, "r-create").click()
    poll(lambda: css("section.rollout[data-state='draft']"), "the new draft rollout")

    def on_target() -> int:
        cells = css(f"#versions tr[data-kind=catalog][data-version='{CATALOG}'] td.num")
        return int(cells[0].text) if cells else 0

    assert on_target() == 0
    css("section.rollout button.advance")[0].click()  # start: the canary group
    poll(lambda: css("section.rollout[data-state='running'] tr.group[data-group=canary]"
                     "[data-started='1']"), "the canary group started")
    in_canary = 1 if canary != 5 else sum(bucket(k.id) < 5 for k in kiosks)
    page_until("/console/rollouts", lambda: on_target() == in_canary,
               f"{in_canary} terminal(s) on catalog {CATALOG} after the canary", 60)
    if in_canary == 1:  # the terminal outside the canary has not moved
        assert fleet_service.read(lambda c: store.terminal_detail(
            c, second.id, now=store.now()))["catalog_version"] != CATALOG
    page_until("/console/rollouts",
               lambda: css("section.rollout button.advance")[0].is_enabled(),
               "the canary reaching its success threshold")
    css("section.rollout button.advance")[0].click()  # the canary is at its threshold: all
    poll(lambda: css("section.rollout tr.group[data-group=all][data-started='1']"),
         "the group 'all' started")
    page_until("/console/rollouts", lambda: on_target() == 2,
               f"both terminals on catalog {CATALOG}", 60)

    # a's printer runs out of paper: the alert appears
    assert a.rig.printer is not None
    a.rig.printer.send("paper out")
    page_until("/console/alerts",
               lambda: any(a.id in r.text and "缺纸" in r.text
                           for r in css("#alerts tr[data-alert]")),
               "a paper-out alert for terminal a")

    # maintenance on for b, pressed on its page: out of service, and the acknowledgement
    driver.get(url + f"/console/terminals/{b.id}")
    driver.find_element(By.ID, "cmd-maintenance_on").click()
    poll(lambda: css("#flash"), "the command queued")
    page_until(f"/console/terminals/{b.id}",
               lambda: [r.get_attribute("data-status") for r in
                        css("#commands tr[data-command=maintenance_on]")] == ["done"]
               and driver.find_element(By.ID, "terminal-screen").get_attribute("data-screen")
               == "out_of_service",
               "maintenance_on acknowledged and b on its out-of-service screen")
    detail = fleet_service.read(lambda c: store.terminal_detail(c, b.id, now=store.now()))
    assert detail["screen"] == "out_of_service" and detail["maintenance"] is True

    # a's process stops: late, then offline, on its page
    stopped = a
    a.stop()

    def state_of_a() -> str:
        return str(driver.find_element(By.ID, "terminal-state").get_attribute("class"))

    page_until(f"/console/terminals/{a.id}", lambda: "state-late" in state_of_a(),
               "terminal a shown late", 30)
    page_until(f"/console/terminals/{a.id}", lambda: "state-offline" in state_of_a(),
               "terminal a shown offline", 30)
    page_until("/console/", lambda: row_state(b) == "row-online" and
               row_state(a) == "row-offline", "b still online beside offline a", 30)

    # with a fleet URL the terminals' heartbeats went to the fleet only, none to central
    for k in kiosks:
        assert k.rig.central is not None
        beats = requests.get(f"{k.rig.central.address}/_admin/received?path=/heartbeat",
                             timeout=10).json()["requests"]
        assert beats == []  # (the simulator has no heartbeat endpoint any more either)
