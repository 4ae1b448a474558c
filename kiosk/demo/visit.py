"""The app's demo and screenshot entry points: like ``kiosk.app``, the only other module of
``kiosk`` allowed to touch widgets, because it plays a resident's taps on the real window.

- :func:`play_visit` — a scripted resident visit offscreen: a screenshot of every step and
  the printed receipt, through the real simulators (``make demo`` on a headless machine).
- :func:`run_interactive` — the live kiosk against the simulators (a display, or VNC); in the
  demo the card is placed for the resident a moment after the place-card screen shows.
- :func:`stage_screen` — put the app on any screen with demo data, for ``kiosk screenshot``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QTimer
from PySide6.QtWidgets import QPushButton

from drivers.identity import Identity
from kiosk.app.kiosk_app import KioskApp, wait_until
from kiosk.demo.rig import DEMO_CARD, DemoRig
from kiosk.logs import write_private
from kiosk.visit.flow import Step

log = logging.getLogger(__name__)
DEMO_SERVICE = "rs_jfmx"  # 个人社保缴费明细查询


def click(app: KioskApp, name: str) -> None:
    """Tap the visible button with this object name, as a resident would."""
    screen = app.window.current_screen()
    for root in (screen, app.window.topbar, app.window.chooser, app.window.overlay):
        btn = root.findChild(QPushButton, name)
        if btn is not None and btn.isVisible() and btn.isEnabled():
            btn.click()
            return
    raise LookupError(f"no visible button {name!r} on screen {app.flow.step}")


def snapshot(app: KioskApp, path: Path) -> Path:
    """The window as PNG, written 0600 (a screen may show a resident's name and numbers)."""
    app.qt.processEvents()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not app.window.grab().save(buffer, "PNG"):
        raise OSError(f"could not render {path.name}")
    buffer.close()
    return write_private(path, bytes(data.data()))


def play_visit(app: KioskApp, rig: DemoRig, out_dir: Path) -> list[Path]:
    """attract → home → service → place card → result → print → take → rate → goodbye → attract."""
    shots: list[Path] = []
    seen: list[Step] = []

    def shoot(name: str) -> None:
        shots.append(snapshot(app, out_dir / f"{len(shots) + 1:02d}-{name}.png"))

    def on_step(flow) -> None:  # catch the short-lived steps (processing, printing) too
        if not seen or seen[-1] is not flow.step:
            seen.append(flow.step)
            if flow.step in (Step.PROCESSING, Step.PRINTING):
                shoot(flow.step.value)

    app.flow.on_change(on_step)

    def expect(step: Step, timeout: float = 15) -> None:
        if not wait_until(lambda: app.flow.step is step, timeout):
            raise RuntimeError(f"demo visit stuck on {app.flow.step} waiting for {step} "
                               f"({app.flow.error_detail})")

    shoot("attract")
    click(app, "start")
    expect(Step.HOME)
    shoot("home")
    click(app, f"service_{DEMO_SERVICE}")
    expect(Step.INTRO)
    shoot("intro")
    click(app, "confirm")
    expect(Step.PLACE_CARD)
    shoot("place_card")
    rig.place_card()
    expect(Step.INPUTS)
    for key in "202501202610":  # 起止年月 2025-01/2026-10 on the on-screen keypad
        click(app, f"key_{key}")
    shoot("inputs")
    click(app, "next_field")
    expect(Step.RESULT)
    shoot("result")
    click(app, "print")
    expect(Step.TAKE_DOCUMENTS)
    shoot("take_documents")
    rig.remove_card()
    expect(Step.RATING)
    shoot("rating")
    click(app, "rate_very_satisfied")
    expect(Step.GOODBYE)
    shoot("goodbye")
    expect(Step.ATTRACT, timeout=10)
    shoot("attract_again")
    receipts = rig.printed_jobs()
    if receipts:
        shots.append(write_private(out_dir / "receipt.png", receipts[-1].read_bytes()))
    return shots


def run_interactive(app: KioskApp, rig: DemoRig) -> int:
    """The live kiosk; the demo places the synthetic card when the resident is asked for it."""

    def on_step(flow) -> None:
        if flow.step is Step.PLACE_CARD:
            QTimer.singleShot(1500, rig.place_card)
        elif flow.step is Step.ATTRACT:
            rig.remove_card()

    app.flow.on_change(on_step)
    return app.qt.exec()


def demo_identity() -> Identity:
    """The synthetic resident of simulators/cards/resident.json (never a real person)."""
    import json

    data = json.loads(DEMO_CARD.read_text(encoding="utf-8"))
    data["source"] = "id_card"
    return Identity.from_json(data)


SCREEN_NAMES = [step.value for step in Step] + ["countdown"]
PIN_SERVICE = "yb_zhye"  # 医保个人账户余额: social-security card + PIN
FACE_SERVICE = "mz_hyjl"  # 婚姻登记记录查询: ID card + face


def reset_to_attract(app: KioskApp) -> None:
    flow = app.flow
    flow.set_maintenance(False)
    if flow.session is not None:
        flow.end_session("screenshot", say_goodbye=False)
    elif flow.step is not Step.ATTRACT:
        flow._to_attract()
    flow.card_removed()  # a staged card is never "left on the reader"


def stage_screen(app: KioskApp, name: str) -> None:
    """Drive the flow to screen ``name`` with demo data (the central simulator answers)."""
    flow = app.flow
    reset_to_attract(app)
    if name == "attract":
        return
    if name == "out_of_service":
        flow.set_maintenance(True)
        return
    flow.start()
    if name == "home":
        return
    if name == "help":
        flow.open_help()
        return
    if name == "search":
        flow.open_search()
        screen = app.window.current_screen()
        for key in "sbjf":
            screen._on_key(key)
        return
    if name in ("pin", "face"):
        flow.choose_service(PIN_SERVICE if name == "pin" else FACE_SERVICE)
        flow.confirm_intro()
        identity = demo_identity()
        if name == "pin":
            from dataclasses import replace

            identity = replace(identity, card_type="social_security", source="ss_card")
        flow.card_read(identity)
        return
    flow.choose_service(DEMO_SERVICE)
    if name == "intro":
        return
    if name == "countdown":
        flow.session.last_activity -= flow.idle_timeout + 1
        flow.entered_at -= flow.idle_timeout + 1
        flow.tick()
        return
    if name == "error":
        flow._fail("central.unavailable", retry="service")
        return
    flow.confirm_intro()
    if name == "place_card":
        return
    flow.card_read(demo_identity())
    if name == "inputs":
        return
    flow.submit_inputs({})
    if not wait_until(lambda: flow.step is not Step.PROCESSING, 15):
        raise RuntimeError("central simulator did not answer")
    if name == "processing":
        flow._go(Step.PROCESSING)
    elif name == "printing":
        flow._go(Step.PRINTING)
    elif name in ("take_documents", "rating"):
        flow._go(Step.TAKE_DOCUMENTS)
        if name == "rating":
            flow.card_removed("id_card")  # the step waits for the reader to see the card go
    elif name == "goodbye":
        flow.end_session("finished")
    elif name != "result":
        raise ValueError(f"unknown screen {name!r}; one of {', '.join(SCREEN_NAMES)}")


def render_all(app: KioskApp, out_dir: Path, suffix: str = "",
               each: Callable[[Path], object] | None = None) -> list[Path]:
    """Every screen of the current language and mode as PNG: ``<screen><suffix>.png``;
    ``each(png)`` runs while that screen is still shown (the widget-tree export)."""
    shots = []
    for name in SCREEN_NAMES:
        stage_screen(app, name)
        shots.append(snapshot(app, out_dir / f"{name}{suffix}.png"))
        if each is not None:
            each(shots[-1])
    reset_to_attract(app)
    return shots
