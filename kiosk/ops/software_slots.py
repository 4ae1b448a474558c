"""Install a verified software update into the inactive A/B slot and switch to it.

A software target (``kiosk-ops add REPO software DIR``) is a directory with the project's
wheel, any wheels of dependencies that changed, and optionally ``config/`` (the shipped
defaults: :mod:`kiosk.paths` reads them beside the packages). :class:`SlotInstaller` is the
``software`` health check of :class:`~kiosk.ops.updates.UpdateClient`: it runs on the staged,
TUF-verified directory and raises when the version cannot be installed, which the update
client reports as rolled back (the running slot was never touched).

Where the dependencies come from: every slot is its own venv (``python -m venv
--without-pip``) holding only this project's wheel (and the target's extra wheels), installed
with ``pip install --no-deps --no-index``; a ``kiosk-base.pth`` puts the *base* site-packages
after the slot's own — the dependencies the Debian package installed once from its wheelhouse
(``/opt/kiosk/base``). So a slot installs in seconds instead of copying 400 MB of Qt, slot A
is never read by slot B (reinstalling one cannot break the other, unlike ``.pth`` links into
the running slot or a copied venv whose scripts still name the old path), and a target that
ships a newer dependency wheel shadows the base inside its own slot only. Not
``--system-site-packages``: that is Debian's Python, not what the kiosk was tested with.

After the switch, :mod:`kiosk.ops.slot_guard` holds the new version to a bound: it must send
a heartbeat within ``bound_s`` of the switch, or the guard switches back by itself.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from kiosk.ops import slot_guard

log = logging.getLogger(__name__)

PROJECT = "kiosk_terminal"  # the wheel's file-name prefix (PEP 427 normalised)
BASE_PTH = "kiosk-base.pth"


class SoftwareInstallError(Exception):
    """A software update could not be installed; the running slot is untouched."""


def wheel_version(wheel: Path) -> str:
    """The version in a wheel's METADATA (not trusted from its file name)."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            meta = next((n for n in zf.namelist()
                         if n.endswith(".dist-info/METADATA") and n.count("/") == 1), None)
            if meta is None:
                raise SoftwareInstallError(f"{wheel.name}: no .dist-info/METADATA")
            for line in zf.read(meta).decode("utf-8", "replace").splitlines():
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
    except zipfile.BadZipFile as exc:
        raise SoftwareInstallError(f"{wheel.name}: not a wheel ({exc})") from None
    raise SoftwareInstallError(f"{wheel.name}: METADATA has no Version")




