"""The operations side of signed updates: a TUF repository on disk, kept by ``kiosk-ops``.

Layout of a repository directory::

    keys/{root,targets,snapshot,timestamp}.pem   ed25519 private keys (0600; never served)
    staged.json                                  targets added since the last publish
    www/metadata/N.root.json N.targets.json N.snapshot.json timestamp.json
    www/targets/<kind>/<sha256>.<kind>.tar.gz    content-addressed (consistent snapshots)

Only ``www/`` is put on the static HTTP server. Each target is a tar.gz of a directory or one
file — the service catalog, a config override, announcements, a software package — with its
kind and version in the target's ``custom`` field, which the terminal uses to refuse a
downgrade. In real use the root key is kept offline: ``kiosk-ops init --keys-only`` style
splitting is left for later; here all four keys live in ``keys/``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import logging
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner, SSlibKey
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from fleet.update_targets import KINDS, target_path

JSON = dict[str, object]

log = logging.getLogger(__name__)

ROLES = ("root", "targets", "snapshot", "timestamp")
DEFAULT_EXPIRY = {"root": dt.timedelta(days=365), "targets": dt.timedelta(days=90),
                  "snapshot": dt.timedelta(days=7), "timestamp": dt.timedelta(days=1)}
PASSPHRASE_ENV = "KIOSK_OPS_PASSPHRASE"


class RepositoryError(Exception):
    """The repository cannot be created, read or changed; the message says what to fix."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def pack(source: Path) -> bytes:
    """A reproducible tar.gz of a directory's files (or of one file): same input, same hash."""
    if not source.exists():
        raise RepositoryError(f"{source}: no such file or directory")
    files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            name = path.relative_to(source).as_posix() if source.is_dir() else path.name
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


# The terminal's own checks, run in a child process so fleet never imports the terminal's
# code (setup.cfg [importlinter]); same calls as the terminal makes when it installs a target.
_CHECKS = {
    "catalog": "from pathlib import Path; from kiosk.catalog.services import Catalog as C; "
               "C.load(Path(sys.argv[1]))",
    "config": "from kiosk.config import load_config as L; L(sys.argv[1])",
}


def check_content(kind: str, source: Path) -> None:
    """Refuse content that would break terminals: a catalog that fails the catalog check,
    a config override that fails config validation (both checked by the terminal's code)."""
    code = _CHECKS.get(kind)
    if code is None:
        return
    target = source / "kiosk.toml" if kind == "config" and source.is_dir() else source
    script = ("import sys\ntry:\n    " + code + "\nexcept Exception as exc:\n"
              "    print(exc, file=sys.stderr); sys.exit(2)\n")
    try:
        done = subprocess.run([sys.executable, "-c", script, str(target)], capture_output=True,
                              text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RepositoryError(f"{kind} cannot be checked: {exc}") from exc
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["check failed"])[-1]
        raise RepositoryError(f"{kind} refused: {reason}")


class AddedTarget(TypedDict):
    """What :meth:`Repository.add` staged."""

    path: str
    version: str
    length: int
    sha256: str


@dataclass
class Published:
    versions: dict[str, int]
    targets: dict[str, JSON]  # target path -> its ``custom`` field ({"kind", "version"})


