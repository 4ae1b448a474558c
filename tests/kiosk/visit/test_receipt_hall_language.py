"""The receipt names the hall in the resident's language ([terminal] hall_en / hall_zh_HK),
the 简体 name only where none is set."""

from __future__ import annotations

import time

import pytest
import requests

from drivers.receipt_printer import ReceiptPrinter, load_profile
from kiosk.catalog.services import Catalog
from kiosk.central.client import CentralClient
from kiosk.config import with_translations
from kiosk.demo.rig import DemoRig
from kiosk.parts import read_terminal_key
from kiosk.visit.effects import VisitEffects
from kiosk.visit.flow import Flow, Step
from offline_queue import Outbox


def last_receipt(rig) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the printer writes the job as it is sent
        jobs = sorted(rig.printer_dir.glob("job-*.txt"))
        if jobs:
            return jobs[-1].read_text(encoding="utf-8")
        time.sleep(0.05)
    raise AssertionError("no receipt printed")


@pytest.mark.parametrize("lang", ["en", "zh_HK"])
def test_a_receipt_names_the_hall_in_the_residents_language(tmp_path, lang):
    rig = DemoRig(tmp_path / "rig").start(camera=None)
    config = rig.config()
    terminal = config.terminal
    client = CentralClient(config.central["url"], terminal["id"], read_terminal_key(config),
                           timeout=(1.0, 2.0))
    outbox = Outbox(tmp_path / "outbox.sqlite", key=b"k" * 32)
    printer = ReceiptPrinter(config.devices["receipt_printer"], profile=load_profile("80mm-cjk"))
    printer.open()
    try:
        requests.post(f"{rig.central.address}/_admin/faults", json={"down": True},
                      timeout=5).raise_for_status()  # queued: the offline receipt, no ID needed
        effects = VisitEffects(client, terminal_id=terminal["id"], receipt_printer=printer,
                               outbox=outbox, hall=with_translations(
                                   terminal, ("hall", "hall_address", "hotline")))
        flow = Flow(Catalog.load(), effects, language=lang)
        flow.start()
        flow.choose_service("hall_12345")
        flow.confirm_intro()
        choice = flow.service.inputs[0].options["options"][0]["value"]
        flow.submit_inputs({"category": choice, "content": "STREET LIGHT BROKEN",
                            "mobile": "13800138000"})
        assert flow.step is Step.RESULT
        flow.print_result()
        receipt = last_receipt(rig)
        assert terminal[f"hall_{lang}"] in receipt and terminal["hall"] not in receipt
        assert terminal[f"hall_address_{lang}"] in receipt
    finally:
        printer.close()
        outbox.close()
        rig.stop()
