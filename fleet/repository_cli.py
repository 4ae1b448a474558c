"""``kiosk-ops``: central operations' tool for the signed update repository (TUF).

    kiosk-ops init REPO                         new keys and empty signed metadata
    kiosk-ops add REPO KIND PATH --version V    stage a catalog/config/announcements/software
    kiosk-ops publish REPO [--timestamp-days D] bump versions and expiry, sign everything
    kiosk-ops status REPO                       versions, expiry, targets offered

Serve ``REPO/www`` with any static HTTP server; terminals are installed with
``REPO/www/metadata/1.root.json`` as their trusted root. A catalog that fails the catalog
check (or a config that fails validation) is refused at ``add``. Exit codes: 0 done,
2 usage or refused content.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from fleet.update_targets import KINDS

EXIT_OK, EXIT_USAGE = 0, 2  # the same numbers as kiosk.exit_codes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk-ops", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub.add_parser("init", help="create a repository: keys and signed empty metadata")
    p.add_argument("repo")
    p = sub.add_parser("add", help="add or replace a target (staged until publish)")
    p.add_argument("repo")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("path", help="directory or file to ship")
    p.add_argument("--version", required=True, help="e.g. 2026.11.2 (terminals refuse older)")
    p = sub.add_parser("publish", help="fold staged targets in, bump versions/expiry, sign")
    p.add_argument("repo")
    for role, days in (("targets", 90), ("snapshot", 7), ("timestamp", 1)):
        p.add_argument(f"--{role}-days", type=float, default=days,
                       help=f"{role} metadata valid for this many days (default {days})")
    p = sub.add_parser("status", help="versions, expiry and targets offered")
    p.add_argument("repo")
    return parser


def main(argv: list[str] | None = None) -> int:
    from fleet.repository import Repository, RepositoryError

    args = build_parser().parse_args(argv)
    try:
        if args.command == "init":
            repo = Repository.init(args.repo)
            print(f"initialised {repo.path}; serve {repo.www}; "
                  f"trusted root for terminals: {repo.metadata_dir / '1.root.json'}")
        elif args.command == "add":
            added = Repository(args.repo).add(args.kind, args.path, args.version)
            print(f"staged {added['path']} version {added['version']} "
                  f"({added['length']} bytes, sha256 {added['sha256'][:12]}); run publish")
        elif args.command == "publish":
            expiry = {role: dt.timedelta(days=getattr(args, f"{role}_days"))
                      for role in ("targets", "snapshot", "timestamp")}
            done = Repository(args.repo).publish(expiry=expiry)
            print("published " + ", ".join(f"{r} v{v}" for r, v in done.versions.items()))
            for path, custom in done.targets.items():
                print(f"  {path}: {custom.get('version')}")
        elif args.command == "status":
            print(json.dumps(Repository(args.repo).status(), indent=1, ensure_ascii=False))
    except RepositoryError as exc:
        print(f"kiosk-ops: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
