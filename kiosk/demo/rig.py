"""The demo rig: the simulated central platform and devices as real processes, and the
configuration that points the kiosk at them. No widgets here (see kiosk/demo/visit.py)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.config import DEMO_FILE, Config, load_config
from kiosk.demo.sim_processes import SimProcess, SimulatorError, start_sim
from kiosk.logs import private_dir
from kiosk.paths import ROOT

log = logging.getLogger(__name__)
CARDS_DIR = ROOT / "simulators" / "cards"
# Clips this process has written, by camera-simulator arguments: the simulator's clips are
# deterministic, so a later rig (the suite starts dozens) copies one instead of re-rendering it.
_CLIPS: dict[tuple[str, ...], Path] = {}
DEMO_CARD = CARDS_DIR / "resident.json"


@dataclass
class DemoRig:
    """Central platform, GA 467 reader on a pty and an ESC/POS printer sink, all simulated."""

    work_dir: Path
    central: SimProcess | None = None
    idcard: SimProcess | None = None
    printer: SimProcess | None = None
    camera_uri: str = ""
    mode: str = "demo"  # "test": the suite's sub-second idle timeouts and heartbeats are allowed
    procs: list[SimProcess] = field(default_factory=list)

    @property
    def printer_dir(self) -> Path:
        return self.work_dir / "printer"

    def start(self, *, devices: bool = True, camera: str | None = "live") -> DemoRig:
        """``camera`` is the clip kind the simulated camera plays (None: no camera)."""
        private_dir(self.work_dir)
        try:
            self.central = self._start(["central", "--listen", "127.0.0.1:0"])
            if devices:
                self.idcard = self._start(["idcard"])
                private_dir(self.printer_dir)
                self.printer = self._start(["printer", "--listen", "127.0.0.1:0",
                                            "--out", str(self.printer_dir)])
                if camera:
                    self.camera_uri = self.camera_clip(camera)
        except Exception:
            self.stop()
            raise
        return self

    def camera_clip(self, kind: str, *extra: str) -> str:
        """Write a clip (a face, or ``qr`` with ``--text``) with the camera simulator; returns
        its camera:// URI."""
        clip = self.work_dir / f"camera-{kind}.avi"
        written = _CLIPS.get((kind, *extra))
        if written is not None and written.is_file():  # the same clip again: ~1.5 s saved
            shutil.copyfile(written, clip)
            return f"camera://{clip.resolve()}"
        out = subprocess.run([sys.executable, "-m", "simulators.cli", "camera", "--kind", kind,
                              "--out", str(clip), *extra], capture_output=True, text=True,
                             timeout=120)
        if out.returncode != 0:
            raise SimulatorError(f"camera clip {kind}: {out.stderr.strip()[-1000:]}")
        _CLIPS[(kind, *extra)] = clip
        return out.stdout.strip()

    def _start(self, args: list[str]) -> SimProcess:
        sim = start_sim(args)
        self.procs.append(sim)
        log.info("simulator %s at %s", args[0], sim.address)
        return sim

    def config(self, base: Config | None = None, **sections: dict) -> Config:
        """``base`` (default: the demo terminal, config/demo.toml) pointed at the simulators,
        windowed, logging under work_dir, in this rig's ``mode``."""
        base = base or load_config(DEMO_FILE)
        devices = {"idcard": "", "sscard": "", "receipt_printer": "", "document_printer": "",
                   "camera": ""}
        if self.idcard is not None:
            devices["idcard"] = f"serial://{self.idcard.address}?baud=115200"
        if self.printer is not None:
            devices["receipt_printer"] = f"tcp://{self.printer.address}"
        devices["camera"] = self.camera_uri
        overrides = {
            "terminal": {"mode": self.mode},
            "central": {"url": self.central.address},
            "devices": devices,
            "screen": {"fullscreen": False},
            "logging": {"dir": str(self.work_dir / "log")},
            "outbox": {"path": str(self.work_dir / "outbox.sqlite"),
                       "key_file": str(self.work_dir / "secrets" / "outbox.key")},
        }
        for name, values in sections.items():
            overrides.setdefault(name, {}).update(values)
        return base.replace(**overrides)

    def place_card(self, card: Path = DEMO_CARD) -> None:
        assert self.idcard is not None
        self.idcard.send(f"place {card}")

    def remove_card(self) -> None:
        assert self.idcard is not None
        self.idcard.send("remove")

    def printed_jobs(self) -> list[Path]:
        return sorted(self.printer_dir.glob("job-*.png"))

    def stop(self) -> None:
        for sim in reversed(self.procs):
            sim.stop()
        self.procs.clear()


def reset_dir(path: Path) -> Path:
    """An empty 0700 directory: demo output shows a (synthetic) resident like a real one."""
    if path.exists():
        shutil.rmtree(path)
    return private_dir(path)
