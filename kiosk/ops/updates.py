"""The terminal side of signed updates: verify with TUF, stage, switch atomically, roll back.

Catalog, config, announcements and software arrive as TUF targets (see
:mod:`kiosk.ops.repository`). python-tuf's ngclient checks signatures, hashes, expiry and
metadata versions; its trusted metadata is persisted under the var dir, so an attacker who
replays old metadata (rollback) or keeps serving stale metadata (freeze, caught by expiry) is
refused even after a restart. On top, the terminal refuses a target whose ``custom.version``
is older than what it runs, and remembers versions that failed their health check so it does
not install them again and again.

Each kind lives under ``<var>/<kind>/``: ``versions/<version>/`` holds unpacked versions,
``current`` is a symlink switched with one ``rename`` (atomic on POSIX), and the previous
version is kept for the rollback. Every check returns an :class:`UpdateResult` the heartbeat
can carry to central.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tarfile
import tempfile
import threading
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from kiosk.announcements import ANNOUNCEMENTS_NAME, read_announcements
from kiosk.config import Config, ConfigError
from kiosk.json_types import JSON
from kiosk.ops.update_targets import KINDS, target_path

if TYPE_CHECKING:
    from tuf.ngclient import Updater

log = logging.getLogger(__name__)

HealthCheck = Callable[[Path], object]  # raises when the version in that directory is unfit
APPLIED_KINDS = ("catalog", "config", "announcements")  # software: issue "Central operations"
CONFIG_UPDATE_FILE = "kiosk.toml"  # inside a config target: an override, layered on top


def with_config_update(config: Config, update_file: Path | None) -> Config:
    """``config`` with a signed config update's override on top, validated as a whole.

    A fleet-wide update may not rename a terminal: its ``[terminal]`` table is refused.
    ConfigError (naming the update file) when the result could not run the terminal."""
    if update_file is None:
        return config
    try:
        with open(update_file, "rb") as fh:
            sections = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{update_file}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{update_file}: not valid TOML: {exc}") from None
    if "terminal" in sections:
        raise ConfigError(f"{update_file}: [terminal] is each terminal's own, not an update's")
    bad = [name for name, table in sections.items() if not isinstance(table, dict)]
    if bad:
        raise ConfigError(f"{update_file}: [{bad[0]}] must be a table")
    try:
        return config.replace(**sections)
    except ConfigError as exc:
        raise ConfigError(f"{update_file} on top of {config.source}: {exc}") from None


def check_announcements(directory: Path) -> None:
    """Health check of an announcements update: every item readable in every language."""
    read_announcements(directory / ANNOUNCEMENTS_NAME)


class _KindState(TypedDict, total=False):
    """``<var>/<kind>/state.json``, written only by :class:`UpdateClient`."""

    current: str | None
    previous: str | None
    bad: list[str]


@dataclass(frozen=True)
class UpdateResult:
    """What one check did. ``outcome``: up_to_date | applied | rejected | rolled_back |
    unavailable | skipped. ``reason`` (for rejected/rolled_back): bad_signature, expired,
    rollback, changed_target, bad_metadata, bad_archive, health_check, known_bad."""

    kind: str
    outcome: str
    version: str | None = None
    previous: str | None = None
    reason: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in ("up_to_date", "applied", "skipped")

    def to_json(self) -> JSON:
        return {"type": "update", **asdict(self)}


def version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """``2026.11.2`` > ``2026.11.1`` > ``2026.9.9``: numeric parts compare as numbers."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in version.split("."))


def _classify(exc: Exception) -> str:
    from tuf.api import exceptions as tuf_errors

    if isinstance(exc, tuf_errors.UnsignedMetadataError):
        return "bad_signature"
    if isinstance(exc, tuf_errors.ExpiredMetadataError):
        return "expired"
    if isinstance(exc, tuf_errors.BadVersionNumberError):
        return "rollback"
    if isinstance(exc, tuf_errors.LengthOrHashMismatchError):
        return "changed_target"
    return "bad_metadata"


