"""Operations without Qt: built from explicit parts (config, devices, client, outbox, a port
onto the visit, a post-to-GUI callable), against the real central simulator process for the
government services and a real ``kiosk-fleet serve`` (tests/fixtures/fleet.py) for
heartbeats and remote commands."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pytest

from kiosk.catalog.services import Catalog
from kiosk.config import load_config
from kiosk.exit_codes import EXIT_RESTART
from kiosk.ops.operations import Operations
from kiosk.parts import Devices, build_sync, central_client, fleet_client
from offline_queue import Outbox
from tests.fixtures.fleet import FleetService


class Visits:
    """What operations may change in a visit; ``idle`` is the switch a test flips."""

    def __init__(self) -> None:
        self.idle = True
        self.maintenance = False
        self.catalogs: list[Catalog] = []
        self.timings: list[Mapping[str, float]] = []

    def set_maintenance(self, on: bool) -> None:
        self.maintenance = on

    def swap_catalog(self, catalog: Catalog) -> None:
        self.catalogs.append(catalog)

    def apply_session_timings(self, session: Mapping[str, float]) -> None:
        self.timings.append(session)


class Gui:
    """Stands in for the Qt bridge: posted calls run when the test says so, on its thread."""

    def __init__(self) -> None:
        self.posted: list[Callable[[], None]] = []
        self.lock = threading.Lock()

    def post(self, fn: Callable[[], None]) -> None:
        with self.lock:
            self.posted.append(fn)

    def run(self) -> int:
        with self.lock:
            calls, self.posted = self.posted, []
        for fn in calls:
            fn()
        return len(calls)


@dataclass
class Rig:
    ops: Operations
    visits: Visits
    gui: Gui
    exits: list[int]


@dataclass
class Fleet:
    """The fleet service and this terminal's id in it."""

    service: FleetService
    terminal_id: str

    def queue(self, command: str) -> str:
        return self.service.queue(self.terminal_id, command)


def _operations(config, outbox: Outbox) -> tuple[Rig, list]:
    """Operations as the app builds them at start; the clients to close afterwards."""
    visits, gui, exits = Visits(), Gui(), []
    client, fleet = central_client(config, retries=0), fleet_client(config)
    ops = Operations(config=config, devices=Devices(), client=client, outbox=outbox,
                     sync=build_sync(config, outbox), updates=None, visits=visits,
                     catalog=Catalog.load(), post=gui.post, exit_app=exits.append, fleet=fleet)
    return Rig(ops, visits, gui, exits), [client, fleet]


@pytest.fixture
def rig_and_fleet(central_sim, fleet_module, tmp_path):
    """Operations enrolled as a fresh terminal of the module's fleet service."""
    central_sim.reset()
    config = fleet_module.enrol(load_config().replace(
        central={"url": central_sim.url},
        ops={"technician_state": str(tmp_path / "technician.json"), "heartbeat_interval": 3600},
        outbox={"path": str(tmp_path / "outbox.sqlite")}), tmp_path / "fleet.key")
    outbox = Outbox(tmp_path / "outbox.sqlite")
    rig, clients = _operations(config, outbox)
    rig.config = config  # type: ignore[attr-defined]  # for a test that starts it again
    yield rig, Fleet(fleet_module, config.fleet["terminal_id"])
    rig.ops.stop()
    for client in clients:
        if client is not None:
            client.close()
    outbox.close()
    central_sim.reset()


@pytest.fixture
def rig(rig_and_fleet):
    return rig_and_fleet[0]


@pytest.fixture
def fleet(rig_and_fleet):
    return rig_and_fleet[1]


def test_a_command_changes_the_visit_only_through_the_gui_hop(rig, fleet):
    fleet.queue("maintenance_on")
    assert rig.ops.heartbeat.beat().commands == 1
    assert rig.ops.runner.run_pending() == 1
    assert rig.visits.maintenance is False  # nothing touched the visit from a worker
    assert rig.gui.run() == 1
    assert rig.visits.maintenance is True


def test_commands_wait_while_a_resident_is_mid_visit(rig, fleet):
    rig.visits.idle = False
    fleet.queue("reload_catalog")
    rig.ops.heartbeat.beat()
    assert rig.ops.runner.run_pending() == 0 and rig.ops.runner.pending == 1
    rig.visits.idle = True
    assert rig.ops.runner.run_pending() == 1
    rig.gui.run()
    assert len(rig.visits.catalogs) == 1 and rig.ops.catalog is rig.visits.catalogs[0]
    assert rig.ops.heartbeat.payload()["versions"]["catalog"] == str(len(rig.ops.catalog))


def test_restart_waits_until_the_fleet_has_the_ack(rig, fleet):
    cid = fleet.queue("restart_app")
    rig.ops.heartbeat.beat()
    rig.ops.runner.run_pending()
    rig.gui.run()
    assert rig.exits == []  # acknowledged first, or the fleet would count it lost
    assert fleet.service.command(fleet.terminal_id, cid)["status"] == "delivered"
    rig.ops.heartbeat.beat()  # posts the ack first
    rig.gui.run()
    assert rig.exits == [EXIT_RESTART]
    assert fleet.service.command(fleet.terminal_id, cid)["status"] == "done"


def test_a_restart_delivered_again_after_the_restart_is_not_run_twice(rig, fleet):
    """The terminal restarted on the fleet's command before its ack went out (the process
    ended), and the fleet delivers the command again. Before: the restarted terminal ran it
    again and restarted a second time; now it remembers (a file under var/) and only
    acknowledges it, with the first outcome."""
    cid = fleet.queue("restart_app")
    rig.ops.heartbeat.beat()
    assert rig.ops.runner.run_pending() == 1
    first = rig.ops.runner.take_acks()  # never posted: the process ends here
    rig.ops.stop()
    again, clients = _operations(rig.config, rig.ops.outbox)  # type: ignore[attr-defined]
    try:
        # the redelivered command, as the fleet's next reply carries it after its lease
        again.ops.runner.submit([{"id": cid, "command": "restart_app", "args": {}}])
        assert again.ops.runner.run_pending() == 0  # not run again
        assert again.ops.heartbeat.beat().sent  # posts the ack
        again.gui.run()
        assert again.exits == []  # no second restart
        assert fleet.service.ack(fleet.terminal_id, cid) == {"ok": True,
                                                            "detail": first[0]["detail"]}
        assert first == [{"id": cid, "ok": True, "detail": first[0]["detail"]}]
    finally:
        again.ops.stop()
        for client in clients:
            if client is not None:
                client.close()


def test_visits_are_counted_for_the_heartbeat(rig):
    rig.ops.visit_ended("finished")
    rig.ops.visit_ended("finished")
    rig.ops.visit_ended("idle_timeout")
    counters = rig.ops.heartbeat.payload()["counters"]
    assert counters == {"visits_finished": 2, "visits_idle_timeout": 1}


def test_no_qt_is_loaded_by_operations():
    import subprocess
    import sys

    code = ("import sys, kiosk.ops.operations, kiosk.parts; "
            "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
