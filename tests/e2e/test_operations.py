"""Central operations and technicians on the running app: a remote command queued in the
fleet service (a real ``kiosk-fleet serve``, tests/fixtures/fleet.py) reaches the terminal
through its heartbeat and closes it between visits; the hidden gesture and PIN open
technician mode."""

from __future__ import annotations

import pytest
import requests
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLabel, QPushButton

from kiosk.app.kiosk_app import KioskApp
from kiosk.demo.rig import DemoRig
from kiosk.ops.technician import TechnicianAccess
from kiosk.visit.flow import Step

pytestmark = pytest.mark.e2e
TERMINAL = "GZ-DEMO-0001"


@pytest.fixture
def rig(tmp_path):
    rig = DemoRig(tmp_path / "rig", mode="test").start()  # sub-second timers
    yield rig
    rig.stop()


@pytest.fixture
def app(rig, tmp_path, qtbot):
    TechnicianAccess(tmp_path / "technician.json").set_pin("246810", by="test")
    config = rig.config(ops={"heartbeat_interval": 0.3,
                             "technician_state": str(tmp_path / "technician.json")})
    app = KioskApp(config, tick_ms=100)
    app.start(show=True)
    yield app
    app.stop()


@pytest.fixture
def fleet_app(rig, tmp_path, qtbot, fleet_module):
    """The running app enrolled with a real fleet service (its heartbeats go there)."""
    config = fleet_module.enrol(rig.config(ops={"heartbeat_interval": 0.3}),
                                 tmp_path / "fleet.key")
    app = KioskApp(config, tick_ms=100)
    app.start(show=True)
    yield app
    app.stop()


def admin(rig, path, **body):
    url = f"{rig.central.address}/_admin/{path}"
    reply = requests.post(url, json=body, timeout=5) if body else requests.get(url, timeout=5)
    reply.raise_for_status()
    return reply.json()


def test_maintenance_waits_for_the_resident_then_closes_and_acknowledges(fleet_app,
                                                                         fleet_module, qtbot):
    app, terminal = fleet_app, fleet_app.config.fleet["terminal_id"]
    app.flow.start()  # a resident is mid-visit
    cid = fleet_module.queue(terminal, "maintenance_on")

    def status() -> str:
        return str(fleet_module.command(terminal, cid)["status"])

    qtbot.waitUntil(lambda: status() == "delivered", timeout=10000)  # the terminal has it
    for _ in range(2):  # two more heartbeats: the runner had its chance, and held it
        seen = app.ops.heartbeat.last
        qtbot.waitUntil(lambda seen=seen: app.ops.heartbeat.last is not seen, timeout=10000)
    assert app.flow.step is Step.HOME  # never interrupted
    assert status() == "delivered"
    app.flow.cancel()
    qtbot.waitUntil(lambda: app.flow.step is Step.OUT_OF_SERVICE, timeout=10000)
    assert not app.window.topbar.isVisible()
    qtbot.waitUntil(lambda: status() == "done", timeout=10000)  # acknowledged in the fleet
    app.flow.start()
    assert app.flow.step is Step.OUT_OF_SERVICE  # closed means closed
    fleet_module.queue(terminal, "maintenance_off")
    qtbot.waitUntil(lambda: app.flow.step is Step.ATTRACT, timeout=10000)


def test_five_corner_taps_and_the_pin_open_technician_mode(app, tmp_path, qtbot):
    for _ in range(5):
        qtbot.mouseClick(app.window.current_screen(), Qt.LeftButton, pos=QPoint(20, 20))
    assert app.window.technician is not None
    pad = app.window.technician
    for digit in "246810":
        qtbot.mouseClick(pad.findChild(QPushButton, f"key_{digit}"), Qt.LeftButton)
    qtbot.mouseClick(pad.findChild(QPushButton, "key_✓"), Qt.LeftButton)
    qtbot.waitUntil(lambda: pad.findChild(QPushButton, "recheck") is not None
                    and pad.findChild(QPushButton, "recheck").isVisible(), timeout=10000)
    result = pad.findChild(QLabel, "action_result")

    def press(name: str) -> None:  # checks and actions run on workers; the pad waits for each
        qtbot.waitUntil(lambda: not pad.busy, timeout=20000)
        qtbot.mouseClick(pad.findChild(QPushButton, name), Qt.LeftButton)
        qtbot.waitUntil(lambda: not pad.busy, timeout=20000)

    press("action_离线队列 Outbox")
    assert result.text().startswith("✔") and "pending" in result.text()
    press("action_测试打印凭条 Test receipt")
    assert "printed (ok)" in result.text()
    press("action_退出到桌面 Exit to desktop")
    assert "Press again" in result.text()  # one press never closes the kiosk
    qtbot.mouseClick(pad.findChild(QPushButton, "exit"), Qt.LeftButton)
    assert app.window.technician is None
    assert app.window.stack.currentWidget() is app.window.screens[Step.ATTRACT]


