"""A receipt left in a kiosk printer's presenter: the driver asks the presenter status byte
(DLE EOT 5 bit 2, profile ``80mm-kiosk``) and announces the receipt presented and taken;
the printer simulator (a real subprocess on a real TCP port) holds each cut receipt until
``receipt taken``."""

from __future__ import annotations

import pytest

from drivers.base import DeviceState
from drivers.escpos_elements import ReceiptDoc, Text
from drivers.receipt_printer import PrinterError, ReceiptPrinter, decode_presenter, load_profile

KIOSK80 = load_profile("80mm-kiosk")
CJK80 = load_profile("80mm-cjk")
DOC = ReceiptDoc((Text("业务办理凭条", "center", True),), title="t")


def test_presenter_byte_bit_2_is_paper_waiting_and_fixed_bits_are_checked():
    assert decode_presenter(0x16) is True and decode_presenter(0x12) is False
    with pytest.raises(PrinterError) as err:
        decode_presenter(0x00)  # not a status byte: the stream is out of step
    assert err.value.fault == "protocol"


def test_printed_receipt_waits_in_the_presenter_until_taken(printer_sim_factory):
    sim = printer_sim_factory("--presenter")
    events: list[str] = []
    with ReceiptPrinter(sim.uri, profile=KIOSK80) as printer:
        printer.on_receipt_presented(lambda: events.append("presented"))
        printer.on_receipt_taken(lambda: events.append("taken"))
        assert printer.receipt_waiting is False
        assert printer.print_job("job-1", DOC).status == "ok"
        assert printer.receipt_waiting is True and events == ["presented"]
        assert printer.status().state == DeviceState.READY  # not a fault: the job went out
        assert printer.receipt_waiting is True and events == ["presented"]  # said once
        sim.take_receipt()
        printer.status()
        assert printer.receipt_waiting is False and events == ["presented", "taken"]
    assert len(sim.wait_jobs(1)) == 1


def test_a_profile_without_presenter_never_asks_for_it(printer_sim_factory):
    """A printer without presenter would not answer DLE EOT 5 (offline after the timeout)."""
    sim = printer_sim_factory()  # no --presenter: DLE EOT 5 gets no answer
    with ReceiptPrinter(sim.uri, profile=CJK80, timeout=1.0) as printer:
        assert printer.print_job("job-1", DOC).status == "ok"
        assert printer.status().state == DeviceState.READY and printer.receipt_waiting is False
