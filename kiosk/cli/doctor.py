"""``kiosk doctor``: check devices, central, disk and outbox; exit non-zero naming what is wrong."""

from __future__ import annotations

import argparse
import json

from kiosk.cli.common import load_config_or_exit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check devices, central platform, disk and outbox")
    p.add_argument("--config", help="configuration file (default: $KIOSK_CONFIG or built-in)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--settle", type=float, default=3.0,
                   help="seconds a device may take to leave 'starting' (default 3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.ops.doctor import exit_code, run_doctor
    from kiosk.parts import build_devices, central_client

    config = load_config_or_exit(args.config, "kiosk doctor")
    checks = run_doctor(config, devices=lambda: build_devices(config),
                        client=lambda: central_client(config, retries=0),  # it reports, no retries
                        settle=args.settle)
    code = exit_code(checks)
    if args.json:
        print(json.dumps({"ok": code == 0, "exit_code": code,
                          "checks": [c.to_json() for c in checks]}, ensure_ascii=False, default=str))
    else:
        for check in checks:
            print(check.line())
        failed = [c.name for c in checks if not c.ok]
        print("all checks passed" if not failed else f"{len(failed)} problem(s): {', '.join(failed)}")
    return code