def test_technician_mode_leaves_by_itself(rig, tmp_path, qtbot):
    TechnicianAccess(tmp_path / "technician.json").set_pin("246810", by="test")
    config = rig.config(ops={"technician_state": str(tmp_path / "technician.json"),
                             "technician_idle_timeout": 0.5})
    app = KioskApp(config, tick_ms=100)
    app.start(show=True)
    try:
        for _ in range(5):
            qtbot.mouseClick(app.window.current_screen(), Qt.LeftButton, pos=QPoint(20, 20))
        assert app.window.technician is not None
        qtbot.waitUntil(lambda: app.window.technician is None, timeout=5000)
    finally:
        app.stop()


def test_taps_elsewhere_do_not_open_technician_mode(app, qtbot):
    for _ in range(4):
        qtbot.mouseClick(app.window.current_screen(), Qt.LeftButton, pos=QPoint(20, 20))
    qtbot.mouseClick(app.window.current_screen(), Qt.LeftButton, pos=QPoint(500, 900))
    assert app.window.technician is None
    assert not [w for w in app.window.findChildren(QLabel, "pin_display")]


def test_a_fleet_rollout_brings_a_published_catalog_to_the_running_terminal(
        rig, tmp_path, qtbot, tuf_repo, fleet_module):
    from fleet.repository_cli import main as kiosk_ops
    from kiosk.paths import SERVICES_DIR

    source = tmp_path / "catalog"
    source.mkdir()
    for path in SERVICES_DIR.glob("*.toml"):
        text = path.read_text(encoding="utf-8")
        if path.name == "hall.toml":  # a new hall service, copied from 取号 under a new id
            block = text[text.index("[[services]]"):]
            block = block[:block.index("[[services]]", 1)] if "[[services]]" in block[1:] else block
            text += "\n" + block.replace('id = "hall_qh"', 'id = "hall_new_from_central"')
        (source / path.name).write_text(text, encoding="utf-8")
    assert kiosk_ops(["add", str(tuf_repo.path), "catalog", str(source), "--version", "2026.12.1"]) == 0
    assert kiosk_ops(["publish", str(tuf_repo.path)]) == 0
    root = tmp_path / "root.json"
    root.write_bytes(tuf_repo.root)

    config = fleet_module.enrol(
        rig.config(ops={"heartbeat_interval": 0.3, "updates_url": tuf_repo.url,
                        "trusted_root": str(root), "updates_dir": str(tmp_path / "updates"),
                        "technician_state": str(tmp_path / "technician.json")}),
        tmp_path / "fleet.key")
    app = KioskApp(config, tick_ms=100)
    app.start(show=True)
    try:
        assert "hall_new_from_central" not in {s.id for s in app.flow.catalog.services}
        fleet_module.roll_out("catalog", "2026.12.1")  # to all: the heartbeat names the target
        qtbot.waitUntil(lambda: "hall_new_from_central" in {s.id for s in app.flow.catalog.services},
                        timeout=60000)
    finally:
        app.stop()
    restarted = KioskApp(config, tick_ms=100)  # the verified update is kept across a restart
    try:
        assert "hall_new_from_central" in {s.id for s in restarted.flow.catalog.services}
    finally:
        restarted.stop()


def test_network_banner_follows_central(app, rig, qtbot):
    app.flow.start()
    banner = app.window.banner
    assert not banner.isVisible()
    admin(rig, "faults", down=True)
    qtbot.waitUntil(lambda: banner.isVisible(), timeout=10000)
    assert "离线" in banner.text()
    admin(rig, "faults", down=False)
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=10000)


def test_technician_checks_leave_the_residents_devices_open(app, rig, qtbot):
    """Checking from technician mode reads the live devices; the next resident's card works."""
    app.ops.technician.attempt("246810")
    checks = app.ops.technician.run_checks()
    assert any(c.name == "device:idcard" and c.ok for c in checks)
    app.ops.technician.leave()
    app.flow.start()
    app.flow.choose_service("rs_jfmx")
    app.flow.confirm_intro()
    rig.place_card()
    qtbot.waitUntil(lambda: app.flow.step is Step.INPUTS, timeout=10000)