class SlotInstaller:
    """Installs into ``root/{a,b}`` and switches ``root/current``.

    ``base_site`` is the site-packages the slots take their dependencies from; ``python`` the
    interpreter new venvs are made from (``sys.executable``: the one the kiosk runs on).
    ``bound_s``: how long a new version has to send its first heartbeat."""

    def __init__(self, root: str | os.PathLike[str], base_site: str | os.PathLike[str], *,
                 python: str = sys.executable, bound_s: float = 120.0, max_starts: int = 3,
                 timeout_s: float = 600.0, shared_var: Path | None = None,
                 shared_config: Path | None = None):
        self.root = Path(root)
        self.base_site = Path(base_site)
        # Paths in the config are relative to the project root, which in a slot is its
        # site-packages: ``var`` links to the one var dir (outbox, keys, updates) both slots
        # use, ``config`` to the package's shipped defaults when the target brings none.
        self.shared_var = shared_var
        self.shared_config = shared_config
        self.python = python
        self.bound_s = bound_s
        self.max_starts = max_starts
        self.timeout_s = timeout_s

    def __call__(self, staged: Path) -> None:
        """The ``software`` health check of the update client: install, switch, mark pending.
        The update client stages each version under ``versions/<version>/``."""
        self.install(staged, version=staged.name)

    def inactive_slot(self) -> str:
        return "b" if slot_guard.current_slot(self.root) == "a" else "a"

    def install(self, source: Path, version: str | None = None) -> str:
        """Install the wheels in ``source`` into the inactive slot and switch to it; the new
        version is pending until it confirms. Returns the slot. SoftwareInstallError when
        anything is wrong: then ``current`` still points at the running slot."""
        wheels = sorted(source.glob("*.whl"))
        own = [w for w in wheels if w.name.split("-")[0].lower() == PROJECT]
        if len(own) != 1:
            raise SoftwareInstallError(
                f"{source}: expected one {PROJECT}-*.whl, found {len(own)}")
        found = wheel_version(own[0])
        if version is not None and found != version:
            raise SoftwareInstallError(f"{own[0].name} is version {found}, target says {version}")
        if not self.base_site.is_dir():
            raise SoftwareInstallError(f"{self.base_site}: no base site-packages "
                                       "(reinstall the kiosk-terminal package)")
        self.root.mkdir(parents=True, exist_ok=True)
        with slot_guard.locked(self.root):
            self._refuse_while_pending()
            previous = slot_guard.current_slot(self.root)
            slot = self.inactive_slot()
        # built outside the lock (pip takes a while): heartbeats and the guard go on meanwhile
        self._build(self.root / slot, wheels, source / "config", found)
        with slot_guard.locked(self.root):
            self._refuse_while_pending()
            if slot_guard.current_slot(self.root) != previous:
                raise SoftwareInstallError("the slots were switched during the install")
            previous_version = slot_guard.slot_version(self.root, previous) if previous else None
            slot_guard.switch(self.root, slot)
            if previous is not None:  # the very first install has nothing to be judged against
                slot_guard.mark_pending(self.root, slot, found, previous, previous_version,
                                        bound_s=self.bound_s, max_starts=self.max_starts)
        log.info("software %s installed in slot %s (was %s %s); restart to run it", found, slot,
                 previous, previous_version)
        return slot

    def _refuse_while_pending(self) -> None:
        if slot_guard.pending(self.root) is not None:
            raise SoftwareInstallError("a software update is still waiting for its health "
                                       "check; try again after it confirmed or rolled back")

    def _build(self, venv: Path, wheels: list[Path], config: Path, version: str) -> None:
        """A fresh venv in place of the inactive slot: base .pth, wheels, config, version."""
        shutil.rmtree(venv, ignore_errors=True)
        try:
            self._run([self.python, "-m", "venv", "--without-pip", str(venv)])
            site = Path(self._run([str(venv / "bin" / "python"), "-c",
                                   "import sysconfig; print(sysconfig.get_path('purelib'))"]))
            if not site.is_dir():
                raise SoftwareInstallError(f"{venv}: venv has no {site}")
            (site / BASE_PTH).write_text(f"{self.base_site}\n", encoding="utf-8")
            # pip comes from the base (through the .pth) and installs into the new venv
            self._run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index",
                       "--no-deps", "--ignore-installed", "--no-warn-script-location",
                       "--disable-pip-version-check", "--no-compile", *map(str, wheels)])
            if config.is_dir():
                shutil.copytree(config, site / "config")
            elif self.shared_config is not None:
                (site / "config").symlink_to(self.shared_config)
            if self.shared_var is not None:
                (site / "var").symlink_to(self.shared_var)
            (venv / slot_guard.VERSION_FILE).write_text(version + "\n", encoding="utf-8")
        except BaseException:
            shutil.rmtree(venv, ignore_errors=True)  # never leave a half-built slot to switch to
            raise

    def _run(self, argv: list[str]) -> str:
        """Run a step of the install; its stdout. SoftwareInstallError when it fails."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=self.timeout_s,
                                  env=env, cwd=self.root)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SoftwareInstallError(f"{Path(argv[0]).name}: {exc}") from None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise SoftwareInstallError(f"{' '.join(argv[1:4])} failed ({done.returncode}): "
                                       + " | ".join(tail))
        return done.stdout.strip()


BASE_ENV = "KIOSK_BASE_SITE"  # set by deploy/kiosk.service beside KIOSK_SLOTS


def installer_from_env(env: dict[str, str] | None = None) -> SlotInstaller | None:
    """The installer of a terminal installed from the Debian package (the unit sets
    ``KIOSK_SLOTS`` and ``KIOSK_BASE_SITE``); None elsewhere (a developer's checkout)."""
    env = dict(os.environ if env is None else env)
    root = slot_guard.root_from_env(env)
    base = env.get(BASE_ENV, "")
    if root is None or not base:
        return None
    return SlotInstaller(root, base, bound_s=float(env.get("KIOSK_SLOT_BOUND_S", "120")),
                         shared_var=root.parent / "var", shared_config=root.parent / "share/config")


def main(argv: list[str] | None = None) -> int:
    """``python -m kiosk.ops.software_slots install SOURCE --root R --base B``: the package's
    postinst builds the first slot with this, run straight from the wheel (zipimport)."""
    import argparse

    parser = argparse.ArgumentParser(prog="software_slots", description="install a slot")
    parser.add_argument("command", choices=("install",))
    parser.add_argument("source", type=Path, help="directory with the wheel(s)")
    parser.add_argument("--root", type=Path, default=slot_guard.DEFAULT_ROOT)
    parser.add_argument("--base", type=Path, required=True, help="the base site-packages")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--var", type=Path, help="the shared var dir (default ROOT/../var)")
    parser.add_argument("--config", type=Path, help="shipped config (default ROOT/../share/config)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="software_slots: %(message)s")
    installer = SlotInstaller(args.root, args.base, python=args.python,
                              shared_var=args.var or args.root.parent / "var",
                              shared_config=args.config or args.root.parent / "share" / "config")
    try:
        slot = installer.install(args.source)
    except SoftwareInstallError as exc:
        print(f"software_slots: {exc}", file=sys.stderr)
        return 1
    print(f"installed {slot_guard.slot_version(args.root, slot)} in {args.root / slot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