class UpdateClient:
    """Checks one TUF repository for every kind this terminal takes; one per terminal.

    ``trusted_root`` is the root metadata shipped with the terminal (bytes or a path);
    ``health`` maps a kind to a check run on the newly switched version.
    """

    def __init__(self, var_dir: str | os.PathLike[str], repo_url: str,
                 trusted_root: bytes | str | os.PathLike[str], *,
                 health: dict[str, HealthCheck] | None = None):
        self.var_dir = Path(var_dir)
        self.repo_url = repo_url.rstrip("/")
        self._root = trusted_root if isinstance(trusted_root, bytes) else Path(trusted_root).read_bytes()
        self._health: dict[str, HealthCheck] = {"announcements": check_announcements}
        self._health.update(health or {})
        if "software" not in self._health:  # installed from the package: A/B slots
            from kiosk.ops.software_slots import installer_from_env

            installer = installer_from_env()
            if installer is not None:
                self._health["software"] = installer
        self._lock = threading.Lock()  # one check at a time: a check owns the staging area
        self._metadata_dir = self.var_dir / "tuf" / "metadata"
        self._download_dir = self.var_dir / "tuf" / "downloads"

    @property
    def applied_kinds(self) -> tuple[str, ...]:
        """What the running terminal checks: software too once an installer is set."""
        return (*APPLIED_KINDS, "software") if "software" in self._health else APPLIED_KINDS

    def set_health(self, kind: str, check: HealthCheck) -> None:
        """The check a newly switched ``kind`` must pass (raises when unfit) or is rolled back."""
        with self._lock:
            self._health[kind] = check

    # -- where things are ------------------------------------------------------------------
    def current_dir(self, kind: str) -> Path | None:
        link = self.var_dir / kind / "current"
        return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None

    def current_version(self, kind: str) -> str | None:
        return self._state(kind).get("current")

    def _state(self, kind: str) -> _KindState:
        try:
            return json.loads((self.var_dir / kind / "state.json").read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {"current": None, "previous": None, "bad": []}

    def _save_state(self, kind: str, state: _KindState) -> None:
        path = self.var_dir / kind / "state.json"
        tmp = path.with_name("state.json.tmp")
        tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
        os.replace(tmp, path)

    # -- the check -------------------------------------------------------------------------
    def _updater(self) -> Updater:
        from tuf.ngclient import Updater, UpdaterConfig  # loaded when an update is checked

        self._metadata_dir.mkdir(parents=True, exist_ok=True)
        self._download_dir.mkdir(parents=True, exist_ok=True)
        return Updater(str(self._metadata_dir), f"{self.repo_url}/metadata/",
                       str(self._download_dir), f"{self.repo_url}/targets/",
                       config=UpdaterConfig(app_user_agent="kiosk-terminal"), bootstrap=self._root)

    def check(self, kind: str) -> UpdateResult:
        """Look for a newer ``kind``; verify, stage, switch, health-check, roll back if unfit.

        Checks run one at a time (a second caller waits): they share TUF's trusted metadata."""
        with self._lock:
            return self._check(kind)

    def _check(self, kind: str) -> UpdateResult:
        from tuf.api import exceptions as tuf_errors

        state = self._state(kind)
        current = state.get("current")
        try:
            updater = self._updater()
            updater.refresh()
            info = updater.get_targetinfo(target_path(kind))
        except tuf_errors.DownloadError as exc:
            return self._log(UpdateResult(kind, "unavailable", None, current, None, str(exc)))
        except (tuf_errors.RepositoryError, OSError) as exc:
            return self._log(UpdateResult(kind, "rejected", None, current, _classify(exc),
                                          f"{type(exc).__name__}: {exc}"))
        if info is None:
            return UpdateResult(kind, "up_to_date", current, current, None, "nothing offered")
        version = str(info.custom.get("version", "")) if isinstance(info.custom, dict) else ""
        if not version:
            return self._log(UpdateResult(kind, "rejected", None, current, "bad_metadata",
                                          "target has no custom.version"))
        if version == current:
            return UpdateResult(kind, "up_to_date", version, current)
        if current is not None and version_key(version) < version_key(current):
            return self._log(UpdateResult(kind, "rejected", version, current, "rollback",
                                          f"offered {version} is older than running {current}"))
        if version in state.get("bad", []):
            return UpdateResult(kind, "skipped", version, current, "known_bad",
                                f"{version} failed its health check before")
        try:
            # a download of its own per check: no other check reads, replaces or deletes it
            for stale in self._download_dir.glob(f".{kind}-*.tar.gz"):  # from a check that died
                stale.unlink(missing_ok=True)
            fd, own = tempfile.mkstemp(dir=self._download_dir, prefix=f".{kind}-{version}-",
                                       suffix=".tar.gz")
            os.close(fd)
            archive = updater.download_target(info, filepath=own)
        except tuf_errors.DownloadError as exc:
            Path(own).unlink(missing_ok=True)
            return self._log(UpdateResult(kind, "unavailable", version, current, None, str(exc)))
        except tuf_errors.RepositoryError as exc:
            Path(own).unlink(missing_ok=True)
            return self._log(UpdateResult(kind, "rejected", version, current, _classify(exc),
                                          f"{type(exc).__name__}: {exc}"))
        return self._install(kind, version, Path(archive), state)

    def check_all(self, kinds: tuple[str, ...] = KINDS) -> list[UpdateResult]:
        """One check per kind, for the periodic update job; results go to the heartbeat."""
        return [self.check(kind) for kind in kinds]

    def _install(self, kind: str, version: str, archive: Path, state: _KindState) -> UpdateResult:
        current = state.get("current")
        try:
            staged = self._stage(kind, version, archive)
        except (tarfile.TarError, OSError) as exc:
            return self._log(UpdateResult(kind, "rejected", version, current, "bad_archive",
                                          f"{type(exc).__name__}: {exc}"))
        finally:
            archive.unlink(missing_ok=True)
        self._switch(kind, staged)
        try:
            if kind in self._health:
                self._health[kind](staged)
        except Exception as exc:  # noqa: BLE001 - any failure of the health check means "unfit"
            if current is not None:
                self._switch(kind, self.var_dir / kind / "versions" / current)
            else:
                (self.var_dir / kind / "current").unlink(missing_ok=True)
            state["bad"] = sorted(set(state.get("bad", [])) | {version})
            self._save_state(kind, state)
            return self._log(UpdateResult(kind, "rolled_back", version, current, "health_check",
                                          f"{type(exc).__name__}: {exc}"))
        state.update({"current": version, "previous": current})
        self._save_state(kind, state)
        self._prune(kind, keep={version, current})
        return self._log(UpdateResult(kind, "applied", version, current))

    def _stage(self, kind: str, version: str, archive: Path) -> Path:
        versions = self.var_dir / kind / "versions"
        versions.mkdir(parents=True, exist_ok=True)
        final = versions / version
        for stale in versions.glob(".*.staging*"):  # left by a check that died (checks are serial)
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(dir=versions, prefix=f".{version}.staging-"))  # this check's
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(tmp, filter="data")  # refuses absolute paths, "..", devices, links
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if final.exists():  # an earlier attempt of the same version: replace it
            shutil.rmtree(final)
        os.replace(tmp, final)
        return final

    def _switch(self, kind: str, target: Path) -> None:
        """Point ``current`` at ``target`` with one rename: readers see old or new, never none."""
        link = self.var_dir / kind / "current"
        tmp = link.with_name("current.tmp")
        tmp.unlink(missing_ok=True)
        os.symlink(Path("versions") / target.name, tmp)
        os.replace(tmp, link)

    def _prune(self, kind: str, keep: set[str | None]) -> None:
        versions = self.var_dir / kind / "versions"
        for path in versions.iterdir():
            if path.name not in keep and not path.name.startswith("."):
                shutil.rmtree(path, ignore_errors=True)

    @staticmethod
    def _log(result: UpdateResult) -> UpdateResult:
        level = logging.INFO if result.ok else logging.WARNING
        log.log(level, "update %s: %s %s %s %s", result.kind, result.outcome, result.version or "",
                result.reason or "", result.detail)
        return result
