"""``kiosk idcard``: wait for one ID card on the GA 467 reader and show what it says.

For technicians checking a reader: ``--json`` prints the full record (one JSON object);
without it a masked summary, safe to read aloud or photograph. Exit 0 read, 3 no card
before the timeout, 4 device or protocol error (one line on stderr naming the cause).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from drivers.idcard import CardTimeout, IdCardError, IdCardReader
from drivers.identity import Identity, mask_id_number, mask_name
from kiosk.exit_codes import EXIT_DEVICE, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE

log = logging.getLogger(__name__)

JSON_KEYS = ("card_type", "name", "name_en", "sex", "nation", "nationality", "birth_date",
             "address", "id_number", "authority", "valid_from", "valid_until", "pass_number",
             "issue_count", "photo_wlt")
CARD_LABELS = {"resident": "resident ID card",
               "hmt_residence": "Hong Kong/Macau/Taiwan residence permit",
               "foreign_permanent": "foreigner's permanent residence card"}


def identity_json(identity: Identity) -> dict[str, object]:
    """The CLI's JSON record: exactly :data:`JSON_KEYS`, photo as base64."""
    data = identity.to_json()
    return {key: data.get(key) for key in JSON_KEYS}


def masked_summary(identity: Identity) -> str:
    """What a technician may see on screen: no full name, number, address or photo."""
    lines = [
        f"card:        {CARD_LABELS.get(identity.card_type, identity.card_type)}",
        f"name:        {mask_name(identity.name)}",
        f"number:      {mask_id_number(identity.id_number)}",
        f"sex:         {identity.sex}",
    ]
    if identity.nation:
        lines.append(f"nation:      {identity.nation}")
    if identity.nationality:
        lines.append(f"nationality: {identity.nationality}")
    lines.append(f"valid:       {identity.valid_from} – {identity.valid_until or '长期'}")
    if identity.issue_count is not None:
        lines.append(f"issue count: {identity.issue_count}")
    lines.append(f"photo:       {len(identity.photo_wlt or b'')} bytes WLT")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    else:  # stderr carries exactly one line on failure: the cause
        logging.getLogger("drivers").setLevel(logging.CRITICAL)
    try:
        reader = IdCardReader(args.uri)
    except ValueError as exc:
        print(f"kiosk idcard: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.info:
        return _info(reader)
    try:
        identity = reader.read_once(args.timeout)
    except CardTimeout as exc:  # the reader may still be talking: say where time ran out
        print(f"kiosk idcard: timeout: no card read within {args.timeout:g} s ({exc})",
              file=sys.stderr)
        return EXIT_TIMEOUT
    except IdCardError as exc:
        print(f"kiosk idcard: {exc.fault}: {exc}", file=sys.stderr)
        return EXIT_DEVICE
    if args.json:
        print(json.dumps(identity_json(identity), ensure_ascii=False))
    else:
        print(masked_summary(identity))
    return EXIT_OK


def _info(reader: IdCardReader) -> int:
    """Which reader, on which transport, its SAM id and the photo decoder; no card needed."""
    info = reader.diagnostics()
    print(f"reader:      {info['reader']}")
    print(f"transport:   {info['transport']}")
    print(f"SAM id:      {info['sam_id'] or 'not read (' + str(info.get('sam_error')) + ')'}")
    print(f"photo:       {info['photo_decoder']}")
    not_used = info.get("not_used")
    for line in not_used if isinstance(not_used, list) else []:
        print(f"not used:    {line}")
    return EXIT_OK if info["sam_id"] else EXIT_DEVICE


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("idcard", help="read one ID card from the GA 467 reader",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--uri", required=True,
                        help='reader URI, e.g. "serial:///dev/ttyUSB0?baud=115200", '
                             '"usb://0400:c35a", "hid://261a:0007", "sdk://sdtapi?lib=…" or "auto"')
    parser.add_argument("--info", action="store_true",
                        help="show the reader found, its transport, SAM id and photo decoder")
    parser.add_argument("--json", action="store_true",
                        help="print the full record as JSON (personal data: handle with care)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds to wait for a card (default 30)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log the conversation with the reader (masked) to stderr")
    parser.set_defaults(func=run)
