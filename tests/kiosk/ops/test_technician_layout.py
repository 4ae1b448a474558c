"""The technician screen's PIN page and device checks in portrait, landscape and the older
desk panels, through the widget-tree export: keys at least the touch target, nothing cut or
overlapping (the resident screens' layout checks), the lockout in plain words, and each
device's plain-words status above its native cause. PNGs are written for review."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from drivers.receipt_printer import ReceiptPrinter, load_profile  # noqa: E402
from kiosk.ops.console import TechnicianConsole  # noqa: E402
from kiosk.ops.doctor import check_device, check_disk  # noqa: E402
from kiosk.ops.technician import MAX_FAILURES, TechnicianAccess  # noqa: E402
from screens.qt import Qt, QWidget  # noqa: E402
from screens.technician import TechnicianScreen  # noqa: E402
from screens.theme import sizes, stylesheet  # noqa: E402
from screens.tree import flatten, widget_tree  # noqa: E402
from tests.screens.test_every_screen import problems  # noqa: E402

SIZES = [(1080, 1920), (1920, 1080), (1280, 1024), (1366, 768)]


class Audit:
    def put(self, stream, payload):
        pass


@pytest.fixture
def printer_out_of_paper(printer_sim_factory):
    sim = printer_sim_factory("--paper", "out")
    return ReceiptPrinter(sim.uri, profile=load_profile("80mm-cjk"))


def technician(qtbot, tmp_path, size, printer):
    access = TechnicianAccess(tmp_path / "tech.json", audit=Audit())
    access.set_pin("246813")
    console = TechnicianConsole(access, checks=lambda: [
        check_disk(tmp_path), check_device("receipt_printer", printer)])
    widget = TechnicianScreen(console)
    widget.setStyleSheet(stylesheet(False))
    widget.resize(*size)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def by_name(tree, name):
    return [n for n in flatten(tree) if n["name"] == name]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_pin_pad_keys_are_full_targets_and_nothing_is_cut(qtbot, tmp_path, size,
                                                          printer_out_of_paper):
    widget = technician(qtbot, tmp_path, size, printer_out_of_paper)
    for _ in range(MAX_FAILURES):  # the lockout: its sentence must fit too
        for d in "111111":
            qtbot.mouseClick(widget.keys[d], Qt.LeftButton)
        qtbot.mouseClick(widget.keys["✓"], Qt.LeftButton)
    for d in "12":
        qtbot.mouseClick(widget.keys[d], Qt.LeftButton)
    tree = widget_tree(widget)
    widget.grab().save(str(tmp_path / f"technician-pin-{size[0]}x{size[1]}.png"))
    target = sizes(False).target_px
    keys = [n for n in flatten(tree) if n["name"].startswith("key_") and n["name"] != "key_✓"]
    assert len(keys) == 12  # 0–9, clear, ⌫ (and 确定 beside 返回)
    for key in keys:  # old code: 12 keys squeezed into what the page had left
        w, h = key["geometry"][2:]
        assert w >= target and h >= target, (key["text"], w, h)
    (dots,) = by_name(tree, "pin_display")
    assert dots["role"] == "input" and dots["text"] == "● ●"  # masked
    (message,) = by_name(tree, "pin_message")
    assert message["role"] == "problem" and "Locked: try again in 15 min" in message["text"]
    assert by_name(tree, "pin_back")[0]["icon"]  # a back button, with its icon
    assert problems(widget, elderly=False) == []  # no cut text, small targets or overlaps


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_device_checks_put_plain_words_before_the_native_cause(qtbot, tmp_path, size,
                                                               printer_out_of_paper):
    widget = technician(qtbot, tmp_path, size, printer_out_of_paper)
    for d in "246813":
        qtbot.mouseClick(widget.keys[d], Qt.LeftButton)
    qtbot.mouseClick(widget.keys["✓"], Qt.LeftButton)
    assert widget.pages.currentIndex() == 1
    qtbot.waitUntil(lambda: bool(widget.findChildren(QWidget, "device_check"))
                    and widget.findChildren(QWidget, "device_check")[0].isVisible(), timeout=5000)
    tree = widget_tree(widget)
    widget.grab().save(str(tmp_path / f"technician-checks-{size[0]}x{size[1]}.png"))
    (row,) = by_name(tree, "device_check")
    (status,) = [n for n in flatten(row) if n["name"] == "device_status"]
    (cause,) = [n for n in flatten(row) if n["name"] == "device_cause"]
    assert status["text"] == "凭条打印机缺纸 Receipt printer out of paper"
    assert "paper roll empty" in cause["text"]  # the driver's own words, kept
    assert status["geometry"][1] < cause["geometry"][1]  # plain words first
    assert cause["font_px"] < status["font_px"]  # the cause smaller (and muted: role hint)
    assert any(n["icon"] for n in flatten(row))
    assert problems(widget, elderly=False) == []
