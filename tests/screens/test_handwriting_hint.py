"""The writing box's hint is body-sized whatever the box's shape: a tall, narrow box (senior
mode in landscape) once drew it huge, a square one tiny."""

from __future__ import annotations

from kiosk.app.kiosk_app import qt_application
from screens.design import tokens
from screens.handwriting import HandwritingCanvas


def hint_ink_height(qtbot, width: int, height: int) -> int:
    canvas = HandwritingCanvas(lambda: None, elderly=True, hint="HHHH")
    qtbot.addWidget(canvas)
    canvas.resize(width, height)
    image = canvas.grab().toImage()
    background = image.pixelColor(width // 4, height - 20).lightness()
    middle = width // 2
    rows = [y for y in range(12, height // 2 - 8)
            if any(abs(image.pixelColor(x, y).lightness() - background) > 60
                   for x in range(12, width - 12) if abs(x - middle) > 4)]
    assert rows, "no hint drawn"
    return rows[-1] - rows[0] + 1


def test_the_hint_is_body_size_in_a_tall_box_and_a_square_one(qtbot):
    qt_application()
    tall, square = hint_ink_height(qtbot, 330, 900), hint_ink_height(qtbot, 330, 330)
    assert abs(tall - square) <= 2  # old code: 75 px letters in the tall box, 27 px in the square
    assert tall <= tokens(True).text_px  # a capital's ink is less than the body size
