"""``kiosk print``: technician test prints on the receipt printer and the A4 printer.

Exit 0 when the printer confirms the job; 4 with the printer's reason (paper out, cover
open, offline, queue stopped …) otherwise; 2 for a bad profile or URI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

EXIT_OK, EXIT_USAGE, EXIT_DEVICE = 0, 2, 4


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("print", help="test prints: receipt-test, page-test")
    actions = p.add_subparsers(dest="print_action", metavar="ACTION", required=True)
    r = actions.add_parser("receipt-test", help="print a test receipt (CJK, QR, barcode, cut)")
    r.add_argument("--uri", required=True, help="tcp://host:9100, serial:///dev/ttyS0?baud=…, …")
    r.add_argument("--profile", default="80mm-cjk", help="name in config/printers/")
    r.add_argument("--lang", default="zh_CN", choices=("zh_CN", "zh_HK", "en"))
    r.set_defaults(func=receipt_test)
    a = actions.add_parser("page-test", help="print an A4 test page through CUPS")
    a.add_argument("--queue", required=True, help="CUPS queue name (cups://NAME)")
    a.add_argument("--lang", default="zh_CN", choices=("zh_CN", "zh_HK", "en"))
    a.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the job")
    a.set_defaults(func=page_test)


def _now() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def test_receipt(profile_name: str, lang: str):
    """A receipt that exercises what can go wrong: CJK (simplified and traditional), full-width
    punctuation, a table, a QR code, a barcode and the cut."""
    from drivers.escpos_elements import Barcode, Pair, QrCode, ReceiptDoc, Rule, Table, Text

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


def receipt_test(args: argparse.Namespace) -> int:
    from drivers.receipt_printer import PrinterError, ReceiptPrinter, load_profile

    try:
        profile = load_profile(args.profile)
        printer = ReceiptPrinter(args.uri, profile=profile)
    except (PrinterError, ValueError) as exc:
        print(f"kiosk print: {exc}", file=sys.stderr)
        return EXIT_USAGE
    job_id = f"receipt-test-{dt.datetime.now():%Y%m%d%H%M%S%f}"
    try:
        printer.open()
        result = printer.print_job(job_id, test_receipt(profile.name, args.lang))
    except PrinterError as exc:
        print(f"receipt printer {args.uri}: {exc.fault}: {exc}", file=sys.stderr)
        return EXIT_DEVICE
    finally:
        printer.close()
    warning = f" (warning: {result.warning})" if result.warning else ""
    print(f"printed {job_id} on {args.uri} [{profile.name}], {result.bytes_sent} bytes{warning}")
    return EXIT_OK


def test_page_context(queue: str) -> dict:
    """The A4 test page: the three scripts and CJK punctuation a real document uses."""
    return {
        "queue": queue, "terminal_id": "technician", "printed_at": _now(),
        "verification_code": "TEST-PAGE", "verify_url": "kiosk-page-test",
        "records": [["简体", "广州市政务服务一体机 0123456789"],
                    ["繁體", "廣州市政務服務一體機 ABCDEFG"],
                    ["标点", "，。！？：；（）「」《》"],
                    ["English", "The quick brown fox jumps over the lazy dog."]],
    }


def page_test(args: argparse.Namespace) -> int:
    from drivers.document_printer import DocumentPrinter
    from drivers.receipt_printer import PrinterError
    from kiosk.documents.a4 import render_a4

    pdf = render_a4("printer_test", test_page_context(args.queue), args.lang)
    printer = DocumentPrinter(f"cups://{args.queue}", job_timeout=args.timeout)
    job_id = f"page-test-{dt.datetime.now():%Y%m%d%H%M%S%f}"
    try:
        printer.open()
        result = printer.print_job(job_id, pdf, title=job_id)
    except PrinterError as exc:
        print(f"document printer {args.queue}: {exc.fault}: {exc}", file=sys.stderr)
        return EXIT_DEVICE
    finally:
        printer.close()
    print(f"printed {job_id} on queue {args.queue}, {result.bytes_sent} bytes of PDF")
    return EXIT_OK
