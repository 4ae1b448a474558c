"""``kiosk print``: technician test prints on the receipt printer and the A4 printer.

Exit 0 when the printer confirms the job; 4 with the printer's reason (paper out, cover
open, offline, queue stopped …) otherwise; 2 for a bad profile or URI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from kiosk.exit_codes import EXIT_DEVICE, EXIT_OK, EXIT_USAGE


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


def receipt_test(args: argparse.Namespace) -> int:
    from drivers.receipt_printer import PrinterError, ReceiptPrinter, load_profile
    from kiosk.documents.printer_tests import printer_test_receipt

    try:
        profile = load_profile(args.profile)
        printer = ReceiptPrinter(args.uri, profile=profile)
    except (PrinterError, ValueError) as exc:
        print(f"kiosk print: {exc}", file=sys.stderr)
        return EXIT_USAGE
    job_id = f"receipt-test-{dt.datetime.now():%Y%m%d%H%M%S%f}"
    try:
        printer.open()
        result = printer.print_job(job_id, printer_test_receipt(profile.name, args.lang))
    except PrinterError as exc:
        print(f"receipt printer {args.uri}: {exc.fault}: {exc}", file=sys.stderr)
        return EXIT_DEVICE
    finally:
        printer.close()
    warning = f" (warning: {result.warning})" if result.warning else ""
    print(f"printed {job_id} on {args.uri} [{profile.name}], {result.bytes_sent} bytes{warning}")
    return EXIT_OK


def page_test(args: argparse.Namespace) -> int:
    from drivers.document_printer import DocumentPrinter
    from drivers.receipt_printer import PrinterError
    from kiosk.documents.printer_tests import printer_test_page

    pdf = printer_test_page(args.queue, args.lang)
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
