"""Processing / printing: the kiosk is working; the resident is told what and how long."""

from __future__ import annotations

from kiosk.i18n import Translator
from screens.busy import BusyIndicator
from screens.qt import Qt
from screens.widgets import Screen, label


class WaitScreen(Screen):
    """A title, a hint and nothing to press: used while central answers or paper prints."""

    name = "processing"
    title_key, hint_key = "processing.title", "processing.hint"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.box.addStretch(1)
        self.busy = BusyIndicator()
        self.box.addWidget(self.busy, 0, Qt.AlignHCenter)
        self.title = label(kind="title", align=Qt.AlignCenter)
        self.hint = label(kind="hint", align=Qt.AlignCenter)
        self.box.addWidget(self.title)
        self.box.addWidget(self.hint)
        self.box.addStretch(2)

    def render(self, t: Translator) -> None:
        self.title.setText(t.t(self.title_key))
        self.hint.setText(t.t(self.hint_key))


class ProcessingScreen(WaitScreen):
    name = "processing"


class PrintingScreen(WaitScreen):
    name = "printing"
    title_key, hint_key = "printing.title", "printing.hint"
