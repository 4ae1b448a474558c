"""The face guide is face-shaped (taller than wide) in every orientation of the panel."""

from __future__ import annotations

import pytest

from kiosk.app.kiosk_app import qt_application
from screens.face import Preview


@pytest.mark.parametrize("size", [(640, 720), (1200, 720), (1800, 760), (640, 1100)])
def test_the_guide_is_an_upright_oval_centred_in_the_preview(qtbot, size):
    qt_application()
    preview = Preview()
    qtbot.addWidget(preview)
    preview.resize(*size)
    oval = preview.guide()
    assert oval.height() > oval.width() * 1.2  # a wide flat ellipse is no face
    assert abs(oval.center().x() - size[0] / 2) < 1
    assert 0 <= oval.left() and oval.right() <= size[0] and oval.bottom() <= size[1]
