"""Fields that take Chinese (留言内容, 投诉内容, 字号名称) get handwriting and pinyin, not the
A–Z keypad: a resident writes 十 with a finger, or types shebao, and the characters arrive in
the field; zh_HK offers Traditional characters. Real zinnia, real OpenCC, the real screen."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QWidget

from kiosk.catalog.services import Catalog, CatalogError
from kiosk.paths import SERVICES_DIR
from kiosk.visit.flow import Flow, Step
from screens.handwriting import ChinesePad
from screens.keypad import Keypad
from tests.screens.conftest import shown_window


def line(a, b, n=8):
    return [(a[0] + (b[0] - a[0]) * i / n, a[1] + (b[1] - a[1]) * i / n) for i in range(n + 1)]


SHI = [line((30, 135), (270, 135)), line((150, 30), (150, 270))]  # 十 on a 300 × 300 box


def draw(canvas: QWidget, strokes) -> None:
    """A finger on the box: press, move, lift, for each stroke (scaled to the box)."""
    for stroke in strokes:
        points = [QPointF(x * canvas.width() / 300, y * canvas.height() / 300) for x, y in stroke]

        def send(kind, point, buttons):
            QApplication.sendEvent(canvas, QMouseEvent(kind, point, canvas.mapToGlobal(point),
                                                       Qt.LeftButton, buttons, Qt.NoModifier))

        send(QEvent.MouseButtonPress, points[0], Qt.LeftButton)
        for point in points[1:]:
            send(QEvent.MouseMove, point, Qt.LeftButton)
        send(QEvent.MouseButtonRelease, points[-1], Qt.NoButton)


@pytest.fixture
def message_field(window, qtbot):
    """The 12345 hotline message's 留言内容 field, on the real window."""
    flow = window.flow
    flow.start()
    flow.choose_service("hall_12345")
    if flow.step is Step.INTRO:
        flow.confirm_intro()
    assert flow.step is Step.INPUTS
    screen = window.current_screen()
    qtbot.mouseClick(screen.findChild(QPushButton, "choice_advice"), Qt.LeftButton)
    assert screen._field().name == "content"
    return window, screen


def value_of(screen) -> str:
    return screen.values.get("content", "")


def candidates(screen) -> list[str]:
    return [b.text() for b in screen.findChildren(QPushButton)
            if b.objectName().startswith("candidate_") and b.isVisibleTo(screen)]


def test_chinese_field_gets_handwriting_and_pinyin_not_the_letter_keypad(message_field):
    _, screen = message_field
    pad = screen.findChild(ChinesePad)
    assert pad is not None and pad.isVisibleTo(screen)
    assert pad.mode == "handwriting"  # writing first: no pinyin needed
    assert not any(k.layout_name == "alnum" and k.isVisibleTo(screen)
                   for k in screen.findChildren(Keypad))


def test_a_handwritten_character_is_offered_and_lands_in_the_field(message_field, qtbot):
    _, screen = message_field
    canvas = screen.findChild(QWidget, "handwriting_canvas")
    qtbot.waitUntil(lambda: canvas.width() >= 300)
    draw(canvas, SHI)
    qtbot.waitUntil(lambda: "十" in candidates(screen)[:3], timeout=2000)
    undo = screen.findChild(QPushButton, "ime_undo")
    assert undo.isEnabled()
    chosen = next(b for b in screen.findChildren(QPushButton)
                  if b.objectName().startswith("candidate_") and b.text() == "十")
    qtbot.mouseClick(chosen, Qt.LeftButton)
    assert value_of(screen) == "十"
    assert canvas.strokes == [] and not undo.isEnabled()  # ready for the next character
    assert "十" in screen.value.text()


