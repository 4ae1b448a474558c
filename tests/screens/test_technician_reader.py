"""The technician screen's reader section: which ID-card reader was found, on which transport,
its SAM ID, and why a plugged device was not used. Real readers: the GA 467 simulator on a
pty, and ``auto`` over a virtual USB bus; the checks are the doctor's own."""

from __future__ import annotations

from PySide6.QtCore import Qt

from drivers.idcard import IdCardReader
from drivers.reader_models import load_model, load_models
from drivers.reader_watch import AutoTransport, ReaderWatcher
from kiosk.ops.console import TechnicianConsole
from kiosk.ops.doctor import check_device
from kiosk.ops.technician import TechnicianAccess
from screens.technician import TechnicianScreen
from simulators.idcard import SAM_ID
from tests.fixtures.virtual_usb import VirtualReader, VirtualUsbBus

PIN = "246813"


def _open(qtbot, tmp_path, checks) -> TechnicianScreen:
    access = TechnicianAccess(tmp_path / "tech.json")
    access.set_pin(PIN)
    screen = TechnicianScreen(TechnicianConsole(access, checks=checks))
    qtbot.addWidget(screen)
    screen.show()
    for digit in PIN:
        qtbot.mouseClick(screen.keys[digit], Qt.LeftButton)
    qtbot.mouseClick(screen.keys["✓"], Qt.LeftButton)
    return screen


def lines(screen) -> list[str]:
    """Each line of the checks; a device's row reads "plain words — native cause"."""
    widgets = [screen.check_box.itemAt(i).widget() for i in range(screen.check_box.count())]
    return [w.text() if hasattr(w, "text") else w.accessibleName() for w in widgets]


def test_the_reader_its_transport_and_sam_id_each_on_a_line(qtbot, tmp_path, idcard_sim):
    screen = _open(qtbot, tmp_path,
                   lambda: [check_device("idcard", IdCardReader(idcard_sim.uri), settle=3)])
    shown = lines(screen)
    assert shown[0] == "身份证读卡器正常 ID card reader working — ready"
    assert f"    读卡器 Reader: serial {idcard_sim.link} at 115200 baud" in shown
    assert "    连接 Transport: serial" in shown
    assert f"    SAM 编号 SAM ID: {SAM_ID.hex()}" in shown


def test_auto_says_what_it_found_and_why_another_device_was_not_used(qtbot, tmp_path):
    ss628 = load_model("ss628-100u")
    bus = VirtualUsbBus()
    bus.plug(VirtualReader(ss628.vid, ss628.pid, ss628.endpoint_out, ss628.endpoint_in))
    bus.plug(VirtualReader(0x0BDA, 0x8153))
    watcher = ReaderWatcher(load_models(), usb_backend=bus, list_hid=list, list_serial=list,
                            sdk_loads=lambda library: False)
    reader = IdCardReader(transport=AutoTransport(watcher))
    screen = _open(qtbot, tmp_path, lambda: [check_device("idcard", reader, settle=3)])
    shown = lines(screen)
    assert "    连接 Transport: auto" in shown
    assert any(line.startswith("    读卡器 Reader: auto: usb 0400:c35a SS628-100U") for line in shown)
    assert ("    未使用 Not used: usb 0bda:8153 bus 1 address 3: no model file in config/readers "
            "for 0bda:8153") in shown


def test_no_reader_found_names_the_device_seen_and_the_fault(qtbot, tmp_path):
    bus = VirtualUsbBus()
    bus.plug(VirtualReader(0x0BDA, 0x8153))
    watcher = ReaderWatcher(load_models(), usb_backend=bus, list_hid=list, list_serial=list,
                            sdk_loads=lambda library: False)
    reader = IdCardReader(transport=AutoTransport(watcher))
    screen = _open(qtbot, tmp_path, lambda: [check_device("idcard", reader, settle=1)])
    shown = lines(screen)
    assert shown[0].startswith("身份证读卡器未接上 ID card reader not plugged in — "
                               "offline (port_missing)")
    assert any(line.startswith("    未使用 Not used: usb 0bda:8153") for line in shown)
