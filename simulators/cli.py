"""``kiosk-sim``: run a simulator. Every module or package in ``simulators`` with a
``register(subparsers)`` adds one subcommand.

Convention: a simulator prints one line on stdout as soon as it is ready — the address a
client connects to (URL, pty path, host:port) — then serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import simulators


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Every simulator's subcommand, or with ``only`` just that module's: starting one
    simulator then skips importing the others (the camera's OpenCV costs ~0.3 s a start)."""
    parser = argparse.ArgumentParser(prog="kiosk-sim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="simulator", metavar="SIMULATOR", required=True)
    for info in sorted(pkgutil.iter_modules(simulators.__path__), key=lambda m: m.name):
        if info.name == "cli" or only not in (None, info.name):
            continue
        module = importlib.import_module(f"simulators.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    modules = {info.name for info in pkgutil.iter_modules(simulators.__path__)} - {"cli"}
    named = argv[0].replace("-", "_") if argv else None  # "qr-scanner" lives in qr_scanner.py
    args = build_parser(named if named in modules else None).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
