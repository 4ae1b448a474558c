"""``kiosk``: the terminal app and its technician command line.

Exit codes shared by every subcommand are in :mod:`kiosk.exit_codes`.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import kiosk.cli
from kiosk.config import ConfigError
from kiosk.exit_codes import EXIT_OK, EXIT_USAGE

_NOT_COMMANDS = {"main", "common"}


def command_names() -> list[str]:
    """One module per subcommand, named as the command (``kiosk run`` is ``kiosk/cli/run.py``)."""
    return sorted(info.name for info in pkgutil.iter_modules(kiosk.cli.__path__)
                  if not info.name.startswith("_") and info.name not in _NOT_COMMANDS)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand, or with ``only`` that one: ``kiosk run`` then loads
    nothing that another command needs (the start of a terminal stays lean)."""
    parser = argparse.ArgumentParser(prog="kiosk", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in command_names():
        if only is not None and name != only:
            continue
        module = importlib.import_module(f"kiosk.cli.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    first = argv[0] if argv else None
    parser = build_parser(first if first in command_names() else None)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or EXIT_OK)
    except ConfigError as exc:  # e.g. the client factory refusing http:// in production
        print(f"kiosk {args.command}: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130  # 128 + SIGINT, the shell's convention for Ctrl-C (not a kiosk exit code)


if __name__ == "__main__":
    sys.exit(main())
