"""``kiosk doctor``: is this terminal fit to serve residents? One line per thing that is not.

A technician arriving on site (or central, through collect-diagnostics) wants one answer per
part: each configured device opened and asked for its status, the central platform reached
with a signed call, free disk where the outbox and logs live, and the outbox's backlog and
dead letters. Every check is bounded in time so a hung device cannot hang the doctor.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from kiosk.config import Config, startup_problems
from kiosk.exit_codes import EXIT_CENTRAL, EXIT_DEVICE, EXIT_FAIL, EXIT_OK
from kiosk.json_types import JSON

if TYPE_CHECKING:
    from drivers.base import Device
    from kiosk.central.client import CentralClient
    from kiosk.parts import Devices

log = logging.getLogger(__name__)

MIN_FREE_BYTES = 200 * 1024 * 1024
MIN_FREE_RATIO = 0.05
OLDEST_READY_WARN_S = 24 * 3600

T = TypeVar("T")


@dataclass
class Check:
    """One verdict: ``name`` says what (``device:idcard``, ``central``, ``disk``, ``outbox``)."""

    name: str
    category: str  # device | central | disk | outbox | config
    ok: bool
    detail: str
    data: JSON = field(default_factory=dict)

    def to_json(self) -> JSON:
        return asdict(self)

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def _bounded(fn: Callable[[], T], timeout: float, what: str) -> T:
    """Run ``fn`` on a daemon thread; a hang becomes TimeoutError instead of a stuck doctor."""
    value: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            value.append(fn())
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller below
            error.append(exc)

    thread = threading.Thread(target=run, name=f"doctor-{what}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"{what}: no answer within {timeout:.0f} s")
    if error:
        raise error[0]
    return value[0]


def check_device(name: str, device: Device, *, settle: float = 3.0, live: bool = False) -> Check:
    """Open, wait until it stops ``starting``, read the status, close (``live``: status only).
    A device with ``diagnostics()`` (the ID-card reader) adds what it found to the verdict."""
    extra: JSON = {}

    def probe() -> JSON:
        if live:  # the app's own device: closing it would leave residents without it
            extra.update(_diagnostics(device, may_open=False))
            return device.status().to_json()
        device.open()
        try:
            deadline = time.monotonic() + settle
            status = device.status()
            while str(status.state) == "starting" and time.monotonic() < deadline:
                time.sleep(0.05)
                status = device.status()
            extra.update(_diagnostics(device, may_open=True))
            return status.to_json()
        finally:
            device.close()

    try:
        status = _bounded(probe, settle + 10.0, f"device {name}")
    except Exception as exc:  # noqa: BLE001 - drivers raise their own typed errors; all are findings
        return Check(f"device:{name}", "device", False, f"{type(exc).__name__}: {exc}")
    state = str(status["state"])  # DeviceStatus.to_json: already a str
    ok = state in ("ready", "busy")
    detail = state + (f" ({status['fault']})" if status.get("fault") else "")
    if status.get("detail"):
        detail += f": {status['detail']}"
    data: JSON = {"status": status}
    if extra:
        detail += _reader_detail(extra, detail)
        data["reader"] = extra
    return Check(f"device:{name}", "device", ok, detail, data)


def _diagnostics(device: Device, *, may_open: bool) -> JSON:
    diagnostics = getattr(device, "diagnostics", None)
    return dict(diagnostics(may_open=may_open)) if callable(diagnostics) else {}


def _reader_detail(info: JSON, said: str) -> str:
    """The ID-card reader's part of its line: reader and transport, SAM id, photo decoder,
    and devices seen but not used (``auto``), each with why; ``said``: not repeated."""
    parts = [f"reader {info.get('reader')}"]
    if info.get("sam_id"):
        parts.append(f"SAM {info['sam_id']}")
    elif info.get("sam_error"):
        error = str(info["sam_error"])
        parts.append("SAM not read" if error.partition(": ")[2] in said
                     else f"SAM not read ({error})")
    parts.append(str(info.get("photo_decoder")))
    not_used = info.get("not_used")
    if isinstance(not_used, list) and not_used:
        parts.append("not used: " + "; ".join(str(line) for line in not_used))
    notes = info.get("bus_notes")
    if isinstance(notes, list) and notes:
        parts.append("; ".join(str(note) for note in notes))
    return "; " + "; ".join(parts)


def check_central(client: CentralClient, *, timeout: float = 15.0) -> Check:
    """A signed, read-only call (update metadata): proves URL, TLS, key and clock are right."""
    try:
        reply = _bounded(client.update_metadata, timeout, "central")
    except Exception as exc:  # noqa: BLE001 - CentralError subclasses and timeouts are findings
        return Check("central", "central", False, f"{type(exc).__name__}: {exc}")
    return Check("central", "central", True, "reachable, signature accepted", {"updates": reply})


def check_disk(path: Path, *, min_free_bytes: int = MIN_FREE_BYTES,
               min_free_ratio: float = MIN_FREE_RATIO) -> Check:
    """Free space where the var dir lives; a full disk stops the outbox taking transactions."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        usage = shutil.disk_usage(probe)
    except OSError as exc:
        return Check("disk", "disk", False, f"{probe}: {exc.strerror} (errno {exc.errno})")
    ratio = usage.free / usage.total if usage.total else 0.0
    ok = usage.free >= min_free_bytes and ratio >= min_free_ratio
    detail = f"{probe}: {usage.free // (1024 * 1024)} MiB free ({ratio:.0%})"
    if not ok:
        detail += f"; need {min_free_bytes // (1024 * 1024)} MiB and {min_free_ratio:.0%}"
    return Check("disk", "disk", ok, detail, {"free": usage.free, "total": usage.total})


