"""``kiosk technician set-pin|status``: set the technician PIN (stored hashed) on site.

Safe while the kiosk runs: both read and write the state file under its lock, and the app
reads it at every attempt, so a new PIN counts at the next one. ``set-pin`` also replaces a
damaged state file (the app refuses technician mode until then)."""

from __future__ import annotations

import argparse
import getpass
import sys

from kiosk.cli.common import load_config_or_exit
from kiosk.exit_codes import EXIT_FAIL, EXIT_OK, EXIT_USAGE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("technician", help="technician PIN: set it, see the lockout state")
    p.add_argument("action", choices=("set-pin", "status"))
    p.add_argument("--config", help="configuration file (default: $KIOSK_CONFIG or built-in)")
    p.add_argument("--pin-stdin", action="store_true",
                   help="read the new PIN from standard input (for provisioning scripts)")
    p.set_defaults(func=technician)


def technician(args: argparse.Namespace) -> int:
    from kiosk.ops.technician import TechnicianAccess, TechnicianError

    config = load_config_or_exit(args.config, "kiosk technician", logs=True)
    access = TechnicianAccess(config.path("ops", "technician_state"),
                              terminal_id=config.terminal["id"])
    if args.action == "status":
        try:
            until = access.locked_until()
            has_pin = access.has_pin
        except TechnicianError as exc:
            print(f"kiosk technician: technician mode refused: {exc}; "
                  f"`kiosk technician set-pin` replaces the file", file=sys.stderr)
            return EXIT_FAIL
        print(f"pin set: {'yes' if has_pin else 'no'}; "
              f"locked: {'until ' + str(until) if until else 'no'}")
        return EXIT_OK
    if args.pin_stdin:
        pin = sys.stdin.readline().strip()
    else:
        pin = getpass.getpass("new technician PIN (6-12 digits): ")
        if getpass.getpass("again: ") != pin:
            print("kiosk technician: the two PINs differ; nothing changed", file=sys.stderr)
            return EXIT_USAGE
    try:
        access.set_pin(pin, by="cli")
    except (TechnicianError, ValueError) as exc:
        print(f"kiosk technician: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print("technician PIN set")
    return EXIT_OK
