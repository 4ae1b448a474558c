"""``kiosk sscard``: read one social-security card, for technicians checking a reader.

Exit 0 with the card read, 3 when no card came before ``--timeout`` (one line on stderr),
4 on a device or protocol error naming the cause (status word SW1SW2 or PC/SC result),
2 for a PIN that is not 4–12 digits. ``--json`` prints one JSON object with the full record;
without it a masked summary safe to show over a resident's shoulder.
"""

from __future__ import annotations

import argparse
import json
import sys

from drivers.identity import Identity
from drivers.sscard import SocialSecurityCardReader
from drivers.sscard_errors import CardTimeout, PinFormatError, SocialSecurityCardError
from kiosk.exit_codes import EXIT_DEVICE, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE


def reader_uri(reader: str) -> str:
    """``--reader`` takes a PC/SC reader name or a full ``pcsc://`` URI; empty = any reader."""
    return reader if reader.startswith("pcsc://") else f"pcsc://{reader}"


def summary(identity: Identity) -> str:
    sex = {"male": "男", "female": "女"}.get(identity.sex or "", "?")
    return "\n".join([
        "社会保障卡 social-security card",
        f"  name        {identity.masked_name}",
        f"  id number   {identity.masked_id}",
        f"  sex         {sex}    nation {identity.nation or '?'}",
        f"  born        {(identity.birth_date or '????')[:4]}",
        f"  card number {(identity.card_number or '')[:2]}*******",
        f"  valid       {identity.valid_from or '?'} → {identity.valid_until or '?'}",
    ])


def run(args: argparse.Namespace) -> int:
    reader = SocialSecurityCardReader(reader_uri(args.reader))
    try:
        identity = reader.read_once(args.timeout, pin=args.pin)
    except PinFormatError as exc:
        print(f"kiosk sscard: {exc.detail}", file=sys.stderr)
        return EXIT_USAGE
    except CardTimeout as exc:
        print(f"kiosk sscard: no card in {args.reader or 'any reader'}: {exc.detail}",
              file=sys.stderr)
        return EXIT_TIMEOUT
    except SocialSecurityCardError as exc:
        print(f"kiosk sscard: {type(exc).__name__} [{exc.fault}]: {exc}", file=sys.stderr)
        return EXIT_DEVICE
    if args.json:
        print(json.dumps(identity.to_json(), ensure_ascii=False))
    else:
        print(summary(identity))
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sscard", help="read a social-security card (PC/SC)",
                                   description="Read one social-security card over PC/SC, "
                                               "for technicians checking a reader.")
    parser.add_argument("--reader", default="",
                        help="PC/SC reader name (e.g. 'Virtual PCD 00 00') or pcsc:// URI; "
                             "default: the first reader holding a card")
    parser.add_argument("--json", action="store_true", help="print the full record as JSON")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for a card (default 10)")
    parser.add_argument("--pin", help="verify this PIN before reading")
    parser.set_defaults(func=run)
