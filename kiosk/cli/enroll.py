"""``kiosk enroll CODE``: get this terminal's fleet id and key with a one-time code from central
operations (``kiosk-fleet enrol-code`` or the console).

The fleet service gives the terminal its own id and key (``[fleet] terminal_id``, ``key_file``),
separate from the government platform's (``[central] key_file``, which the platform
provisions), so a revoke and re-enrolment in the console never touches the key that signs
residents' applications. ``--fleet`` is the same command (kept for older install scripts)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.cli.common import load_config_or_exit, override_file
from kiosk.exit_codes import EXIT_CENTRAL, EXIT_FAIL, EXIT_OK, EXIT_USAGE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("enroll", help="enrol this terminal with the fleet service (one-time code)")
    p.add_argument("code", help="the one-time enrolment code from `kiosk-fleet enrol-code`")
    p.add_argument("--config", help="override file to record the fleet id in "
                                    "(default: $KIOSK_CONFIG)")
    p.add_argument("--url", help="fleet URL (default: fleet.url from config)")
    p.add_argument("--key-file", help="where to store the key (default: fleet.key_file)")
    p.add_argument("--fleet", action="store_true", help=argparse.SUPPRESS)  # the old spelling
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """The fleet's id and key, recorded under ``[fleet]``."""
    from kiosk.cli.config import set_
    from kiosk.config import ConfigError
    from kiosk.ops.enrolment import EnrolmentError, enroll, write_key
    from kiosk.parts import fleet_client, tls_failure

    target = override_file(args.config, "kiosk enroll", "records the terminal id")
    config = load_config_or_exit(target if target.exists() else None, "kiosk enroll")
    url = args.url or config.get("fleet", "url")
    if not url:
        print("kiosk enroll: no fleet URL: give --url or set fleet.url", file=sys.stderr)
        return EXIT_USAGE
    try:  # the same TLS as every call (configured CA, client certificate): the reply is a key
        client = fleet_client(config, url=url, enrolling=True)
    except ConfigError as exc:  # InsecureURL (http:// in production), a CA file not there
        print(f"kiosk enroll: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    assert client is not None
    try:
        with client:
            result = enroll(client, args.code)
    except EnrolmentError as exc:
        print(f"kiosk enroll: {tls_failure(config, str(exc), 'fleet') or exc}", file=sys.stderr)
        return EXIT_CENTRAL
    key_path = Path(args.key_file) if args.key_file else config.path("fleet", "key_file")
    try:
        write_key(key_path, result.key)
    except OSError as exc:
        print(f"kiosk enroll: cannot store key at {key_path}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAIL
    for name, value in (("fleet.terminal_id", result.terminal_id),
                        ("fleet.key_file", str(key_path)), ("fleet.url", url)):
        code = set_(argparse.Namespace(name=name, value=value, config=target))
        if code:
            return code
    print(f"enrolled with the fleet as {result.terminal_id}; key stored in {key_path}")
    return EXIT_OK
