"""The health gate of A/B software slots: a new version proves itself or is switched back.

Layout of the slots root (``/opt/kiosk/slots`` on a terminal, ``$KIOSK_SLOTS``)::

    a/ b/            two virtual environments; each has its version in ``kiosk-version``
    current          symlink to ``a`` or ``b``: what systemd starts (``current/bin/kiosk``)
    pending.json     written by the installer at the switch: slot, version, previous, deadline
    reports.json     rollbacks not yet delivered to central (the next heartbeat carries them)
    .lock            flock: the guard and the running app never decide at the same time

The running app calls :func:`after_heartbeat` once a heartbeat has been sent (in the app the
heartbeat starts only after the attract screen is painted), which confirms a pending version;
a terminal with no fleet service (updates from the repository alone) calls it once the
government platform has answered the heartbeat round's probe instead.
The guard runs *before every start* (``ExecStartPre``) and from a timer: a pending version
that has not confirmed by its deadline, or has been started ``max_starts`` times without
confirming (a crash loop), is switched back to the previous slot and a report is queued.

Standard library only, on purpose: systemd runs this file with the system ``python3`` from
``/usr/lib/kiosk-terminal/`` — never from the slot it judges, which may be the broken one.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SLOTS = ("a", "b")
ENV = "KIOSK_SLOTS"
DEFAULT_ROOT = Path("/opt/kiosk/slots")
VERSION_FILE = "kiosk-version"


class SlotError(Exception):
    """The slots root is missing or inconsistent; the message says what to fix."""


def _read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except ValueError:  # a torn write cannot happen (rename), a hand edit can: keep it visible
        log.error("%s is not JSON; treated as absent", path)
        return default


def _write_json(path: Path, data: Any) -> None:
    """Written whole or not at all: temp file, fsync, rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """One decision at a time across processes (guard, timer, running app, installer).

    Opened read-only: the root-run timer may have created the file, the kiosk user must
    still be able to take the lock."""
    fd = os.open(root / ".lock", os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def current_slot(root: Path) -> str | None:
    """``a`` or ``b`` (what ``current`` points at), None before the first install."""
    link = root / "current"
    if not link.is_symlink():
        return None
    name = os.readlink(link)
    return name if name in SLOTS else None


def slot_version(root: Path, slot: str) -> str | None:
    try:
        return (root / slot / VERSION_FILE).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def switch(root: Path, slot: str) -> None:
    """Point ``current`` at ``slot`` with one rename: a start sees old or new, never none."""
    if slot not in SLOTS:
        raise SlotError(f"unknown slot {slot!r} (expected a or b)")
    tmp = root / ".current.tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(slot, tmp)
    os.replace(tmp, root / "current")
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename survives a power cut right after the switch
    finally:
        os.close(fd)


def mark_pending(root: Path, slot: str, version: str, previous: str | None,
                 previous_version: str | None, *, bound_s: float, max_starts: int) -> None:
    """Called under :func:`locked` by the installer right after :func:`switch`."""
    _write_json(root / "pending.json", {
        "slot": slot, "version": version, "previous": previous,
        "previous_version": previous_version, "deadline": time.time() + bound_s,
        "bound_s": bound_s, "starts": 0, "max_starts": max_starts})


def pending(root: Path) -> dict[str, Any] | None:
    data = _read_json(root / "pending.json", None)
    return data if isinstance(data, dict) else None


def reports(root: Path) -> list[dict[str, Any]]:
    """Rollbacks central has not heard of yet, oldest first."""
    data = _read_json(root / "reports.json", [])
    return data if isinstance(data, list) else []


def _rollback(root: Path, marker: dict[str, Any], why: str) -> dict[str, Any]:
    previous = marker.get("previous")
    update: dict[str, Any] = {  # shaped like UpdateResult.to_json(), as every update report
        "type": "update", "kind": "software", "outcome": "rolled_back",
        "version": marker.get("version"), "previous": marker.get("previous_version"),
        "reason": "health_check", "detail": why}
    if previous in SLOTS:
        switch(root, previous)
    else:  # the very first install failed: nothing to go back to; stay, but say so
        update["detail"] += "; no previous slot to go back to"
    report = {"update": update}
    _write_json(root / "reports.json", [*reports(root), report])
    (root / "pending.json").unlink(missing_ok=True)
    log.error("software %s rolled back to %s: %s", marker.get("version"),
              marker.get("previous_version"), why)
    return report


def check(root: Path, *, starting: bool) -> str:
    """The gate. ``starting``: called just before the app starts (counts a start).

    Returns ``running`` (nothing pending), ``pending`` (the new version may start / keep
    running), or ``rolled_back``."""
    if not root.is_dir():
        raise SlotError(f"{root}: no slots root (install the kiosk-terminal package)")
    with locked(root):
        marker = pending(root)
        if marker is None:
            return "running"
        if current_slot(root) != marker.get("slot"):  # switched by hand since: not ours to judge
            (root / "pending.json").unlink(missing_ok=True)
            return "running"
        starts = int(marker.get("starts", 0))
        if time.time() > float(marker.get("deadline", 0)):
            _rollback(root, marker, f"no healthy heartbeat within {marker.get('bound_s')} s "
                                    f"({starts} start(s))")
            return "rolled_back"
        if starting:
            if starts >= int(marker.get("max_starts", 3)):
                _rollback(root, marker, f"started {starts} times without a healthy heartbeat")
                return "rolled_back"
            marker["starts"] = starts + 1
            _write_json(root / "pending.json", marker)
        return "pending"


# -- the running app's side ---------------------------------------------------------------------
def root_from_env(env: dict[str, str] | None = None) -> Path | None:
    """The slots root when this process runs from a slot (the unit sets ``KIOSK_SLOTS``)."""
    value = (os.environ if env is None else env).get(ENV, "")
    return Path(value) if value else None


def running_slot(root: Path) -> str | None:
    """The slot this interpreter runs from (its venv), None when run from elsewhere."""
    prefix = Path(sys.prefix).resolve()
    for slot in SLOTS:
        if (root / slot).resolve() == prefix:
            return slot
    return None


def after_heartbeat(version: str, delivered: int, root: Path | None = None) -> bool:
    """A heartbeat was sent by ``version`` carrying the first ``delivered`` reports: drop those,
    and confirm a pending version if it is this one, running from its slot. True if confirmed.
    Never raises: the slots' bookkeeping must not stop heartbeats."""
    root = root if root is not None else root_from_env()
    if root is None or not root.is_dir():
        return False
    try:
        with locked(root):
            if delivered:
                _write_json(root / "reports.json", reports(root)[delivered:])
            marker = pending(root)
            if (marker is None or marker.get("version") != version
                    or running_slot(root) != marker.get("slot")):
                return False
            (root / "pending.json").unlink(missing_ok=True)
        log.info("software %s confirmed healthy", version)
        return True
    except OSError as exc:
        log.error("slot bookkeeping after heartbeat failed: %s", exc)
        return False


def reports_from_env() -> list[dict[str, Any]]:
    """What the next heartbeat should carry (rollbacks); [] outside a slot install."""
    root = root_from_env()
    if root is None or not root.is_dir():
        return []
    try:
        return reports(root)
    except OSError as exc:  # unreadable: the reports wait for a heartbeat that can read them
        log.error("slot reports unreadable: %s", exc)
        return []


# -- command line (systemd: ExecStartPre and kiosk-slot-guard.timer) -----------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="slot_guard", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("start", "watch", "status"),
                        help="start: before each start (counts it); watch: from a timer; "
                             "status: print the slots")
    parser.add_argument("--root", type=Path, default=root_from_env() or DEFAULT_ROOT)
    parser.add_argument("--restart", metavar="UNIT",
                        help="watch: after a rollback, `systemctl restart UNIT`")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="slot_guard: %(message)s")
    try:
        if args.command == "status":
            print(json.dumps({"current": current_slot(args.root),
                              "slots": {s: slot_version(args.root, s) for s in SLOTS},
                              "pending": pending(args.root), "reports": reports(args.root)},
                             indent=1))
            return 0
        outcome = check(args.root, starting=args.command == "start")
    except (SlotError, OSError) as exc:
        print(f"slot_guard: {exc}", file=sys.stderr)
        return 2 if args.command == "watch" else 0  # never keep the kiosk from starting
    print(f"slot_guard: {outcome} ({current_slot(args.root)})")
    if outcome == "rolled_back" and args.restart:
        subprocess.run(["systemctl", "restart", args.restart], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
