"""``kiosk queue``: the technician's view of the outbox, and a manual flush to central.

``kiosk queue stats --json`` counts by state and stream; ``kiosk queue sync --once`` uploads
every ready transaction and exits 0 only when none is left ready or in flight (5 when central
could not be reached or refused the terminal, 1 when some are left for another reason, e.g.
backing off or another drainer holds the file); ``dead`` lists parked transactions with
their reasons, ``retry`` sends them again.

Defaults: the outbox is ``$KIOSK_OUTBOX`` or ``var/outbox.sqlite`` under the project root,
its key ``var/secrets/outbox.key``; central URL, terminal id and signing key come from the
terminal's configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.exit_codes import EXIT_CENTRAL, EXIT_FAIL, EXIT_OK, EXIT_USAGE
from kiosk.paths import ROOT
from kiosk.secret_store import SecretStoreError, load_or_create_key
from offline_queue import Outbox, OutboxError

if TYPE_CHECKING:  # requests loads with the client, when a command needs central
    from kiosk.central.client import CentralClient
    from kiosk.config import Config
    from offline_queue.sync import SyncWorker

Command = Callable[[argparse.Namespace], int]

DEFAULT_KEY_FILE = ROOT / "var" / "secrets" / "outbox.key"


def default_db() -> Path:
    return Path(os.environ.get("KIOSK_OUTBOX") or ROOT / "var" / "outbox.sqlite")


def _say(message: str) -> None:
    print(f"kiosk queue: {message}", file=sys.stderr)


def _open(args: argparse.Namespace, *, need_key: bool) -> Outbox:
    db, key_file = Path(args.db), Path(args.key_file)
    key = load_or_create_key(key_file) if key_file.exists() else None
    if need_key:
        if db.exists() and not key_file.exists():
            raise SecretStoreError(f"{key_file} is missing; the payloads in {db} cannot be "
                                   "decrypted without it (give --key-file)")
        key = load_or_create_key(key_file)
    return Outbox(db, key=key)


def cmd_stats(args: argparse.Namespace) -> int:
    from offline_queue.damage import damage_reports

    with _open(args, need_key=False) as box:
        stats = box.stats()
    damaged = damage_reports(Path(args.db))
    if args.json:
        print(json.dumps({**stats, "damaged_copies": damaged}, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"outbox {stats['path']} ({'encrypted' if stats['encrypted'] else 'PLAIN'}): "
          f"{stats['rows']} rows, {stats['bytes']} bytes")
    print("  " + "  ".join(f"{state} {n}" for state, n in stats["by_state"].items()))
    for stream, counts in stats["by_stream"].items():
        if any(counts.values()):
            print(f"  {stream:<12}" + "  ".join(f"{s} {n}" for s, n in counts.items()))
    if stats["oldest_ready_age_s"] is not None:
        print(f"  oldest ready: {stats['oldest_ready_age_s']:.0f} s ago")
    for report in damaged:
        print(f"  damaged outbox kept aside: {report.get('moved_to')} ({report.get('reason')};"
              f" recovered {report.get('recovered')}, lost at most {report.get('lost')})")
    return EXIT_OK


def _central(args: argparse.Namespace, config: Config) -> CentralClient:
    """A CentralClient for this terminal, from the one factory the app uses (its TLS: the
    configured CA and client certificate); config supplies what the flags do not."""
    from kiosk.parts import central_client

    return central_client(config, url=args.central, terminal_id=args.terminal,
                          key_file=args.central_key, retries=1)


def _worker(box: Outbox, client: CentralClient, args: argparse.Namespace) -> SyncWorker:
    from kiosk.central.errors import CentralUnavailable, RateLimited, Unauthorized
    from offline_queue.sync import SyncWorker

    # A wrong terminal key or rate limiting is not the transactions' fault: treat as "down".
    return SyncWorker(box, client.upload_transactions, batch_size=args.batch_size,
                      unavailable=(CentralUnavailable, RateLimited, Unauthorized))


def cmd_sync(args: argparse.Namespace) -> int:
    from kiosk.central.signing import KeyFileError
    from kiosk.config import ConfigError, load_config
    from kiosk.parts import tls_failure

    if args.batch_size < 1:
        _say("--batch-size must be at least 1")
        return EXIT_USAGE
    try:
        config = load_config(args.config)
        client = _central(args, config)
    except (ConfigError, KeyFileError) as exc:
        _say(str(exc))
        return EXIT_USAGE
    with client, _open(args, need_key=True) as box:
        worker = _worker(box, client, args)
        if not args.once:
            return _sync_forever(worker)
        report = worker.sync_once(force=True)
        left = box.stats()
    pending, dead = left["pending"], left["by_state"]["dead"]
    summary = {"sent": report.sent, "dead_now": report.dead, "batches": report.batches,
               "pending": pending, "dead": dead, "central_unavailable": report.unavailable,
               "errors": report.errors[-3:]}
    print(json.dumps(summary, ensure_ascii=False) if args.json else
          f"sent {report.sent} in {report.batches} batches; {pending} left pending, {dead} dead")
    if pending == 0:
        return EXIT_OK
    if report.unavailable:
        error = report.errors[-1] if report.errors else "central unavailable"
        _say(tls_failure(config, error) or error)
        return EXIT_CENTRAL
    return EXIT_FAIL


def _sync_forever(worker: SyncWorker) -> int:
    """Foreground drainer until SIGINT/SIGTERM (the app normally runs the thread itself)."""
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    worker.start()
    try:
        done.wait()
    finally:
        worker.stop()
    return EXIT_OK


def cmd_dead(args: argparse.Namespace) -> int:
    with _open(args, need_key=False) as box:
        items = box.dead_items(limit=args.limit)
    if args.json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
    else:
        for item in items:
            print(f"{item['key']}  {item['stream']:<12} {item['created_at']}  {item['reason']}")
    return EXIT_OK


def cmd_retry(args: argparse.Namespace) -> int:
    with _open(args, need_key=False) as box:
        count = box.retry_dead(args.keys or None)
    print(f"{count} dead transactions made ready again")
    return EXIT_OK if count or not args.keys else EXIT_FAIL


def _guarded(func: Command) -> Command:
    """Typed outbox/key errors become one line on stderr and an exit code, never a traceback."""
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (OutboxError, SecretStoreError) as exc:
            _say(str(exc))
            return EXIT_FAIL
    return run


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("queue", help="inspect and flush the offline outbox",
                                   description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="queue_command", metavar="ACTION", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", default=str(default_db()), help="outbox file (default: %(default)s)")
        p.add_argument("--key-file", default=str(DEFAULT_KEY_FILE), help="outbox key file")
        p.add_argument("--json", action="store_true", help="machine-readable output")

    stats = sub.add_parser("stats", help="counts by state and stream")
    common(stats)
    stats.set_defaults(func=_guarded(cmd_stats))

    sync = sub.add_parser("sync", help="upload ready transactions to central")
    common(sync)
    sync.add_argument("--once", action="store_true", help="one flush, then exit (else run until stopped)")
    sync.add_argument("--central", help="central base URL (default: from config)")
    sync.add_argument("--terminal", help="terminal id (default: from config)")
    sync.add_argument("--central-key", help="terminal signing key file (default: from config)")
    sync.add_argument("--config", help="kiosk.toml override (default: $KIOSK_CONFIG)")
    sync.add_argument("--batch-size", type=int, default=500, help="transactions per request")
    sync.set_defaults(func=_guarded(cmd_sync))

    dead = sub.add_parser("dead", help="list dead transactions with their reasons")
    common(dead)
    dead.add_argument("--limit", type=int, default=1000)
    dead.set_defaults(func=_guarded(cmd_dead))

    retry = sub.add_parser("retry", help="make dead transactions ready again (all, or KEYs)")
    common(retry)
    retry.add_argument("keys", nargs="*", metavar="KEY")
    retry.set_defaults(func=_guarded(cmd_retry))
