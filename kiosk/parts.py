"""The one place that builds the terminal's parts from its configuration: the devices, the
central client, the outbox, the update client and the catalog. Qt-free, so the app, the
technician's command line and ``kiosk doctor`` build the same parts the same way.

Each part's heavy library is imported when that part is built, never at import.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from kiosk.config import Config

log = logging.getLogger(__name__)


def read_terminal_key(config: Config) -> bytes:
    text = config.path("central", "key_file").read_text(encoding="ascii").strip()
    return bytes.fromhex(text)


def central_client(config: Config, **overrides: Any) -> Any:
    """A client for the configured platform (``retries=0`` for workers that back off themselves)."""
    from kiosk.central.client import CentralClient

    return CentralClient(
        config.central["url"], config.terminal["id"], read_terminal_key(config),
        ca_bundle=config.central["ca_bundle"] or None,
        client_cert=config.central["client_cert"] or None,
        timeout=(config.central["connect_timeout"], config.central["read_timeout"]), **overrides)


@dataclass
class Devices:
    """The devices this terminal has (None where config says it has none)."""

    idcard: Any = None
    sscard: Any = None
    receipt_printer: Any = None
    document_printer: Any = None
    camera: Any = None
    problems: dict[str, str] = field(default_factory=dict)  # name → why it did not open

    def all(self) -> dict[str, Any]:
        return {name: dev for name, dev in vars(self).items()
                if name != "problems" and dev is not None}


def build_devices(config: Config) -> Devices:
    devices = Devices()
    uris = config.devices
    if uris["idcard"]:
        from drivers.idcard import IdCardReader

        devices.idcard = IdCardReader(uris["idcard"])
    if uris["sscard"]:
        from drivers.sscard import SocialSecurityCardReader

        devices.sscard = SocialSecurityCardReader(uris["sscard"])
    if uris["receipt_printer"]:
        from drivers.receipt_printer import ReceiptPrinter, load_profile

        devices.receipt_printer = ReceiptPrinter(uris["receipt_printer"],
                                                 profile=load_profile(uris["receipt_profile"]))
    if uris["document_printer"]:
        from drivers.document_printer import DocumentPrinter

        devices.document_printer = DocumentPrinter(uris["document_printer"])
    if uris["camera"]:
        from drivers.camera import Camera

        devices.camera = Camera(uris["camera"])
    return devices


def load_catalog(config: Config) -> Any:
    """The newest verified catalog update when there is one, else the shipped catalog."""
    from kiosk.catalog.services import Catalog, CatalogError

    updates = build_updates(config)
    current = updates.current_dir("catalog") if updates is not None else None
    if current is not None:
        try:
            return Catalog.load(current)
        except CatalogError as exc:  # the health check passed once; never start without one
            log.error("updated catalog %s unusable (%s); using the shipped one", current, exc)
    return Catalog.load()


def open_outbox(config: Config) -> Any:
    """The encrypted outbox, or None when it cannot open (the kiosk still serves queries)."""
    try:
        from kiosk.secret_store import load_or_create_key
        from offline_queue import Outbox
    except ImportError:  # the outbox package is optional while it is being built
        return None
    try:
        key = load_or_create_key(config.path("outbox", "key_file"))
        path = config.path("outbox", "path")
        path.parent.mkdir(parents=True, exist_ok=True)
        return Outbox(path, key=key)
    except Exception as exc:  # the kiosk still serves queries without an outbox
        log.error("outbox unavailable: %s", exc)
        return None


def build_updates(config: Any) -> Any:
    """The TUF client when this terminal takes updates (both URL and trusted root set)."""
    ops = config.ops
    if not ops["updates_url"] or not ops["trusted_root"]:
        return None
    from kiosk.catalog.services import Catalog
    from kiosk.ops.updates import UpdateClient

    return UpdateClient(config.path("ops", "updates_dir"), ops["updates_url"],
                        config.path("ops", "trusted_root"), health={"catalog": Catalog.load})
