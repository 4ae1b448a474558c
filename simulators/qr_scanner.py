"""``kiosk-sim qr-scanner``: a 2D scanner engine on a pty, as kiosks' serial (virtual COM)
scanners are: each decoded code is sent as its text followed by a carriage return.

Control lines on stdin, answered ``ok …`` / ``error …`` on stdout:

    scan TEXT          the engine decodes TEXT (sent as TEXT + suffix)
    scan-png FILE      decode the QR in a PNG (what ``kiosk-sim app-code --png`` writes)
    noise              line noise: bytes that are no code (not visible ASCII), then CR
    suffix cr|crlf|lf  the terminator the engine is configured for (default cr)

It speaks only the wire: bytes on a pty. Like ``kiosk-sim idcard``, ``--link`` makes a path
a symlink to the pty so a restart brings the "scanner" back where it was.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import tty

SUFFIXES = {"cr": b"\r", "crlf": b"\r\n", "lf": b"\n"}
NOISE = b"\x00\xff\x13\x80\xfe"


class PtyScanner:
    """The master side of a raw pty that the host opens as the scanner's serial port."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        tty.setraw(self.master)
        self.path = os.ttyname(self.slave)
        self.suffix = SUFFIXES["cr"]
        self.lock = threading.Lock()

    def send(self, data: bytes) -> None:
        with self.lock:
            view = memoryview(data)
            while view:
                view = view[os.write(self.master, view):]

    def drain(self, stop: threading.Event) -> None:
        """Read (and drop) whatever the host writes — some hosts send a trigger command — so
        the pty never fills; a host closing its end is fine, the next one reopens it."""
        while not stop.is_set():
            try:
                if not os.read(self.master, 1024):
                    stop.wait(0.05)
            except OSError:
                stop.wait(0.05)


def decode_png(path: str) -> str:
    import cv2  # only for scan-png: the engine's own decoder

    image = cv2.imread(path)
    if image is None:
        raise ValueError(f"{path}: not an image")
    text, _points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    if not text:
        raise ValueError(f"{path}: no QR code found")
    return str(text)


def control(scanner: PtyScanner, line: str) -> str:
    words = line.strip().split(maxsplit=1)
    if not words:
        return ""
    verb, arg = words[0], (words[1] if len(words) > 1 else "")
    try:
        if verb == "scan" and arg:
            scanner.send(arg.encode() + scanner.suffix)
        elif verb == "scan-png" and arg:
            scanner.send(decode_png(arg).encode() + scanner.suffix)
        elif verb == "noise":
            scanner.send(NOISE + scanner.suffix)
        elif verb == "suffix" and arg in SUFFIXES:
            scanner.suffix = SUFFIXES[arg]
        else:
            return f"error unknown control line: {line.strip()}"
    except (OSError, ValueError) as exc:
        return f"error {verb}: {exc}"
    return f"ok {line.strip()}"


def run(args: argparse.Namespace) -> int:
    scanner = PtyScanner()
    address = scanner.path
    if args.link:
        tmp = f"{args.link}.{os.getpid()}.tmp"
        os.symlink(scanner.path, tmp)
        os.replace(tmp, args.link)
        address = args.link
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=scanner.drain, args=(stop,), daemon=True).start()
    print(address, flush=True)

    def controls() -> None:
        for line in sys.stdin:
            answer = control(scanner, line)
            if answer:
                print(answer, flush=True)

    threading.Thread(target=controls, daemon=True).start()
    stop.wait()
    if args.link and os.path.islink(args.link) and os.readlink(args.link) == scanner.path:
        os.unlink(args.link)
    os.close(scanner.master)
    os.close(scanner.slave)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("qr-scanner", help="2D code scanner engine on a pty",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--link", help="make this path a symlink to the pty")
    parser.set_defaults(func=run)
