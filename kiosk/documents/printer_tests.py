"""The technician's test prints, one of each: the receipt that exercises what can go wrong on
a thermal printer, and the A4 page for CUPS. ``kiosk print`` and technician mode print these."""

from __future__ import annotations

import datetime as dt
from typing import Any

from drivers.escpos_elements import Barcode, Pair, QrCode, ReceiptDoc, Rule, Table, Text


def _now() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def printer_test_receipt(profile_name: str, lang: str = "zh_CN") -> ReceiptDoc:
    """CJK (simplified and traditional), full-width punctuation, a table, a QR code, a
    barcode and the cut. The text is the same in every language: it tests the font."""
    now = _now()
    return ReceiptDoc((
        Text("打印测试 / 打印測試 / Print test", "center", True, 1),
        Rule(),
        Pair("Profile", profile_name),
        Pair("Time", now),
        Text("简体：广州市政务服务一体机"),
        Text("繁體：廣州市政務服務一體機"),
        Text("标点：，。！？：；（）「」"),
        Text("ASCII: 0123456789 ABCDEFG abcdefg"),
        Table(("项目", "结果"), (("字体", "OK"), ("二维码", "OK"))),
        QrCode(f"kiosk-receipt-test {now}", "扫码测试"),
        Barcode("TEST-0123456789"),
    ), cut=True, title="receipt-test")


def printer_test_context(queue: str) -> dict[str, Any]:
    """The A4 test page: the three scripts and CJK punctuation a real document uses."""
    return {
        "queue": queue, "terminal_id": "technician", "printed_at": _now(),
        "verification_code": "TEST-PAGE", "verify_url": "kiosk-page-test",
        "records": [["简体", "广州市政务服务一体机 0123456789"],
                    ["繁體", "廣州市政務服務一體機 ABCDEFG"],
                    ["标点", "，。！？：；（）「」《》"],
                    ["English", "The quick brown fox jumps over the lazy dog."]],
    }


def printer_test_page(queue: str, lang: str = "zh_CN") -> bytes:
    """The A4 test page as PDF (reportlab is loaded only now)."""
    from kiosk.documents.a4 import render_a4

    return render_a4("printer_test", printer_test_context(queue), lang)
