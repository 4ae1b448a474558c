"""``kiosk enroll CODE``: get this terminal's id and key from central with a one-time code.

``kiosk enroll --fleet CODE`` does the same against central operations' fleet service with a
code from ``kiosk-fleet enrol-code`` (or the console): the fleet gives the terminal its own
fleet id and key (``[fleet] terminal_id``, ``key_file``), separate from the government
platform's, so either enrolment can be redone (a revoke, a replacement) without the other."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.cli.common import load_config_or_exit, override_file
from kiosk.exit_codes import EXIT_CENTRAL, EXIT_FAIL, EXIT_OK, EXIT_USAGE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("enroll", help="enrol this terminal with a one-time code from central")
    p.add_argument("code", help="the one-time enrolment code")
    p.add_argument("--config", help="override file to record the terminal id in "
                                    "(default: $KIOSK_CONFIG)")
    p.add_argument("--url", help="central URL (default: central.url from config)")
    p.add_argument("--key-file", help="where to store the key (default: central.key_file, "
                                      "or fleet.key_file with --fleet)")
    p.add_argument("--fleet", action="store_true",
                   help="enrol with the fleet service (code from `kiosk-fleet enrol-code`)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.cli.config import set_
    from kiosk.config import ConfigError
    from kiosk.ops.enrolment import EnrolmentError, enroll, write_key
    from kiosk.parts import enrolment_client, tls_failure

    target = override_file(args.config, "kiosk enroll", "records the terminal id")
    config = load_config_or_exit(target if target.exists() else None, "kiosk enroll")
    if getattr(args, "fleet", False):
        return _run_fleet(args, config, target)
    url = args.url or config.get("central", "url")
    try:  # the same TLS as every call (configured CA, client certificate): the reply is a key
        client = enrolment_client(config, url=url)
    except ConfigError as exc:  # InsecureURL (http:// in production), a CA file not there
        print(f"kiosk enroll: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with client:
            result = enroll(client, args.code)
    except EnrolmentError as exc:
        print(f"kiosk enroll: {tls_failure(config, str(exc)) or exc}", file=sys.stderr)
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


def _run_fleet(args: argparse.Namespace, config: object, target: Path) -> int:
    """``--fleet``: the fleet's id and key, recorded under ``[fleet]``."""
    from kiosk.cli.config import set_
    from kiosk.config import Config, ConfigError
    from kiosk.ops.enrolment import EnrolmentError, enroll, write_key
    from kiosk.parts import fleet_client

    assert isinstance(config, Config)
    url = args.url or config.get("fleet", "url")
    if not url:
        print("kiosk enroll --fleet: no fleet URL: give --url or set fleet.url", file=sys.stderr)
        return EXIT_USAGE
    try:
        client = fleet_client(config, url=url, enrolling=True)
    except ConfigError as exc:  # InsecureURL, a CA file not there
        print(f"kiosk enroll --fleet: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    assert client is not None
    try:
        with client:
            result = enroll(client, args.code)
    except EnrolmentError as exc:
        print(f"kiosk enroll --fleet: {exc}", file=sys.stderr)
        return EXIT_CENTRAL
    key_path = Path(args.key_file) if args.key_file else config.path("fleet", "key_file")
    try:
        write_key(key_path, result.key)
    except OSError as exc:
        print(f"kiosk enroll --fleet: cannot store key at {key_path}: {exc.strerror}",
              file=sys.stderr)
        return EXIT_FAIL
    for name, value in (("fleet.terminal_id", result.terminal_id),
                        ("fleet.key_file", str(key_path)), ("fleet.url", url)):
        code = set_(argparse.Namespace(name=name, value=value, config=target))
        if code:
            return code
    print(f"enrolled with the fleet as {result.terminal_id}; key stored in {key_path}")
    return EXIT_OK
