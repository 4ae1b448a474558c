"""Which field of how many: said only where a form has more than one field, and worded as
fields ("第 1 个，共 3 个"), never "第 1 项，共 1 项" beside the step bar that counts steps."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QFontInfo
from PySide6.QtWidgets import QLabel

from kiosk.visit.flow import Step


def open_inputs(window, service_id: str):
    flow = window.flow
    flow.start()
    flow.choose_service(service_id)
    if flow.step is Step.INTRO:
        flow.confirm_intro()
    assert flow.step is Step.INPUTS
    return window.current_screen()


def shown_labels(screen) -> list[str]:
    return [lbl.text() for lbl in screen.findChildren(QLabel) if lbl.isVisibleTo(screen)]


def test_a_one_field_form_shows_no_field_count(window):
    screen = open_inputs(window, "hall_qh")  # 取号: one field
    assert len(screen.fields) == 1
    texts = shown_labels(screen)
    assert not any("共 1" in text for text in texts), texts


@pytest.mark.parametrize("lang, words", [("zh_CN", "第 1 个，共 3 个"), ("zh_HK", "第 1 個，共 3 個"),
                                         ("en", "Field 1 of 3")])
def test_a_longer_form_counts_its_fields_in_words_for_fields(window, lang, words):
    window.flow.set_language(lang)
    screen = open_inputs(window, "hall_12345")  # type, content, phone
    assert len(screen.fields) == 3
    assert words in shown_labels(screen)
    # secondary: set smaller than the service's name beside it
    assert QFontInfo(screen.progress.font()).pixelSize() < QFontInfo(screen.title.font()).pixelSize()
