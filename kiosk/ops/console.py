"""What the technician screen may do, in one object: PIN entry, checks, test actions, exit.

The screen holds no I/O; it calls this facade, which the app builds from the real parts
(:class:`~kiosk.ops.technician.TechnicianAccess`, the doctor, device test actions). Every
action is audited through the access object. Checks and actions may block for seconds
(they talk to devices); the app can run them on a worker and hop back, the screen does not care.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from kiosk.ops.doctor import Check
from kiosk.ops.technician import AttemptResult, TechnicianAccess

log = logging.getLogger(__name__)


@dataclass
class TechnicianConsole:
    """``actions`` maps a label (e.g. "测试打印 Test print") to a callable returning a detail."""

    access: TechnicianAccess
    checks: Callable[[], list[Check]]
    actions: dict[str, Callable[[], str]] = field(default_factory=dict)
    inside: bool = False

    def attempt(self, pin: str) -> AttemptResult:
        result = self.access.attempt(pin)
        self.inside = result.ok
        return result

    def run_checks(self) -> list[Check]:
        if not self.inside:
            raise PermissionError("technician mode is not open")
        self.access.record("checks")
        return self.checks()

    def run_action(self, name: str) -> tuple[bool, str]:
        """Run one test action; (ok, detail) — a failure is a finding, not an exception."""
        if not self.inside:
            raise PermissionError("technician mode is not open")
        try:
            detail = self.actions[name]()
            ok = True
        except Exception as exc:  # noqa: BLE001 - device errors are what the technician is here for
            detail, ok = f"{type(exc).__name__}: {exc}", False
        self.access.record("action", name=name, ok=ok)
        return ok, detail

    def leave(self, reason: str = "done") -> None:
        if self.inside:
            self.access.exit(reason=reason)
        self.inside = False
