"""``kiosk-sim app-code``: print a synthetic phone code (网络身份码) the central simulator
honours once within 60 s, and write its QR as a PNG (for a pty scanner's ``scan-png`` or a
camera clip). Synthetic people only: the short names of ``simulators/cards``."""

from __future__ import annotations

import argparse

from simulators.central import app_codes


def write_png(code: str, path: str, *, scale: int = 8) -> None:
    """The code as a QR image, quiet zone included, as a phone shows it."""
    import cv2

    matrix = cv2.QRCodeEncoder.create().encode(code)
    image = cv2.resize(matrix, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    image = cv2.copyMakeBorder(image, 4 * scale, 4 * scale, 4 * scale, 4 * scale,
                               cv2.BORDER_CONSTANT, value=255)
    if not cv2.imwrite(path, image):
        raise OSError(f"could not write {path}")


def run(args: argparse.Namespace) -> int:
    code = app_codes.mint(args.person, lifetime=args.lifetime)
    if args.png:
        write_png(code, args.png)
    print(code, flush=True)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("app-code", help="print a synthetic phone identity code",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--person", default="resident", choices=app_codes.PEOPLE)
    parser.add_argument("--lifetime", type=float, default=app_codes.LIFETIME_S,
                        help="seconds the code stays valid (negative: already expired)")
    parser.add_argument("--png", help="also write the code's QR to this PNG")
    parser.set_defaults(func=run)
