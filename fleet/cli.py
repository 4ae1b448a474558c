"""``kiosk-fleet``: run and administer the fleet service.

    kiosk-fleet migrate                               bring the database schema forward
    kiosk-fleet serve [--host H] [--port P] [--migrate] [--workers N]
    kiosk-fleet user add NAME --role ROLE             password from KIOSK_FLEET_PASSWORD or a prompt
    kiosk-fleet user passwd NAME | user list
    kiosk-fleet enrol-code [--district D] [--hall H] [--group G] [--terminal ID]
    kiosk-fleet terminals [--state S] [--district D] [--fault F] [--json]
    kiosk-fleet revoke TERMINAL
    kiosk-fleet command TERMINAL COMMAND [--ttl S]    queue a remote command (check_updates, …)
    kiosk-fleet commands TERMINAL [--json]            its commands: pending, delivered (how
                                                      often), done, failed, expired, undelivered
    kiosk-fleet demo [--out DIR] [--once]             the console for `kiosk demo`

The database is ``--db URL`` or ``$KIOSK_FLEET_DATABASE_URL`` (default: an SQLite file in
``var/``). Exit codes: 0 done, 1 refused, 2 usage, 3 database unreachable.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable

from fleet import store
from fleet.db import is_unavailable, make_engine, migrate
from fleet.settings import Settings

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_DB = 0, 1, 2, 3
ACTOR = f"cli:{os.environ.get('SUDO_USER') or os.environ.get('USER') or 'operator'}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk-fleet", description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (sqlite:///path or postgresql://…)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser("migrate", help="bring the database schema forward (never back)")
    p = sub.add_parser("serve", help="run the HTTP service (uvicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8700)
    p.add_argument("--migrate", action="store_true", help="migrate before serving")
    p.add_argument("--sweep-every", type=float, default=None,
                   help="seconds between offline-alert passes (0: never)")
    p.add_argument("--log-level", default="info")
    p.add_argument("--workers", type=int, default=1,
                   help="uvicorn worker processes (each its own replica, one database)")
    user = sub.add_parser("user", help="operator accounts").add_subparsers(
        dest="user_command", metavar="ACTION", required=True)
    p = user.add_parser("add", help="new account (password: $KIOSK_FLEET_PASSWORD or prompt)")
    p.add_argument("username")
    p.add_argument("--role", choices=("viewer", "operator", "admin"), required=True)
    p = user.add_parser("passwd", help="set a new password (ends the user's sessions)")
    p.add_argument("username")
    user.add_parser("list", help="accounts and roles")
    p = sub.add_parser("enrol-code", help="a single-use enrolment code for `kiosk enroll`")
    p.add_argument("--district", default="")
    p.add_argument("--hall", default="")
    p.add_argument("--group", default="")
    p.add_argument("--terminal", help="re-enrol this revoked terminal (a replacement machine)")
    p.add_argument("--ttl-hours", type=float, default=None)
    p = sub.add_parser("terminals", help="the fleet list with state, faults, versions")
    p.add_argument("--state", choices=("online", "late", "offline", "new", "revoked"))
    p.add_argument("--district")
    p.add_argument("--hall")
    p.add_argument("--fault")
    p.add_argument("--version")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("revoke", help="revoke a terminal's key (stolen or scrapped)")
    p.add_argument("terminal")
    p = sub.add_parser("command", help="queue a remote command for a terminal")
    p.add_argument("terminal")
    p.add_argument("name", choices=store.COMMANDS)
    p.add_argument("--ttl", type=float, default=None, help="seconds until it expires")
    p = sub.add_parser("commands", help="a terminal's commands and their outcome")
    p.add_argument("terminal")
    p.add_argument("--json", action="store_true")
    return parser


def _password(prompt: str) -> str:
    env = os.environ.get("KIOSK_FLEET_PASSWORD")
    if env:
        return env
    first = getpass.getpass(prompt)
    if first != getpass.getpass("again: "):
        raise store.StoreError("bad_request", "the two passwords differ")
    return first


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from fleet.app import create_app

    if args.migrate:
        migrate(make_engine(settings.database_url))
    if args.workers > 1:  # workers re-create the app in their own processes, from the env
        os.environ["KIOSK_FLEET_DATABASE_URL"] = settings.database_url
        os.environ["KIOSK_FLEET_SWEEP_EVERY_S"] = str(settings.sweep_every_s)
        uvicorn.run("fleet.app:create_app_from_env", factory=True, workers=args.workers,
                    host=args.host, port=args.port, log_level=args.log_level, access_log=False)
        return EXIT_OK
    uvicorn.run(create_app(settings), host=args.host, port=args.port,
                log_level=args.log_level, access_log=False)
    return EXIT_OK


def _terminals(args: argparse.Namespace, settings: Settings) -> int:
    with make_engine(settings.database_url).begin() as conn:
        rows, counts = store.list_terminals(conn, now=store.now(), state=args.state,
                                            district=args.district, hall=args.hall,
                                            fault=args.fault, version=args.version)
    if args.json:
        print(json.dumps({"counts": counts, "terminals": rows}, ensure_ascii=False,
                         default=str))
        return EXIT_OK
    print("  ".join(f"{k} {v}" for k, v in counts.items()))
    for r in rows:
        age = "-" if r["last_heartbeat_at"] is None else store.iso(r["last_heartbeat_at"])
        print(f"{r['id']:<16} {r['status']:<8} {r['district'] or '-':<8} {r['hall'] or '-':<12} "
              f"sw {r['software_version'] or '-':<10} outbox {r['outbox_depth'] or 0:<5} "
              f"last {age} {r['faults'].strip(',')}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["demo"]:  # the console beside `kiosk demo` (fleet/demo.py, its own flags)
        from fleet.demo import main as demo_main

        return demo_main(argv[1:])
    args = build_parser().parse_args(argv)
    settings = Settings.from_env(database_url=args.db,
                                 sweep_every_s=getattr(args, "sweep_every", None))
    actions: dict[str, Callable[[], int]] = {}
    now = store.now()

    def engine_begin():  # type: ignore[no-untyped-def]
        return make_engine(settings.database_url).begin()

    def do_migrate() -> int:
        print(f"fleet database at revision {migrate(make_engine(settings.database_url))}")
        return EXIT_OK

    def do_user() -> int:
        if args.user_command == "list":
            with engine_begin() as conn:
                for u in store.list_users(conn):
                    print(f"{u['username']:<24} {u['role']:<9}"
                          f"{' disabled' if u['disabled'] else ''}")
            return EXIT_OK
        password = _password(f"password for {args.username}: ")
        with engine_begin() as conn:
            if args.user_command == "add":
                store.add_user(conn, args.username, password, args.role, actor=ACTOR, now=now)
            else:
                store.set_password(conn, args.username, password, actor=ACTOR, now=now)
        print(f"{args.user_command}: {args.username} done")
        return EXIT_OK

    def do_enrol_code() -> int:
        ttl = settings.enrol_code_ttl_s if args.ttl_hours is None else args.ttl_hours * 3600
        with engine_begin() as conn:
            code = store.create_enrol_code(conn, actor=ACTOR, now=now, ttl_s=ttl,
                                           district=args.district, hall=args.hall,
                                           group=args.group, terminal_id=args.terminal)
        print(code)
        return EXIT_OK

    def do_revoke() -> int:
        with engine_begin() as conn:
            store.revoke_terminal(conn, args.terminal, actor=ACTOR, now=now)
        print(f"revoked {args.terminal}")
        return EXIT_OK

    def do_command() -> int:
        ttl = settings.command_ttl_s if args.ttl is None else args.ttl
        with engine_begin() as conn:
            cid = store.queue_command(conn, args.terminal, args.name, {}, actor=ACTOR, now=now,
                                      ttl_s=ttl)
        print(cid)
        return EXIT_OK

    def do_commands() -> int:
        with engine_begin() as conn:
            rows = store.list_commands(conn, args.terminal, now=now,
                                       max_deliveries=settings.command_max_deliveries)
        if args.json:
            print(json.dumps([{"id": r["id"], "command": r["command"], "status": r["status"],
                               "deliveries": r["deliveries"],
                               "created_at": store.iso(r["created_at"])} for r in rows],
                             ensure_ascii=False))
        else:
            for r in rows:
                print(f"{r['id']}  {r['command']:<20} {r['status']:<12} "
                      f"delivered {r['deliveries']}x  {store.iso(r['created_at'])}")
        return EXIT_OK

    actions.update({"migrate": do_migrate, "user": do_user, "enrol-code": do_enrol_code,
                    "revoke": do_revoke, "command": do_command, "commands": do_commands,
                    "serve": lambda: _serve(args, settings),
                    "terminals": lambda: _terminals(args, settings)})
    try:
        return actions[args.command]()
    except store.StoreError as exc:
        print(f"kiosk-fleet: {exc.message}", file=sys.stderr)
        return EXIT_REFUSED
    except Exception as exc:
        if is_unavailable(exc):
            print(f"kiosk-fleet: database unreachable: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            return EXIT_DB
        raise


if __name__ == "__main__":
    sys.exit(main())
