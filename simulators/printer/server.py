"""The simulated printer: paper and cover state, DLE EOT answers, one job file set per job.

With ``presenter`` on it is a kiosk printer whose presenter holds each cut receipt until
``receipt taken`` is said on stdin; DLE EOT 5 answers bit 2 (0x04) while one waits, as the
``80mm-kiosk`` profile expects (a printer without presenter ignores DLE EOT 5)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import tty
from pathlib import Path

from simulators.printer.decoder import (
    Bar,
    Cut,
    EscPosDecoder,
    Init,
    Item,
    Qr,
    Raster,
    TextLine,
)
from simulators.printer.render import to_png, to_text

log = logging.getLogger(__name__)

PAPER_STATES = ("ok", "near_end", "out")


class SimPrinter:
    """Printer state shared by every connection; jobs are numbered across connections."""

    def __init__(self, out_dir: Path, *, paper: str = "ok", cover: str = "closed",
                 fail_after: int | None = None, dots: int = 576, presenter: bool = False) -> None:
        self.out_dir = out_dir
        self.paper = paper
        self.cover = cover
        self.fail_after = fail_after
        self.dots = dots
        self.printed = 0  # lines printed since start, for --fail-after
        self.presenter = presenter
        self.receipt_in_mouth = False  # a cut receipt waits in the presenter
        self._lock = threading.Lock()
        self._job_no = 0
        out_dir.mkdir(parents=True, exist_ok=True)

    # -- state ---------------------------------------------------------------------------
    def stopped(self) -> bool:
        return self.paper == "out" or self.cover == "open"

    def status_byte(self, n: int) -> int | None:
        """The answer to DLE EOT n, bit by bit as in the ESC/POS reference (None: no answer)."""
        byte = 0x12
        if n == 5:
            if not self.presenter:
                return None
            return byte | (0x04 if self.receipt_in_mouth else 0)
        if n == 1 and self.stopped():
            byte |= 0x08  # offline
        elif n == 2:
            if self.cover == "open":
                byte |= 0x04
            if self.paper == "out":
                byte |= 0x20
        elif n == 4:
            if self.paper == "near_end":
                byte |= 0x0C
            elif self.paper == "out":
                byte |= 0x60
        return byte

    def control(self, line: str) -> str:
        """Stdin control: ``paper ok|near_end|out``, ``cover open|closed``, ``receipt taken``."""
        words = line.split()
        if words == ["receipt", "taken"]:
            self.receipt_in_mouth = False
        elif len(words) == 2 and words[0] == "paper" and words[1] in PAPER_STATES:
            self.paper = words[1]
        elif len(words) == 2 and words[0] == "cover" and words[1] in ("open", "closed"):
            self.cover = words[1]
        else:
            return f"error: unknown control {line.strip()!r}"
        mouth = f" receipt={'waiting' if self.receipt_in_mouth else 'none'}" if self.presenter else ""
        return f"ok paper={self.paper} cover={self.cover}{mouth}"

    # -- jobs ----------------------------------------------------------------------------
    def run_stream(self, read, write) -> None:
        """Decode one connection (``read()`` → bytes, b"" at end) until it closes."""
        job = _Job()

        asked: list[int] = []  # DLE EOT n seen in this chunk: answered once its jobs are taken
        # in, so a question sent right after a job sees that job's cut (and presenter)

        def answer_asked() -> None:
            for n in asked:
                byte = self.status_byte(n)
                if byte is not None:
                    write(bytes([byte]))
            asked.clear()

        decoder = EscPosDecoder(on_status_request=asked.append)
        start = 0
        while True:
            data = read()
            if not data:
                break
            decoder.feed(data)
            for item in decoder.take():
                if isinstance(item, Init):
                    if job.items or job.failed:  # a new job on a printer without cutter
                        job.raw += decoder.print_bytes[start:item.start]
                        start = item.start
                        self._finish(job)
                        job = _Job()
                    continue
                if isinstance(item, Cut):
                    job.raw += decoder.print_bytes[start:item.end]
                    start = item.end
                    if not job.failed:
                        job.items.append(item)
                        if self.presenter:  # the cut receipt waits in the mouth
                            self.receipt_in_mouth = True
                    self._finish(job)
                    job = _Job()
                    continue
                self._accept(job, item)
            answer_asked()
        decoder.flush_line()
        for item in decoder.take():
            if not isinstance(item, (Init, Cut)):
                self._accept(job, item)
        job.raw += decoder.print_bytes[start:]
        self._finish(job)

    def _accept(self, job: _Job, item: Item) -> None:
        if self.stopped():
            job.failed = True
            return
        job.items.append(item)
        if isinstance(item, (TextLine, Raster, Qr, Bar)):
            self.printed += 1
            if self.fail_after is not None and self.printed >= self.fail_after:
                log.info("paper ran out after %d lines", self.printed)
                self.paper = "out"
                self.fail_after = None

    def _finish(self, job: _Job) -> None:
        if not job.items and not job.failed and not job.raw.strip(b"\x1b@"):
            return  # only status questions and resets: not a job
        with self._lock:
            self._job_no += 1
            stem = self.out_dir / f"job-{self._job_no:04d}"
        stem.with_suffix(".bin").write_bytes(bytes(job.raw))
        to_png(job.items, self.dots, job.failed).save(stem.with_suffix(".png"))
        tmp = stem.with_suffix(".txt.tmp")
        tmp.write_text(to_text(job.items, job.failed), encoding="utf-8")
        os.replace(tmp, stem.with_suffix(".txt"))  # .txt last: its presence means complete
        log.info("job %s: %d items%s", stem.name, len(job.items), " (failed)" if job.failed else "")


class _Job:
    def __init__(self) -> None:
        self.items: list[Item] = []
        self.raw = bytearray()
        self.failed = False


def serve_tcp(sim: SimPrinter, host: str, port: int, ready) -> None:
    """Accept connections (one thread each: the app and a technician may both connect)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as srv:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((host, port))
        srv.listen(8)
        ready(f"{host}:{srv.getsockname()[1]}")
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=_serve_one, args=(sim, conn), daemon=True).start()


def serve_pty(sim: SimPrinter, ready) -> None:
    """A serial printer: the client opens the pty's slave path like /dev/ttyUSB0."""
    master, slave = os.openpty()
    tty.setraw(slave)  # no echo, no line discipline: ESC/POS is binary
    ready(os.ttyname(slave))

    def read() -> bytes:
        try:
            return os.read(master, 65536)
        except OSError:  # EIO: every slave side closed; ours stays open, so rarely
            return b""

    def write(data: bytes) -> None:
        os.write(master, data)

    try:
        sim.run_stream(read, write)
    finally:
        os.close(master)
        os.close(slave)


def _serve_one(sim: SimPrinter, conn: socket.socket) -> None:
    def read() -> bytes:
        try:
            return conn.recv(65536)
        except OSError:  # reset by the client: the job so far is still recorded
            return b""

    def write(data: bytes) -> None:
        try:
            conn.sendall(data)
        except OSError:
            pass

    with conn:
        sim.run_stream(read, write)