def check_outbox(path: Path) -> Check:
    """Backlog, oldest waiting item and dead letters; payloads are not opened (no key needed).

    A damaged file fails in one line and is left where it is (the app keeps it aside when it
    starts); a damaged file the app already kept aside fails too, until a technician has
    dealt with it (removed the ``.damaged-*`` files)."""
    from offline_queue import Outbox
    from offline_queue.damage import damage_reports, mark_path
    from offline_queue.errors import OutboxDamaged, OutboxError

    reports = damage_reports(path)
    if not path.exists() and not mark_path(path).exists() and not reports:
        return Check("outbox", "outbox", True, f"{path}: not created yet (nothing queued)")
    try:
        with Outbox(path) as box:
            stats = box.stats()
            dead = box.dead_items(limit=20)
    except OutboxDamaged as exc:
        return Check("outbox", "outbox", False, str(exc), exc.to_json())
    except OutboxError as exc:
        return Check("outbox", "outbox", False, f"{path}: {exc}")
    pending, oldest = stats["pending"], stats["oldest_ready_age_s"]
    dead_count = stats["by_state"].get("dead", 0)
    detail = f"{pending} waiting"
    if oldest is not None:
        detail += f", oldest {oldest / 3600:.1f} h"
    problems = []
    if reports:
        last = reports[-1]
        problems.append(f"damaged outbox kept aside as {last.get('moved_to') or '(nothing to move)'}"
                        f" ({last.get('reason')}; recovered {last.get('recovered')}, lost at most"
                        f" {last.get('lost')})" + (f", {len(reports)} damaged copies in all"
                                                  if len(reports) > 1 else ""))
    if dead_count:
        reasons = sorted({d.get("reason") or "?" for d in dead})[:3]
        problems.append(f"{dead_count} dead ({'; '.join(reasons)})")
    if oldest is not None and oldest > OLDEST_READY_WARN_S:
        problems.append("oldest item waiting more than 24 h")
    if problems:
        detail += "; " + ", ".join(problems)
    data: JSON = {"pending": pending, "oldest_ready_age_s": oldest, "dead": dead_count,
                  "by_stream": stats["by_stream"], "damaged": reports}
    return Check("outbox", "outbox", not problems, detail, data)


def check_technician(path: Path) -> Check:
    """The technician PIN state: a damaged file keeps technician mode shut (the kiosk still
    serves residents), and a technician must learn that before needing it."""
    from kiosk.ops.technician import state_problem

    problem = state_problem(path)
    if problem is not None:
        return Check("technician", "config", False,
                     f"technician mode refused: {problem}; `kiosk technician set-pin` replaces it")
    return Check("technician", "config", True, f"{path}: usable")


def run_doctor(config: Config, *, devices: dict[str, Device] | Callable[[], Devices],
               client: CentralClient | Callable[[], CentralClient], settle: float = 3.0,
               live: bool = False) -> list[Check]:
    """Every check, in the order a technician would go through them. ``devices`` and
    ``client`` are the running kiosk's own (``live``: read their status, never open or close
    them) or factories the doctor calls itself, when a failure to build them is a finding."""
    checks: list[Check] = []
    if callable(devices):
        try:
            built = devices()
            devices = built.all()
            for name, why in built.problems.items():
                checks.append(Check(f"device:{name}", "device", False, why))
        except Exception as exc:  # noqa: BLE001 - a bad URI or profile is a finding, not a crash
            checks.append(Check("devices", "device", False, f"{type(exc).__name__}: {exc}"))
            devices = {}
    for name, device in devices.items():
        checks.append(check_device(name, device, settle=settle, live=live))
    from kiosk.central.url_policy import url_problems  # http:// the mode forbids: loud

    checks.extend(Check("urls", "config", False, problem) for problem in url_problems(config))
    # what `kiosk run` refuses: no key, the published demo key in production, a missing profile …
    checks.extend(Check("startup", "config", False, problem) for problem in startup_problems(config))
    own_client = callable(client)
    reachable: CentralClient | None = None
    if callable(client):
        try:
            reachable = client()
        except Exception as exc:  # noqa: BLE001 - KeyFileError and the like
            checks.append(Check("central", "central", False, f"{type(exc).__name__}: {exc}"))
    else:
        reachable = client
    if reachable is not None:
        try:
            checks.append(check_central(reachable))
        finally:
            if own_client:
                reachable.close()
    outbox_path = config.path("outbox", "path")
    checks.append(check_disk(outbox_path.parent))
    checks.append(check_outbox(outbox_path))
    checks.append(check_technician(config.path("ops", "technician_state")))
    return checks


def exit_code(checks: list[Check]) -> int:
    """0 when all pass; else the first failure's family: 4 device, 5 central, 1 otherwise."""
    for check in checks:
        if not check.ok:
            return {"device": EXIT_DEVICE, "central": EXIT_CENTRAL}.get(check.category, EXIT_FAIL)
    return EXIT_OK