def test_pinyin_offers_the_word_and_backspace_deletes_letters_then_characters(message_field,
                                                                            qtbot):
    _, screen = message_field
    qtbot.mouseClick(screen.findChild(QPushButton, "ime_pinyin"), Qt.LeftButton)
    for key in "SHEBAO":
        qtbot.mouseClick(screen.findChild(QPushButton, f"key_{key}"), Qt.LeftButton)
    qtbot.waitUntil(lambda: candidates(screen)[:1] == ["社保"], timeout=2000)
    qtbot.mouseClick(next(b for b in screen.findChildren(QPushButton)
                          if b.objectName() == "candidate_0"), Qt.LeftButton)
    assert value_of(screen) == "社保"
    typed = screen.findChild(QLabel, "pinyin_typed")
    assert typed.text().strip() == ""
    qtbot.mouseClick(screen.findChild(QPushButton, "key_A"), Qt.LeftButton)
    backspace = [b for b in screen.findChildren(QPushButton, "key_⌫") if b.isVisibleTo(screen)]
    qtbot.mouseClick(backspace[0], Qt.LeftButton)  # takes back the letter a
    assert value_of(screen) == "社保" and typed.text().strip() == ""
    qtbot.mouseClick(backspace[0], Qt.LeftButton)  # no letters left: deletes 保
    assert value_of(screen) == "社"


def test_zh_hk_offers_traditional_candidates(message_field, qtbot):
    window, screen = message_field
    for lang in ("en", "zh_CN", "zh_HK"):  # each language rebuilds the pad, switches included
        window.flow.set_language(lang)
    screen = window.current_screen()
    qtbot.waitUntil(lambda: len(screen.findChildren(QPushButton, "ime_pinyin")) == 1,
                    timeout=2000)  # none of the old pads' switches is left behind
    qtbot.mouseClick(screen.findChild(QPushButton, "ime_pinyin"), Qt.LeftButton)
    for key in "FAZHAN":
        qtbot.mouseClick(screen.findChild(QPushButton, f"key_{key}"), Qt.LeftButton)
    qtbot.waitUntil(lambda: candidates(screen)[:1] == ["發展"], timeout=2000)


def test_a_message_written_in_characters_passes_the_field_check(message_field, qtbot):
    _, screen = message_field
    for text in ("路灯坏了", "请修"):
        screen._on_text(text)
    qtbot.mouseClick(screen.findChild(QPushButton, "next_field"), Qt.LeftButton)
    assert screen._field().name == "mobile"  # 6 characters of Chinese were accepted


def test_catalog_marks_the_chinese_fields_and_refuses_a_bad_script(tmp_path):
    catalog = Catalog.load()
    chinese = {(s.id, f.name) for s in catalog.services for f in s.inputs
               if f.script == "chinese"}
    assert {("hall_12345", "content"), ("sj_gtdj", "shop_name")} <= chinese
    target = tmp_path / "services"
    shutil.copytree(SERVICES_DIR, target)
    hall = Path(target / "hall.toml")
    hall.write_text(hall.read_text(encoding="utf-8").replace(
        'script = "chinese"', 'script = "cyrillic"', 1), encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        Catalog.load(target)
    assert (info.value.entry, info.value.field) == ("hall_12345", "inputs[1].script")


def test_a_senior_finds_a_service_by_writing_instead_of_pinyin(qtbot):
    flow = Flow(Catalog.load(), None, elderly=True)
    window = shown_window(qtbot, flow)
    flow.start()
    flow.open_search()
    screen = window.current_screen()
    from screens.handwriting import HandwritingPad

    pad = screen.findChild(HandwritingPad)
    assert pad is not None and pad.isVisibleTo(screen)
    canvas = pad.canvas
    qtbot.waitUntil(lambda: canvas.width() >= 300)
    draw(canvas, SHI)  # the pad reads what is written ...
    qtbot.waitUntil(lambda: "十" in candidates(screen), timeout=2000)
    for char in "社保":  # ... and each character picked lands in the search
        pad._pick(char)
    qtbot.waitUntil(lambda: any(b.isVisibleTo(screen) for b in screen.findChildren(QPushButton)
                                if b.objectName().startswith("service_rs_")), timeout=2000)
    assert screen.text == "社保"
