"""``kiosk``: the terminal app and its technician command line.

Exit codes shared by every subcommand: 0 done, 2 usage, 3 nothing came before the timeout,
4 device or protocol error, 5 central platform error, 1 anything else.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from kiosk import commands

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_TIMEOUT, EXIT_DEVICE, EXIT_CENTRAL = 0, 1, 2, 3, 4, 5


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"kiosk.commands.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
