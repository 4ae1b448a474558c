"""``kiosk config get|set|validate``: read and change settings without a text editor.

``set`` writes the override file (``--config`` or ``$KIOSK_CONFIG``), never the shipped
defaults, and only after the merged result passes the same validation start-up uses, so a
technician cannot leave a terminal that refuses to start. Comments in the override file are
not kept (it is rewritten as flat TOML).

``validate`` is what systemd runs before ``kiosk run`` (deploy/kiosk.service): it checks the
values and what start-up needs beyond them (:func:`preflight`), and answers with one line per
problem, never a traceback — whatever the file holds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from kiosk.cli.common import override_file
from kiosk.exit_codes import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from kiosk.config import Config

Scalar = bool | int | float | str  # what a kiosk.toml key holds (SCHEMA's kinds)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="get, set or validate configuration")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    g = verbs.add_parser("get", help="print one setting: SECTION.KEY")
    g.add_argument("name", metavar="SECTION.KEY")
    g.add_argument("--config", help="override file (default: $KIOSK_CONFIG)")
    g.set_defaults(func=get)
    s = verbs.add_parser("set", help="change one setting in the override file, validated first")
    s.add_argument("name", metavar="SECTION.KEY")
    s.add_argument("value", metavar="VALUE")
    s.add_argument("--config", help="override file to write (default: $KIOSK_CONFIG)")
    s.set_defaults(func=set_)
    v = verbs.add_parser("validate", help="check a configuration file; exit 0 or 2 with the reason")
    v.add_argument("path", nargs="?", help="override file (default: $KIOSK_CONFIG or built-in)")
    v.set_defaults(func=validate)


def _split(name: str) -> tuple[str, str]:
    from kiosk.config import SCHEMA, ConfigError

    section, _, key = name.partition(".")
    if section not in SCHEMA:
        raise ConfigError(f"unknown section {section!r}; allowed: {', '.join(SCHEMA)}")
    if key not in SCHEMA[section]:
        raise ConfigError(f"[{section}] unknown key {key!r}; allowed: {', '.join(SCHEMA[section])}")
    return section, key


def parse_value(section: str, key: str, text: str) -> Scalar:
    """The typed value for ``text`` per SCHEMA (true/false, int, float or the string itself)."""
    from kiosk.config import SCHEMA, ConfigError

    spec = SCHEMA[section][key]
    try:
        if spec.kind is bool:
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        if spec.kind is int:
            return int(text)
        if spec.kind is float:
            return float(text)
    except ValueError:
        raise ConfigError(f"[{section}] {key} = {text!r} is not allowed; expected {spec.allowed}") from None
    return text


def toml_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    # A JSON string is a valid TOML basic string (same escapes, \uXXXX included).
    return json.dumps(str(value), ensure_ascii=False)


def dump_toml(values: dict[str, dict[str, object]]) -> str:
    """Flat sections of scalars, the only shape kiosk.toml has."""
    out = ["# written by `kiosk config set`; validated before saving\n"]
    for section, keys in values.items():
        if not keys:
            continue
        out.append(f"\n[{section}]\n")
        out.extend(f"{k} = {toml_scalar(v)}\n" for k, v in keys.items())
    return "".join(out)


def _out(value: object) -> str:
    return toml_scalar(value) if isinstance(value, bool) else str(value)


def get(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigError, load_config

    try:
        section, key = _split(args.name)
        print(_out(load_config(args.config).get(section, key)))
    except ConfigError as exc:
        print(f"kiosk config: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def set_(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigError, load_config, read_toml

    path = override_file(args.config, "kiosk config set",
                         "to write; the shipped defaults are never changed")
    try:
        section, key = _split(args.name)
        value = parse_value(section, key, args.value)
        current: dict[str, Any] = {}  # parsed TOML: load_config below validates the result
        if path.exists():
            current = read_toml(path)
        current.setdefault(section, {})[key] = value
        tmp = path.with_name(path.name + ".tmp")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(dump_toml(current), encoding="utf-8")
        try:
            load_config(tmp)  # the very check start-up does, on the merged result
        except ConfigError as exc:
            tmp.unlink(missing_ok=True)
            raise ConfigError(str(exc).replace(str(tmp), str(path))) from None
        os.replace(tmp, path)
    except ConfigError as exc:
        print(f"kiosk config: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"kiosk config: {path}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{section}.{key} = {toml_scalar(value)} saved to {path}")
    return EXIT_OK


def preflight(config: Config) -> tuple[list[str], list[str]]:
    """(problems, warnings) for start-up: problems stop ``kiosk run`` (the terminal key, the
    demo key in production, device profile, log directory …); warnings do not — a damaged
    technician state shuts technician mode only, and a production terminal without a fleet
    service still serves residents, though central operations never hears of it."""
    from kiosk.config import startup_problems
    from kiosk.ops.technician import state_problem

    warnings = []
    technician = state_problem(config.path("ops", "technician_state"))
    if technician is not None:
        warnings.append(f"technician mode will be refused: {technician}; "
                        f"`kiosk technician set-pin` replaces the file")
    if config.mode == "production" and not config.fleet["url"]:
        warnings.append(f"{config.source}: [fleet] url is empty: this terminal will send no "
                        "heartbeats and take no remote commands, so the fleet console never "
                        "shows it; enrol it with a code from the console (kiosk enroll CODE "
                        "--url https://FLEET --config OVERRIDE-FILE sets [fleet] url, "
                        "terminal_id and key_file)")
    return startup_problems(config), warnings


def validate(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigError, load_config

    try:
        config = load_config(args.path)
        problems, warnings = preflight(config)
    except ConfigError as exc:
        print(f"kiosk config: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - whatever the file holds: one line, never a traceback
        print(f"kiosk config: {args.path or 'configuration'}: cannot check: "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for problem in problems:
        print(f"kiosk config: {problem}", file=sys.stderr)
    if problems:
        return EXIT_USAGE
    for warning in warnings:
        print(f"kiosk config: warning: {warning}", file=sys.stderr)
    print(f"ok: {config.source} (mode {config.mode})")
    return EXIT_OK
