"""``kiosk-sim central``: the central government-service platform as the terminal sees it.

A real HTTP server on 127.0.0.1 implementing ``config/central-api.json`` for every catalog
service with deterministic synthetic data seeded by the ID number. Built on the stdlib
``http.server.ThreadingHTTPServer`` — no framework: it starts in well under a second, adds no
dependency, and keep-alive (HTTP/1.1) lets the client's connection reuse be exercised.
It imports nothing from kiosk/ or drivers/: it is the other side of the wire. It holds the
document too (``contract.py``): a request that breaks a schema gets 400, an undeclared method
405 with ``Allow``, an unknown path 404, all with the one JSON Error body (never the stdlib's
HTML page); every time it sends carries its offset (China Standard Time, ``+08:00``).

Admin API for tests and demos (unsigned, 127.0.0.1 only, not part of the contract):
``GET /_admin/received[?path=substr]`` (every /v1 request, logged on arrival),
``GET /_admin/transactions``, ``GET /_admin/evaluations``, ``GET|POST /_admin/faults``
(latency, error_rate, down, services_down, rate_limited, drop), ``POST /_admin/reset``,
``POST /_admin/updates`` (what ``GET /v1/updates`` offers), ``POST /_admin/app-codes``
(``{"person"?, "lifetime"?}`` → ``{"code"}``, a phone code).
Synthetic-data rules: see ``simulators/central/data.py``.

It keeps only the government services. Heartbeats, remote commands and enrolment are central
operations' fleet service (``kiosk-fleet serve``, ``fleet/fleet-api.json``); tests run the real
one (``tests/fixtures/fleet.py``).
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("central", help="central platform HTTP simulator")
    p.add_argument("--listen", default="127.0.0.1:8600", help="HOST:PORT (port 0 = any free port)")
    p.add_argument("--catalog", default=None, help="service catalog directory (default config/services)")
    p.add_argument("--key-file", default=None,
                   help="hex key accepted for terminal GZ-DEMO-0001 (default config/demo-terminal.key)")
    p.add_argument("--terminal", action="append", default=[], metavar="ID=HEXKEY",
                   help="accept another terminal (repeatable)")
    p.add_argument("--latency", type=float, default=0.0, help="fault: seconds added to every /v1 call")
    p.add_argument("--error-rate", type=float, default=0.0, help="fault: fraction of /v1 calls → 500")
    p.add_argument("--down", action="store_true", help="fault: whole platform answers 503")
    p.add_argument("--service-down", action="append", default=[], metavar="SERVICE_ID",
                   help="fault: this service answers 503 (repeatable)")
    p.add_argument("--tls-cert", default=None, help="serve HTTPS with this PEM certificate (chain)")
    p.add_argument("--tls-key", default=None, help="PEM private key for --tls-cert")
    p.add_argument("--client-ca", default=None, help="require client certificates signed by this CA")
    p.add_argument("--no-signatures", action="store_true", help="accept unsigned requests")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from simulators.central.server import serve

    return serve(args)
