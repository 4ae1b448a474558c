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
    from drivers.qr_scanner import QrScanner
    from drivers.receipt_printer import ReceiptPrinter
    from drivers.sscard import SocialSecurityCardReader
    from kiosk.catalog.services import Catalog
    from kiosk.central.client import CentralClient
    from kiosk.central.fleet_client import FleetClient
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
    workers and checks that back off or report themselves. A plain http:// URL the terminal's
    mode does not allow raises :class:`~kiosk.central.url_policy.InsecureURL` (a ConfigError:
    one line, start-up stops) before anything is sent."""
    return _client(config, url, terminal_id or config.terminal["id"],
                   read_terminal_key(config, key_file), retries)


def _client(config: Config, url: str | None, terminal_id: str, key: bytes,
            retries: int) -> CentralClient:
    from kiosk.central.client import CentralClient
    from kiosk.central.url_policy import require_allowed

    c = config.central
    ca, cert = config_file(config, "central", "ca_bundle"), config_file(config, "central", "client_cert")
    return CentralClient(
        require_allowed(config, url or c["url"], "central.url"), terminal_id, key,
        ca_bundle=str(ca) if ca else None, client_cert=str(cert) if cert else None,
        timeout=(c["connect_timeout"], c["read_timeout"]), retries=retries)


def fleet_client(config: Config, *, url: str | None = None, terminal_id: str | None = None,
                 key_file: str | Path | None = None, enrolling: bool = False,
                 retries: int = 0) -> FleetClient | None:
    """The one way to build the client for central operations' fleet service, or None when
    ``[fleet] url`` is empty (no fleet: no heartbeats, no remote commands). Signed with the
    terminal's own fleet key (``[fleet] key_file``, from ``kiosk enroll``), TLS
    against ``[fleet] ca_bundle``/``client_cert``, central's timeouts. ``enrolling``: no key
    yet, the code is the credential (the fleet does not check that call's signature). A
    fleet URL without a fleet enrolment is a ConfigError naming what to run."""
    from kiosk.central.client import CentralClient
    from kiosk.central.fleet_client import FleetClient
    from kiosk.central.signing import load_key
    from kiosk.central.url_policy import require_allowed
    from kiosk.config import ConfigError

    f = config.fleet
    target = url or f["url"]
    if not target:
        return None
    if enrolling:
        ident, key = "unenrolled", b"\0" * 32
    else:
        ident = terminal_id or f["terminal_id"]
        if not ident:
            raise ConfigError(f"{config.source}: [fleet] url is set but terminal_id is empty; "
                              "enrol with the fleet: kiosk enroll CODE")
        key = load_key(key_file or config.path("fleet", "key_file"))
    ca, cert = config_file(config, "fleet", "ca_bundle"), config_file(config, "fleet", "client_cert")
    c = config.central
    transport = CentralClient(
        require_allowed(config, target, "fleet.url"), ident, key,
        ca_bundle=str(ca) if ca else None, client_cert=str(cert) if cert else None,
        timeout=(c["connect_timeout"], c["read_timeout"]), retries=retries)
    return FleetClient(transport)


def config_file(config: Config, section: str, key: str) -> Path | None:
    """A file a setting names, resolved against the project root (``Config.path``, never the
    working directory), or None when the setting is empty. A named file that is not there is
    a ConfigError naming the setting: a technician should not debug a TLS handshake for it."""
    from kiosk.config import ConfigError

    if not config.get(section, key):
        return None
    path = config.path(section, key)
    if not path.exists():
        raise ConfigError(f"{config.source}: [{section}] {key} = {config.get(section, key)!r}: "
                          f"no such file ({path})")
    return path


def tls_failure(config: Config, detail: str, section: str = "central") -> str | None:
    """A TLS handshake failure in ``detail`` (a CentralError's text) as one sentence naming
    the setting to look at (``[central]``'s or ``[fleet]``'s), or None when ``detail`` is
    something else."""
    text = detail.lower()
    who = "central" if section == "central" else "the fleet service"
    if "certificate_verify_failed" in text or "certificate verify failed" in text:
        ca = config.get(section, "ca_bundle")
        trusted = (f"{section}.ca_bundle = {ca!r} ({config.path(section, 'ca_bundle')})" if ca
                   else f"the system's CAs ({section}.ca_bundle is empty)")
        return f"{who}'s TLS certificate is not signed by a CA this terminal trusts: {trusted}"
    # A server that wants a client certificate it did not get (or trust) often just closes
    # the handshake: the client sees an EOF, not a reason.
    if any(sign in text for sign in ("certificate required", "alert_certificate",
                                     "bad certificate", "eof occurred in violation of protocol")):
        cert = config.get(section, "client_cert")
        return (f"{who} refused the TLS handshake: check the terminal's client certificate, "
                + (f"{section}.client_cert = {cert!r} ({config.path(section, 'client_cert')})"
                   if cert else f"{section}.client_cert is empty"))
    return None


@dataclass
class Devices:
    """The devices this terminal has (None where config says it has none)."""

    idcard: IdCardReader | None = None
    sscard: SocialSecurityCardReader | None = None
    receipt_printer: ReceiptPrinter | None = None
    document_printer: DocumentPrinter | None = None
    camera: Camera | None = None
    qr_scanner: QrScanner | None = None  # phone codes: serial engine, keyboard wedge or camera
    problems: dict[str, str] = field(default_factory=dict)  # name → why it did not open

    def all(self) -> dict[str, Device]:
        return {name: dev for name, dev in vars(self).items()
                if name != "problems" and dev is not None}


def build_devices(config: Config) -> Devices:
    devices = Devices()
    uris = config.devices
    if uris["idcard"]:
        from drivers.idcard import IdCardError, IdCardReader

        try:
            devices.idcard = IdCardReader(uris["idcard"])
        except (ValueError, IdCardError) as exc:  # e.g. usb://VID:PID with no model file
            devices.problems["idcard"] = f"{type(exc).__name__}: {exc}"
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
    if uris["qr_scanner"]:
        from drivers.qr_scanner import QrScanner

        devices.qr_scanner = QrScanner(uris["qr_scanner"])
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
    """The encrypted outbox, or None when it cannot open (the kiosk still serves queries,
    and takes no offline submissions: it has nowhere durable to keep them). The app owns the
    file, so a damaged one is kept aside and what it still holds moved into a fresh one;
    doctor, the heartbeat and the technician screen report it (``offline_queue.damage``)."""
    from kiosk.secret_store import load_or_create_key
    from offline_queue import Outbox

    try:
        key = load_or_create_key(config.path("outbox", "key_file"))
        return Outbox(config.path("outbox", "path"), key=key, on_damage="quarantine")
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
    upload = client.upload_transactions
    fleet = fleet_client(config)
    if fleet is not None:  # usage telemetry goes to the fleet service, the rest to central
        from kiosk.central.fleet_client import split_upload

        upload = split_upload(client.upload_transactions, fleet)  # type: ignore[assignment]
    return SyncWorker(outbox, upload, batch_size=config.outbox["batch_size"],
                      unavailable=(CentralUnavailable, RateLimited, Unauthorized))


def build_updates(config: Config) -> UpdateClient | None:
    """The TUF client when this terminal takes updates (both URL and trusted root set)."""
    ops = config.ops
    if not ops["updates_url"] or not ops["trusted_root"]:
        return None
    from kiosk.catalog.services import Catalog
    from kiosk.central.url_policy import require_allowed
    from kiosk.ops.updates import UpdateClient

    require_allowed(config, ops["updates_url"], "ops.updates_url")  # InsecureURL: start-up stops
    return UpdateClient(config.path("ops", "updates_dir"), ops["updates_url"],
                        config.path("ops", "trusted_root"), health={"catalog": Catalog.load})