class Repository:
    """A TUF repository directory: create with :meth:`init`, open with the constructor."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.www = self.path / "www"
        self.metadata_dir = self.www / "metadata"
        self.targets_dir = self.www / "targets"
        if not (self.path / "keys" / "root.pem").exists():
            raise RepositoryError(f"{self.path}: not a kiosk-ops repository (no keys/root.pem); "
                                  "run `kiosk-ops init` first")
        self.signers = {role: self._load_signer(role) for role in ROLES}

    # -- keys ------------------------------------------------------------------------------
    @staticmethod
    def _encryption() -> serialization.KeySerializationEncryption:
        passphrase = os.environ.get(PASSPHRASE_ENV)
        if passphrase:
            return serialization.BestAvailableEncryption(passphrase.encode())
        return serialization.NoEncryption()

    def _load_signer(self, role: str) -> CryptoSigner:
        path = self.path / "keys" / f"{role}.pem"
        passphrase = os.environ.get(PASSPHRASE_ENV)
        try:
            key = serialization.load_pem_private_key(path.read_bytes(),
                                                     passphrase.encode() if passphrase else None)
        except (OSError, ValueError, TypeError) as exc:
            raise RepositoryError(f"{path}: cannot load {role} key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise RepositoryError(f"{path}: {role} key is not ed25519")
        return CryptoSigner(key, SSlibKey.from_crypto(key.public_key()))

    # -- creating --------------------------------------------------------------------------
    @classmethod
    def init(cls, path: str | os.PathLike[str]) -> Repository:
        """New keys, root v1 and empty targets/snapshot/timestamp, all signed."""
        path = Path(path)
        if (path / "keys" / "root.pem").exists():
            raise RepositoryError(f"{path}: a repository already exists here")
        keys = path / "keys"
        keys.mkdir(parents=True, mode=0o700, exist_ok=True)
        for role in ROLES:
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, cls._encryption())
            fd = os.open(keys / f"{role}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
        repo = cls(path)
        repo.metadata_dir.mkdir(parents=True, exist_ok=True)
        repo.targets_dir.mkdir(parents=True, exist_ok=True)
        now = _utcnow()
        root = Root(expires=now + DEFAULT_EXPIRY["root"], consistent_snapshot=True)
        for role in ROLES:
            root.add_key(repo.signers[role].public_key, role)
        repo._write(Metadata(root), f"{root.version}.root.json")
        targets = Targets(expires=now + DEFAULT_EXPIRY["targets"])
        repo._write(Metadata(targets), f"{targets.version}.targets.json")
        snapshot = Snapshot(expires=now + DEFAULT_EXPIRY["snapshot"])
        snapshot.meta["targets.json"] = MetaFile(version=targets.version)
        repo._write(Metadata(snapshot), f"{snapshot.version}.snapshot.json")
        timestamp = Timestamp(expires=now + DEFAULT_EXPIRY["timestamp"],
                              snapshot_meta=MetaFile(version=snapshot.version))
        repo._write(Metadata(timestamp), "timestamp.json")
        (path / "staged.json").write_text("{}", encoding="utf-8")
        log.info("initialised TUF repository at %s", path)
        return repo

    def _write(self, md: Metadata, name: str) -> None:
        md.signatures.clear()
        md.sign(self.signers[md.signed.type])
        tmp = self.metadata_dir / (name + ".tmp")
        tmp.write_bytes(md.to_bytes(JSONSerializer(compact=False)))
        os.replace(tmp, self.metadata_dir / name)

    # -- reading ---------------------------------------------------------------------------
    def _latest(self, role: str) -> Metadata:
        if role == "timestamp":
            return Metadata.from_file(str(self.metadata_dir / "timestamp.json"))
        versions = [int(p.name.split(".", 1)[0]) for p in self.metadata_dir.glob(f"*.{role}.json")
                    if p.name.split(".", 1)[0].isdigit()]
        if not versions:
            raise RepositoryError(f"{self.metadata_dir}: no {role} metadata")
        return Metadata.from_file(str(self.metadata_dir / f"{max(versions)}.{role}.json"))

    def root_bytes(self) -> bytes:
        """The trusted root a terminal is installed with (its ``bootstrap``)."""
        return (self.metadata_dir / "1.root.json").read_bytes()

    def _staged(self) -> dict[str, JSON]:
        try:
            return json.loads((self.path / "staged.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    # -- changing --------------------------------------------------------------------------
    def add(self, kind: str, source: str | os.PathLike[str], version: str) -> AddedTarget:
        """Pack ``source``, check it, store it content-addressed and stage it for publish."""
        if kind not in KINDS:
            raise RepositoryError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        if not version or "/" in version:
            raise RepositoryError(f"bad version {version!r}")
        source = Path(source)
        check_content(kind, source)
        data = pack(source)
        info = TargetFile.from_data(target_path(kind), data, ["sha256"])
        info.unrecognized_fields["custom"] = {"kind": kind, "version": version}
        for prefixed in info.get_prefixed_paths():
            dest = self.targets_dir / prefixed
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        staged = self._staged()
        staged[info.path] = info.to_dict()
        (self.path / "staged.json").write_text(json.dumps(staged, indent=1), encoding="utf-8")
        return {"path": info.path, "version": version, "length": info.length,
                "sha256": info.hashes["sha256"]}

    def publish(self, *, expiry: dict[str, dt.timedelta] | None = None,
                now: dt.datetime | None = None) -> Published:
        """Fold staged targets in; bump targets, snapshot, timestamp; fresh expiry; sign."""
        expiry = {**DEFAULT_EXPIRY, **(expiry or {})}
        now = now or _utcnow()
        targets = self._latest("targets")
        for path, raw in self._staged().items():
            targets.signed.targets[path] = TargetFile.from_dict(dict(raw), path)
        targets.signed.version += 1
        targets.signed.expires = now + expiry["targets"]
        self._write(targets, f"{targets.signed.version}.targets.json")
        snapshot = self._latest("snapshot")
        snapshot.signed.meta["targets.json"] = MetaFile(version=targets.signed.version)
        snapshot.signed.version += 1
        snapshot.signed.expires = now + expiry["snapshot"]
        self._write(snapshot, f"{snapshot.signed.version}.snapshot.json")
        timestamp = self._latest("timestamp")
        timestamp.signed.snapshot_meta = MetaFile(version=snapshot.signed.version)
        timestamp.signed.version += 1
        timestamp.signed.expires = now + expiry["timestamp"]
        self._write(timestamp, "timestamp.json")
        (self.path / "staged.json").write_text("{}", encoding="utf-8")
        return Published(
            {"targets": targets.signed.version, "snapshot": snapshot.signed.version,
             "timestamp": timestamp.signed.version},
            {p: t.unrecognized_fields.get("custom", {}) for p, t in targets.signed.targets.items()})

    def status(self) -> JSON:
        out: JSON = {}
        for role in ROLES:
            md = self._latest(role)
            out[role] = {"version": md.signed.version, "expires": md.signed.expires.isoformat()}
        out["targets_offered"] = {p: t.unrecognized_fields.get("custom", {})
                                  for p, t in self._latest("targets").signed.targets.items()}
        out["staged"] = list(self._staged())
        return out
