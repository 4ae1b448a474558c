"""``kiosk-sim printer``: an ESC/POS receipt printer that renders each job to PNG and text.

TCP mode listens like a printer's raw port 9100 (``--pty``: a serial printer on a
pseudo-terminal, its path printed as the address) and answers DLE EOT with the configured
paper/cover state; stdin takes ``paper ok|near_end|out``, ``cover open|closed`` and, with
``--presenter`` (a kiosk printer holding each receipt in its mouth), ``receipt taken``. File
mode (``--input FILE``) decodes captured bytes into the same job files and exits.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("printer", help="ESC/POS receipt printer sink (PNG + text per job)")
    p.add_argument("--listen", default="127.0.0.1:9100", help="HOST:PORT (port 0: any free)")
    p.add_argument("--out", required=True, type=Path, help="directory for job-NNNN.* files")
    p.add_argument("--paper", choices=("ok", "near_end", "out"), default="ok")
    p.add_argument("--cover", choices=("open", "closed"), default="closed")
    p.add_argument("--fail-after", type=int, default=None, metavar="N",
                   help="paper runs out after N printed lines")
    p.add_argument("--dots", type=int, default=576, help="paper width in dots (576 = 80 mm)")
    p.add_argument("--pty", action="store_true",
                   help="serial mode: serve on a new pseudo-terminal and print its path")
    p.add_argument("--presenter", action="store_true",
                   help="kiosk printer: each cut receipt waits in the presenter until "
                        "'receipt taken' on stdin (DLE EOT 5 bit 2)")
    p.add_argument("--input", type=Path, default=None,
                   help="file mode: decode this captured byte stream and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from simulators.printer.server import SimPrinter, serve_pty, serve_tcp

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="printer-sim %(levelname)s %(message)s")
    sim = SimPrinter(args.out, paper=args.paper, cover=args.cover,
                     fail_after=args.fail_after, dots=args.dots, presenter=args.presenter)
    if args.input is not None:
        chunks = [args.input.read_bytes()]
        sim.run_stream(lambda: chunks.pop() if chunks else b"", lambda data: None)
        for path in sorted(args.out.glob("job-*.txt")):
            print(path)
        return 0

    def on_term(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    host, _, port = args.listen.rpartition(":")

    def ready(address: str) -> None:
        print(address, flush=True)

    def control() -> None:
        for line in sys.stdin:
            if line.strip():
                print(sim.control(line), flush=True)

    threading.Thread(target=control, daemon=True).start()
    if args.pty:
        serve_pty(sim, ready)
        return 0
    try:
        serve_tcp(sim, host or "127.0.0.1", int(port), ready)
    except OSError as exc:
        print(f"printer-sim: cannot listen on {args.listen}: {exc}", file=sys.stderr)
        return 4
    return 0
