"""Central goes down mid-day: a service that may be queued still serves the resident — the
request waits, encrypted, in the outbox, the receipt carries a local reference — and reaches
central exactly once when it is back. An online-only service says plainly that it cannot."""

from __future__ import annotations

import pytest
import requests

from drivers.identity import Identity
from drivers.receipt_printer import ReceiptPrinter, load_profile
from kiosk.catalog.services import Catalog
from kiosk.central.client import CentralClient
from kiosk.central.errors import CentralUnavailable
from kiosk.demo.rig import DemoRig
from kiosk.parts import read_terminal_key
from kiosk.visit.effects import VisitEffects
from kiosk.visit.flow import Flow, Step
from offline_queue import Outbox
from offline_queue.sync import SyncWorker

RESIDENT = Identity(card_type="resident", name="林晓测", id_number="44010619850101001X",
                    sex="female", birth_date="1985-01-01", source="id_card")


@pytest.fixture(scope="module")
def catalog():
    return Catalog.load()


@pytest.fixture
def world(tmp_path):
    rig = DemoRig(tmp_path / "rig").start(camera=None)
    config = rig.config()
    client = CentralClient(config.central["url"], config.terminal["id"], read_terminal_key(config),
                           timeout=(1.0, 2.0))
    outbox = Outbox(tmp_path / "outbox.sqlite", key=b"k" * 32)
    printer = ReceiptPrinter(config.devices["receipt_printer"], profile=load_profile("80mm-cjk"))
    printer.open()
    effects = VisitEffects(client, terminal_id="GZ-DEMO-0001", receipt_printer=printer,
                           outbox=outbox)
    yield rig, client, outbox, effects
    printer.close()
    outbox.close()
    rig.stop()


def central(rig, down: bool) -> None:
    requests.post(f"{rig.central.address}/_admin/faults", json={"down": down},
                  timeout=5).raise_for_status()


def test_a_queued_service_gives_a_local_reference_and_arrives_once(world, catalog):
    rig, client, outbox, effects = world
    central(rig, down=True)
    flow = Flow(catalog, effects)
    flow.start()
    flow.choose_service("hall_12345")  # 12345 留言: may be queued
    flow.confirm_intro()
    assert flow.step is Step.INPUTS
    service = flow.service
    choice = service.inputs[0].options["options"][0]["value"]
    flow.submit_inputs({"category": choice, "content": "STREET LIGHT BROKEN",
                        "mobile": "13800138000"})
    assert flow.step is Step.RESULT and flow.result.queued
    reference = flow.result.reference
    assert outbox.stats()["pending"] == 1
    flow.print_result()
    assert flow.step is Step.TAKE_DOCUMENTS
    receipt = _last_receipt(rig)
    assert reference in receipt

    central(rig, down=False)
    SyncWorker(outbox, client.upload_transactions, unavailable=(CentralUnavailable,)).sync_once()
    arrived = requests.get(f"{rig.central.address}/_admin/transactions", timeout=5).json()
    keys = [t["key"] for t in arrived["transactions"]]
    assert keys.count(reference) == 1
    assert outbox.stats()["pending"] == 0


@pytest.mark.expected_errors(r"visit error central\.unavailable: CentralUnavailable")
def test_an_online_only_service_says_the_network_is_down(world, catalog):
    rig, client, outbox, effects = world
    central(rig, down=True)
    flow = Flow(catalog, effects)
    flow.start()
    flow.choose_service("rs_jfmx")
    flow.confirm_intro()
    flow.card_read(RESIDENT)
    flow.submit_inputs({})
    assert flow.step is Step.ERROR and flow.error_key == "central.unavailable"
    assert outbox.stats()["pending"] == 0


def _last_receipt(rig) -> str:
    import time

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        jobs = sorted(rig.printer_dir.glob("job-*.txt"))
        if jobs:
            return jobs[-1].read_text(encoding="utf-8")
        time.sleep(0.05)
    raise AssertionError("no receipt printed")
