"""Screens that only say something: a title and a hint, centred — with a busy ring while
the kiosk is working (processing, printing), without one for goodbye and out-of-service."""

from __future__ import annotations

from kiosk.i18n import Translator
from screens.pictures import BusyIndicator
from screens.qt import Qt
from screens.widgets import Screen, label


class MessageScreen(Screen):
    """A title, a hint and nothing to press."""

    name = "message"
    title_key, hint_key = "processing.title", "processing.hint"
    busy = False

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.box.addStretch(1)
        if self.busy:
            self.box.addWidget(BusyIndicator(), 0, Qt.AlignHCenter)
        self.title = label(kind="title", align=Qt.AlignCenter)
        self.hint = label(kind="hint", align=Qt.AlignCenter)
        self.box.addWidget(self.title)
        self.box.addWidget(self.hint)
        self.box.addStretch(2)

    def render(self, t: Translator) -> None:
        self.title.setText(t.t(self.title_key))
        self.hint.setText(t.t(self.hint_key))


class ProcessingScreen(MessageScreen):
    name = "processing"
    busy = True


class PrintingScreen(MessageScreen):
    name = "printing"
    title_key, hint_key = "printing.title", "printing.hint"
    busy = True


class GoodbyeScreen(MessageScreen):
    name = "goodbye"
    title_key, hint_key = "goodbye.title", "goodbye.hint"


class OutOfServiceScreen(MessageScreen):
    """Central ops closed this terminal: say so plainly and where else to go."""

    name = "out_of_service"
    title_key, hint_key = "out_of_service.title", "out_of_service.hint"


class HelpScreen(MessageScreen):
    """How the terminal works, in three steps, and where a person can help."""

    name = "help"
    title_key, hint_key = "help.title", "help.text"
