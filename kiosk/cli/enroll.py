"""``kiosk enroll CODE``: get this terminal's id and key from central with a one-time code."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.cli.common import load_config_or_exit, override_file
from kiosk.exit_codes import EXIT_CENTRAL, EXIT_FAIL, EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("enroll", help="enrol this terminal with a one-time code from central")
    p.add_argument("code", help="the one-time enrolment code")
    p.add_argument("--config", help="override file to record the terminal id in "
                                    "(default: $KIOSK_CONFIG)")
    p.add_argument("--url", help="central URL (default: central.url from config)")
    p.add_argument("--key-file", help="where to store the key (default: central.key_file)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.cli.config import set_
    from kiosk.ops.enrolment import EnrolmentError, enroll, write_key

    target = override_file(args.config, "kiosk enroll", "records the terminal id")
    config = load_config_or_exit(target if target.exists() else None, "kiosk enroll")
    url = args.url or config.get("central", "url")
    try:
        result = enroll(url, args.code, timeout=(config.central["connect_timeout"],
                                                  config.central["read_timeout"]))
    except EnrolmentError as exc:
        print(f"kiosk enroll: {exc}", file=sys.stderr)
        return EXIT_CENTRAL
    key_path = Path(args.key_file) if args.key_file else config.path("central", "key_file")
    try:
        write_key(key_path, result.key)
    except OSError as exc:
        print(f"kiosk enroll: cannot store key at {key_path}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAIL
    for name, value in (("terminal.id", result.terminal_id), ("central.key_file", str(key_path)),
                        ("central.url", url)):
        code = set_(argparse.Namespace(name=name, value=value, config=target))
        if code:
            return code
    print(f"enrolled as {result.terminal_id}; key stored in {key_path}")
    return EXIT_OK
