"""The A4 document printer: PDF jobs to a CUPS queue, followed until completed or aborted.

Why pycups and not ``lp``/``lpstat``: IPP attributes come back typed (job-state as a
number, printer-state-reasons as a list), job ids are returned directly, and nothing
depends on parsing localised command output. The queue's printer-state-reasons
(media-empty, toner-low, offline, cover-open …) are checked before a job so the kiosk can
refuse up front instead of leaving a resident waiting for paper that never comes.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from drivers.base import Device, DeviceState, DeviceStatus
from drivers.receipt_printer import PrinterError, PrintResult
from drivers.uri import parse_device_uri

if TYPE_CHECKING:
    import cups

log = logging.getLogger(__name__)

# IPP job-state values (RFC 8011 §5.3.7)
JOB_PENDING, JOB_HELD, JOB_PROCESSING, JOB_STOPPED = 3, 4, 5, 6
JOB_CANCELED, JOB_ABORTED, JOB_COMPLETED = 7, 8, 9
PRINTER_STOPPED = 5

# printer-state-reasons keyword (without -error/-warning/-report) → (fault, blocks a job)
REASONS = {
    "media-empty": ("paper_out", True), "media-needed": ("paper_out", True),
    "media-jam": ("paper_jam", True), "cover-open": ("cover_open", True),
    "door-open": ("cover_open", True), "offline": ("offline", True),
    "shutdown": ("offline", True), "paused": ("offline", True),
    "toner-empty": ("toner_out", True), "marker-supply-empty": ("toner_out", True),
    "media-low": ("paper_low", False), "toner-low": ("toner_low", False),
    "marker-supply-low": ("toner_low", False),
}


def fault_from_reasons(reasons: list[str], state: int = 3,
                       accepting: bool = True) -> tuple[str | None, bool, str]:
    """(fault, blocking, detail) for a queue; the first blocking reason wins."""
    found: list[tuple[str, bool, str]] = []
    for reason in reasons:
        if reason == "none":
            continue
        base, severity = reason, None
        for suffix in ("-error", "-warning", "-report"):
            if reason.endswith(suffix):
                base, severity = reason[: -len(suffix)], suffix[1:]
        fault, blocking = REASONS.get(base, ("error" if severity == "error" else None, True))
        if fault is None:  # an unknown reason that is not an error: CUPS' own notes
            continue
        if severity in ("error", "warning"):  # the suffix overrides the table's default
            blocking = severity == "error"
        found.append((fault, blocking, reason))
    blockers = [f for f in found if f[1]]
    if blockers:
        return blockers[0][0], True, ", ".join(r for _, _, r in found)
    if state == PRINTER_STOPPED:
        return "offline", True, "queue stopped"
    if not accepting:
        return "offline", True, "queue not accepting jobs"
    if found:
        return found[0][0], False, ", ".join(r for _, _, r in found)
    return None, False, ""


class DocumentPrinter(Device):
    """A CUPS queue at ``cups://queue-name`` (``cups://queue@host:port`` for another server)."""

    kind = "document_printer"

    def __init__(self, uri: str, *, job_timeout: float = 120.0, poll: float = 0.2,
                 journal: Path | None = None, name: str | None = None) -> None:
        super().__init__(name)
        parsed = parse_device_uri(uri)
        if parsed.scheme != "cups" or not parsed.host:
            raise PrinterError(f"not a CUPS printer URI: {uri!r} (expected cups://queue)",
                               fault="config")
        queue, _, server = parsed.host.partition("@")
        self.uri, self.queue, self.server = uri, queue, server
        self.job_timeout, self.poll = job_timeout, poll
        self._journal = journal
        self._conn: cups.Connection | None = None
        self._lock = threading.RLock()
        self._done: set[str] = set()
        if journal is not None and journal.exists():
            self._done = {ln.strip() for ln in journal.read_text().splitlines() if ln.strip()}

    # -- lifecycle ---------------------------------------------------------------------------
    def open(self) -> None:
        with self._lock:
            self._set_status(DeviceState.STARTING)
            self._connection()
            self.status()

    def close(self) -> None:
        with self._lock:
            self._conn = None  # pycups closes the HTTP connection when the object goes
            self._set_status(DeviceState.OFFLINE)

    def _connection(self) -> cups.Connection:
        import cups

        if self._conn is None:
            try:
                if self.server:
                    host, _, port = self.server.partition(":")
                    self._conn = cups.Connection(host=host, port=int(port or 631))
                else:
                    self._conn = cups.Connection()
            except RuntimeError as exc:  # pycups: "failed to connect to server"
                self._set_status(DeviceState.OFFLINE, "offline", "CUPS not reachable")
                raise PrinterError("CUPS server not reachable", fault="offline",
                                   native=str(exc)) from exc
        return self._conn

    # -- status ------------------------------------------------------------------------------
    def status(self) -> DeviceStatus:
        """Ask CUPS now: queue state, accepting-jobs and printer-state-reasons."""
        import cups

        with self._lock:
            try:
                attrs = self._connection().getPrinterAttributes(
                    self.queue, requested_attributes=["printer-state", "printer-state-reasons",
                                                      "printer-is-accepting-jobs"])
            except cups.IPPError as exc:
                status, message = exc.args
                self._conn = None
                ipp_fault = "config" if status == cups.IPP_NOT_FOUND else "offline"
                self._set_status(DeviceState.OFFLINE, ipp_fault, f"queue {self.queue}: {message}")
                return self._status
            except (PrinterError, RuntimeError) as exc:
                self._conn = None
                self._set_status(DeviceState.OFFLINE, "offline", f"CUPS: {exc}")
                return self._status
            reasons = list(attrs.get("printer-state-reasons", []))
            fault, blocking, detail = fault_from_reasons(
                reasons, attrs.get("printer-state", 3), attrs.get("printer-is-accepting-jobs", True))
            if blocking:
                state = DeviceState.OFFLINE if fault == "offline" else DeviceState.ERROR
            else:
                state = DeviceState.BUSY if attrs.get("printer-state") == 4 else DeviceState.READY
            self._set_status(state, fault, detail)
            return self._status

    # -- jobs --------------------------------------------------------------------------------
    def print_job(self, job_id: str, pdf: bytes, *, title: str | None = None) -> PrintResult:
        """Print ``pdf`` once per ``job_id`` and wait for CUPS to finish it."""
        import cups

        with self._lock:
            if job_id in self._done:
                log.info("%s: job %s already printed; not printing again", self.name, job_id)
                return PrintResult(job_id, "duplicate")
            if not pdf.startswith(b"%PDF-"):
                raise PrinterError(f"job {job_id}: not a PDF", fault="bad_document")
            before = self.status()
            if before.state in (DeviceState.OFFLINE, DeviceState.ERROR):
                raise PrinterError(f"job {job_id} not started: {before.detail or before.fault}",
                                   fault=before.fault or "offline")
            with tempfile.NamedTemporaryFile(suffix=".pdf", prefix="kiosk-") as tmp:
                tmp.write(pdf)
                tmp.flush()
                try:
                    cups_id = self._connection().printFile(self.queue, tmp.name,
                                                           title or f"kiosk-{job_id}", {})
                except cups.IPPError as exc:
                    raise PrinterError(f"job {job_id}: CUPS refused it: {exc.args[1]}",
                                       fault="offline", native=exc.args[0]) from exc
                log.info("%s: job %s is CUPS job %d", self.name, job_id, cups_id)
                self._set_status(DeviceState.BUSY, before.fault, before.detail)
                self._follow(job_id, cups_id)
            result = PrintResult(job_id, "ok", len(pdf), self.status().fault)
            self._done.add(job_id)
            if self._journal is not None:
                with self._journal.open("a", encoding="utf-8") as fh:
                    fh.write(job_id + "\n")
            self._emit("job_done", result)
            return result

    def _follow(self, job_id: str, cups_id: int) -> None:
        """Wait for completed; aborted/canceled/stopped or the timeout → PrinterError."""
        import cups

        deadline = time.monotonic() + self.job_timeout
        conn = self._connection()
        while True:
            try:
                attrs = conn.getJobAttributes(cups_id, requested_attributes=[
                    "job-state", "job-state-reasons", "job-printer-state-message"])
            except cups.IPPError as exc:
                raise PrinterError(f"job {job_id}: lost track of CUPS job {cups_id}",
                                   fault="offline", native=exc.args[0]) from exc
            state = attrs.get("job-state")
            if state == JOB_COMPLETED:
                return
            reasons = attrs.get("job-state-reasons", [])
            if isinstance(reasons, str):
                reasons = [reasons]
            if state in (JOB_ABORTED, JOB_CANCELED) or state == JOB_STOPPED:
                printer = self.status()
                if state == JOB_STOPPED:  # the resident has gone: do not print it later
                    self._cancel(cups_id)
                fault = printer.fault if printer.fault else "job_failed"
                raise PrinterError(f"job {job_id} {_STATE_NAMES.get(state, state)}: "
                                   f"{', '.join(reasons) or printer.detail}", fault=fault,
                                   native=attrs.get("job-printer-state-message") or state)
            if time.monotonic() > deadline:
                self._cancel(cups_id)
                raise PrinterError(f"job {job_id}: not printed within {self.job_timeout:.0f} s",
                                   fault="timeout", native=", ".join(reasons))
            time.sleep(self.poll)

    def _cancel(self, cups_id: int) -> None:
        import cups

        try:
            self._connection().cancelJob(cups_id, purge_job=False)
        except cups.IPPError as exc:
            log.warning("%s: could not cancel CUPS job %d: %s", self.name, cups_id, exc)


_STATE_NAMES = {JOB_STOPPED: "stopped", JOB_CANCELED: "canceled", JOB_ABORTED: "aborted"}
