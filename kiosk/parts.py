"""The one place that builds the terminal's parts from its configuration: the devices, the
central client, the outbox, the update client and the catalog. Qt-free, so the app, the
technician's command line and ``kiosk doctor`` build the same parts the same way.

Each part's heavy library is imported when that part is built, never at import.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.config import Config

if TYPE_CHECKING:
    from drivers.base import Device
    from drivers.camera import Camera
    from drivers.document_printer import DocumentPrinter
    from drivers.idcard import IdCardReader
    from drivers.receipt_printer import ReceiptPrinter
    from drivers.sscard import SocialSecurityCardReader
    from kiosk.catalog.services import Catalog
    from kiosk.central.client import CentralClient
    from kiosk.ops.updates import UpdateClient
    from offline_queue import Outbox
    from offline_queue.sync import SyncWorker

log = logging.getLogger(__name__)


def read_terminal_key(config: Config, key_file: str | Path | None = None) -> bytes:
    """This terminal's signing key (``KeyFileError`` names the file and what is wrong)."""
    from kiosk.central.signing import load_key

    return load_key(key_file or config.path("central", "key_file"))


def central_client(config: Config, *, url: str | None = None, terminal_id: str | None = None,
                   key_file: str | Path | None = None, retries: int = 2) -> CentralClient:
    """The one way to build a client for the configured platform: signed with the terminal's
    key, TLS against the configured CA and client certificate, the configured timeouts.
    Flags may override the URL, terminal and key (``kiosk queue``); ``retries=0`` is for
    workers and checks that back off or report themselves."""
    from kiosk.central.client import CentralClient

    c = config.central
    return CentralClient(
        url or c["url"], terminal_id or config.terminal["id"],
        read_terminal_key(config, key_file),
        ca_bundle=str(config.path("central", "ca_bundle")) if c["ca_bundle"] else None,
        client_cert=str(config.path("central", "client_cert")) if c["client_cert"] else None,
        timeout=(c["connect_timeout"], c["read_timeout"]), retries=retries)


@dataclass
class Devices:
    """The devices this terminal has (None where config says it has none)."""

    idcard: IdCardReader | None = None
    sscard: SocialSecurityCardReader | None = None
    receipt_printer: ReceiptPrinter | None = None
    document_printer: DocumentPrinter | None = None
    camera: Camera | None = None
    problems: dict[str, str] = field(default_factory=dict)  # name → why it did not open

    def all(self) -> dict[str, Device]:
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


def load_catalog(updates: UpdateClient | None) -> Catalog:
    """The newest verified catalog update when there is one, else the shipped catalog."""
    from kiosk.catalog.services import Catalog, CatalogError

    current = updates.current_dir("catalog") if updates is not None else None
    if current is not None:
        try:
            return Catalog.load(current)
        except CatalogError as exc:  # the health check passed once; never start without one
            log.error("updated catalog %s unusable (%s); using the shipped one", current, exc)
    return Catalog.load()


def open_outbox(config: Config) -> Outbox | None:
    """The encrypted outbox, or None when it cannot open (the kiosk still serves queries)."""
    from kiosk.secret_store import load_or_create_key
    from offline_queue import Outbox

    try:
        key = load_or_create_key(config.path("outbox", "key_file"))
        path = config.path("outbox", "path")
        path.parent.mkdir(parents=True, exist_ok=True)
        return Outbox(path, key=key)
    except Exception as exc:  # the kiosk still serves queries without an outbox
        log.error("outbox unavailable: %s", exc)
        return None


def build_sync(config: Config, outbox: Outbox | None) -> SyncWorker | None:
    """The outbox's sync worker, with its own client without retries: the worker backs off
    itself, and stop() stays quick. A wrong key or rate limit is central refusing for now,
    never an item's fault."""
    if outbox is None:
        return None
    from kiosk.central.errors import CentralUnavailable, RateLimited, Unauthorized
    from offline_queue.sync import SyncWorker

    client = central_client(config, retries=0)
    return SyncWorker(outbox, client.upload_transactions, batch_size=config.outbox["batch_size"],
                      unavailable=(CentralUnavailable, RateLimited, Unauthorized))


def build_updates(config: Config) -> UpdateClient | None:
    """The TUF client when this terminal takes updates (both URL and trusted root set)."""
    ops = config.ops
    if not ops["updates_url"] or not ops["trusted_root"]:
        return None
    from kiosk.catalog.services import Catalog
    from kiosk.ops.updates import UpdateClient

    return UpdateClient(config.path("ops", "updates_dir"), ops["updates_url"],
                        config.path("ops", "trusted_root"), health={"catalog": Catalog.load})
