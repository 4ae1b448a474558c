"""Technician device checks in plain words first, the driver's native cause second, with the
device's icon: a real receipt printer driver against the printer simulator (out of paper)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from drivers.receipt_printer import ReceiptPrinter, load_profile  # noqa: E402
from kiosk.ops.console import TechnicianConsole  # noqa: E402
from kiosk.ops.doctor import check_device, check_disk  # noqa: E402
from kiosk.ops.technician import TechnicianAccess  # noqa: E402
from screens.qt import QLabel, QWidget  # noqa: E402
from screens.technician import TechnicianScreen  # noqa: E402
from screens.theme import stylesheet  # noqa: E402


class Audit:
    def put(self, stream, payload):
        pass


def test_printer_out_of_paper_reads_plainly_before_its_native_cause(qtbot, tmp_path,
                                                                     printer_sim_factory):
    sim = printer_sim_factory("--paper", "out")
    printer = ReceiptPrinter(sim.uri, profile=load_profile("80mm-cjk"))
    access = TechnicianAccess(tmp_path / "tech.json", audit=Audit())
    access.set_pin("246813")
    console = TechnicianConsole(access, checks=lambda: [
        check_disk(tmp_path), check_device("receipt_printer", printer)])
    widget = TechnicianScreen(console)
    widget.setStyleSheet(stylesheet(False))
    widget.resize(1080, 1920)
    qtbot.addWidget(widget)
    widget.show()
    assert console.attempt("246813").ok
    widget.pages.setCurrentIndex(1)
    widget.show_checks()
    rows = widget.findChildren(QWidget, "device_check")
    assert len(rows) == 1  # old code: one line "✘ device:receipt_printer: error (paper_out)…"
    row = rows[0]
    status = row.findChild(QLabel, "device_status")
    cause = row.findChild(QLabel, "device_cause")
    assert status.text() == "凭条打印机缺纸 Receipt printer out of paper"
    assert "paper_out" in cause.text() and "paper roll empty" in cause.text()  # native, second
    qtbot.waitUntil(lambda: status.isVisible() and cause.isVisible(), timeout=2000)
    assert status.geometry().y() < cause.geometry().y()  # plain words first
    assert cause.font().pixelSize() < status.font().pixelSize() or \
        cause.property("role") == "hint"  # smaller, muted
    icons = [w.property("icon") for w in row.findChildren(QLabel) if w.property("icon")]
    assert icons == ["receipt"]
    widget.grab().save(str(tmp_path / "technician_checks.png"))
    print(tmp_path / "technician_checks.png")
