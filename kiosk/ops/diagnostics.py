"""Diagnostics bundle and the standard remote-command handlers.

``collect_diagnostics`` packs what a support engineer asks for first — recent logs, the
effective config, device statuses, outbox numbers — into one tar.gz. Logs are already masked
when written (``kiosk.logs``); they are masked again here, because a bundle leaves the
terminal and a log line written by a library before masking was set up must not leak an ID.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.json_types import JSON
from kiosk.logs import mask_text
from kiosk.ops.remote_commands import CommandFailed, Handler

if TYPE_CHECKING:
    from kiosk.config import Config
    from offline_queue import Outbox

log = logging.getLogger(__name__)

LOG_TAIL_BYTES = 256 * 1024


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
    tar.addfile(info, io.BytesIO(data))


def _tail(path: Path, limit: int) -> str:
    with open(path, "rb") as fh:
        fh.seek(0, io.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - limit))
        data = fh.read()
    text = data.decode("utf-8", errors="replace")
    if size > limit:  # drop the partial first line
        text = text.partition("\n")[2]
    return text


def collect_diagnostics(*, log_dir: Path | None, config: Config | None = None,
                        snapshot: JSON | None = None,
                        tail_bytes: int = LOG_TAIL_BYTES) -> bytes:
    """A tar.gz of masked log tails, the effective config and the terminal's state."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        if config is not None:
            _add(tar, "config.json", json.dumps(config.as_dict(), ensure_ascii=False, indent=1,
                                                default=str).encode())
        if snapshot is not None:
            _add(tar, "state.json", mask_text(json.dumps(snapshot, ensure_ascii=False, indent=1,
                                                         default=str)).encode())
        if log_dir is not None and log_dir.is_dir():
            for path in sorted(log_dir.iterdir()):
                if path.is_file():
                    try:
                        _add(tar, f"logs/{path.name}", mask_text(_tail(path, tail_bytes)).encode())
                    except OSError as exc:
                        log.warning("diagnostics: cannot read %s: %s", path, exc.strerror)
    return buf.getvalue()


def outbox_uploader(outbox: Outbox) -> Callable[[bytes, JSON], str]:
    """Upload a bundle through the outbox (``telemetry`` stream) — central has no dedicated
    diagnostics endpoint yet, and the outbox survives an outage."""
    def upload(bundle: bytes, meta: JSON) -> str:
        digest = hashlib.sha256(bundle).hexdigest()
        outbox.put("telemetry", {"kind": "diagnostics", "sha256": digest, "bytes": len(bundle),
                                 "bundle_b64": base64.b64encode(bundle).decode(), **meta},
                   key=f"diagnostics-{digest[:32]}")
        return f"diagnostics {len(bundle)} bytes sha256 {digest[:12]} queued"
    return upload


FLEET_MAX_LINES = 5000  # the fleet document's Diagnostics.logs limits
FLEET_MAX_LINE = 4000
FLEET_MAX_BYTES = 1536 * 1024  # under the fleet's 2 MiB, with room for config and statuses


def bundle_as_fleet_json(bundle: bytes) -> JSON:
    """The tar.gz from :func:`collect_diagnostics` as the fleet's ``Diagnostics`` body:
    masked log lines (newest kept when over the limits), the config, the statuses."""
    import datetime as dt

    logs: list[str] = []
    body: JSON = {}
    with tarfile.open(fileobj=io.BytesIO(bundle), mode="r:gz") as tar:
        for member in tar.getmembers():
            fh = tar.extractfile(member)
            if fh is None:
                continue
            text = fh.read().decode("utf-8", "replace")
            if member.name == "config.json":
                body["config"] = json.loads(text)
            elif member.name == "state.json":
                body["statuses"] = json.loads(text)
            elif member.name.startswith("logs/"):
                name = member.name[len("logs/"):]
                logs += [f"{name}: {line}"[:FLEET_MAX_LINE] for line in text.splitlines() if line]
    logs = logs[-FLEET_MAX_LINES:]
    while logs and sum(len(x.encode()) + 4 for x in logs) > FLEET_MAX_BYTES:
        logs = logs[len(logs) // 10 or 1:]
    body["logs"] = [mask_text(line) for line in logs]
    body["collected_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return body


def fleet_uploader(fleet: object, config: Config | None = None) -> Callable[[bytes, JSON], str]:
    """Upload a bundle straight to the fleet service's diagnostics endpoint (a
    :class:`~kiosk.central.fleet_client.FleetClient`); the fleet down or refusing is the
    command's failure, with the reason, and the operator asks again."""
    def upload(bundle: bytes, meta: JSON) -> str:
        from kiosk.central.errors import CentralError

        body = bundle_as_fleet_json(bundle)
        try:
            reply = fleet.diagnostics(body)  # type: ignore[attr-defined]
        except CentralError as exc:
            raise CommandFailed(f"diagnostics not sent: {exc.detail}") from exc
        lines = body["logs"]
        count = len(lines) if isinstance(lines, list) else 0
        return f"diagnostics sent: {count} log lines, {reply['size']} bytes (id {reply['id']})"
    return upload


def standard_handlers(*, restart: Callable[[], None], set_maintenance: Callable[[bool], None],
                      reload_catalog: Callable[[], str | None], reload_config: Callable[[], str | None],
                      sync_outbox: Callable[[], str | None], diagnostics: Callable[[], bytes],
                      upload: Callable[[bytes, JSON], str]) -> dict[str, Handler]:
    """The handlers for every command central may send, built from the app's callbacks.

    Each callback raises to say it failed; ``CommandFailed`` carries a detail for central.
    ``restart`` should only schedule the restart: the app exits once the heartbeat that
    carries this command's ack was sent (``Heartbeat(on_sent=...)``), so central learns it
    was done instead of resending it to the restarted terminal.
    """
    def _maintenance(on: bool) -> Handler:
        def run(args: JSON) -> str:
            set_maintenance(on)
            return f"maintenance {'on' if on else 'off'}"
        return run

    def _diagnostics(args: JSON) -> str:
        bundle = diagnostics()
        if not bundle:
            raise CommandFailed("empty diagnostics bundle")
        return upload(bundle, {"request": args})

    def _restart(args: JSON) -> str:
        restart()
        return "restart requested"

    return {
        "restart_app": _restart,
        "maintenance_on": _maintenance(True),
        "maintenance_off": _maintenance(False),
        "reload_catalog": lambda args: reload_catalog() or "catalog reloaded",
        "reload_config": lambda args: reload_config() or "config reloaded",
        "sync_outbox": lambda args: sync_outbox() or "outbox synced",
        "collect_diagnostics": _diagnostics,
    }
