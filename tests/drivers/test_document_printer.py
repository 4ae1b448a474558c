"""DocumentPrinter against a real CUPS server with a cups-pdf queue, and the reason table."""

from __future__ import annotations

import cups
import pytest

from drivers.base import DeviceState
from drivers.document_printer import DocumentPrinter, fault_from_reasons
from drivers.receipt_printer import PrinterError
from kiosk.cli.main import main
from kiosk.documents.a4 import render_a4
from kiosk.documents.a4_templates import sample_a4_context


@pytest.mark.parametrize(("reasons", "state", "accepting", "expected"), [
    (["none"], 3, True, (None, False)),
    (["media-empty-error"], 3, True, ("paper_out", True)),
    (["media-needed"], 3, True, ("paper_out", True)),
    (["toner-low-warning"], 3, True, ("toner_low", False)),
    (["toner-low"], 3, True, ("toner_low", False)),
    (["media-low-report", "cover-open"], 3, True, ("cover_open", True)),
    (["offline-report"], 3, True, ("offline", True)),
    (["cups-missing-filter-warning"], 3, True, (None, False)),
    (["some-vendor-thing-error"], 3, True, ("error", True)),
    (["paused"], 5, True, ("offline", True)),
    (["none"], 5, True, ("offline", True)),
    (["none"], 3, False, ("offline", True)),
])
def test_printer_state_reasons_map_to_faults(reasons, state, accepting, expected):
    assert fault_from_reasons(reasons, state, accepting)[:2] == expected


def _cups_jobs(queue: str) -> int:
    return sum(1 for job in cups.Connection().getJobs(which_jobs="all").values()
               if job is not None) if queue else 0


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render_a4("tax_certificate", sample_a4_context("tax_certificate"), "zh_CN")


def test_job_completes_and_cups_pdf_writes_it(cups_pdf_queue, pdf, tmp_path):
    with DocumentPrinter(cups_pdf_queue.uri) as printer:
        assert printer.status().state == DeviceState.READY
        result = printer.print_job("tax-1", pdf)
    assert result.status == "ok" and result.bytes_sent == len(pdf)
    out = cups_pdf_queue.wait_for_pdf(timeout=60)
    assert out.read_bytes().startswith(b"%PDF-")


def test_same_job_id_is_submitted_once(cups_pdf_queue, pdf):
    with DocumentPrinter(cups_pdf_queue.uri) as printer:
        printer.print_job("tax-dup", pdf)
        cups_pdf_queue.wait_for_pdf(timeout=60)
        before = _cups_jobs(cups_pdf_queue.queue)
        assert printer.print_job("tax-dup", pdf).status == "duplicate"
        assert _cups_jobs(cups_pdf_queue.queue) == before


def test_stopped_queue_refuses_the_job_up_front(cups_pdf_queue, pdf):
    cups_pdf_queue.disable("out of paper (test)")
    try:
        with DocumentPrinter(cups_pdf_queue.uri) as printer:
            assert printer.status().fault == "offline"
            before = _cups_jobs(cups_pdf_queue.queue)
            with pytest.raises(PrinterError, match="not started") as err:
                printer.print_job("tax-2", pdf)
            assert err.value.fault == "offline"
            assert _cups_jobs(cups_pdf_queue.queue) == before
    finally:
        cups_pdf_queue.enable()


def test_unknown_queue_and_bad_input_are_typed_errors(cups_pdf_queue, pdf):
    with DocumentPrinter("cups://no-such-queue") as printer:
        assert printer.status().fault == "config"
        with pytest.raises(PrinterError) as err:
            printer.print_job("x", pdf)
        assert err.value.fault == "config"
    with DocumentPrinter(cups_pdf_queue.uri) as printer, pytest.raises(PrinterError) as err:
        printer.print_job("y", b"hello")
    assert err.value.fault == "bad_document"
    with pytest.raises(PrinterError):
        DocumentPrinter("tcp://127.0.0.1:9100")


def test_page_test_command(cups_pdf_queue, capsys):
    assert main(["print", "page-test", "--queue", cups_pdf_queue.queue]) == 0
    assert cups_pdf_queue.wait_for_pdf(timeout=60).name.startswith("page-test-")
    cups_pdf_queue.disable()
    try:
        assert main(["print", "page-test", "--queue", cups_pdf_queue.queue]) == 4
    finally:
        cups_pdf_queue.enable()
    assert "offline" in capsys.readouterr().err
