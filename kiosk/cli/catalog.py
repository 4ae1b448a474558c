"""``kiosk catalog``: list, check and search the service catalog.

    kiosk catalog                 one line per service (id, department, auth, call, name)
    kiosk catalog --json          the loaded catalog as a JSON list of entries
    kiosk catalog check [PATH]    check a candidate catalog directory before shipping it
    kiosk catalog search TEXT     what a resident typing TEXT would see

Exit codes: 0 ok, 1 the catalog has errors (each printed as file: entry: field: reason), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kiosk.catalog.services import Catalog, CatalogError
from kiosk.exit_codes import EXIT_FAIL, EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("catalog", help="list, check and search the service catalog")
    p.add_argument("--json", action="store_true", help="print the catalog as JSON")
    p.add_argument("--path", type=Path, default=None, help="catalog directory (default config/services)")
    sub = p.add_subparsers(dest="catalog_action", metavar="ACTION")
    check = sub.add_parser("check", help="validate a catalog directory")
    check.add_argument("dir", nargs="?", type=Path, default=None)
    search = sub.add_parser("search", help="search as a resident types")
    search.add_argument("text")
    search.add_argument("--lang", default="zh_CN", choices=("zh_CN", "zh_HK", "en"))
    search.add_argument("--limit", type=int, default=10)
    p.set_defaults(func=run)


def _load(path: Path | None) -> Catalog | None:
    try:
        return Catalog.load(path)
    except CatalogError as exc:
        print(f"catalog error: {exc}", file=sys.stderr)
        return None


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "catalog_action", None)
    if action == "check":
        errors = Catalog.check(args.dir or args.path)
        for error in errors:
            print(f"catalog error: {error}", file=sys.stderr)
        if errors:
            return EXIT_FAIL
        catalog = _load(args.dir or args.path)
        if catalog is None:
            return EXIT_FAIL
        print(f"ok: {len(catalog.services)} services in {len(catalog.departments)} departments")
        return EXIT_OK
    catalog = _load(args.path)
    if catalog is None:
        return EXIT_FAIL
    if action == "search":
        hits = catalog.search(args.text, args.lang, args.limit)
        if args.json:
            print(json.dumps([s.to_json() for s in hits], ensure_ascii=False, indent=1))
        for service in [] if args.json else hits:
            print(f"{service.id:14} {service.name(args.lang)}")
        return EXIT_OK
    if args.json:
        print(json.dumps([s.to_json() for s in catalog.services], ensure_ascii=False, indent=1))
        return EXIT_OK
    for service in catalog.services:
        hot = "*" if service.hot else " "
        print(f"{hot}{service.id:14} {service.department:5} {service.auth:13} {service.call:11} "
              f"{service.name('zh_CN')}")
    return EXIT_OK
