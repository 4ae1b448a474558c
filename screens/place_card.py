"""Place your ID card: a picture of where the reader is, and a plain sentence when a card
cannot be used (expired, misread)."""

from __future__ import annotations

from kiosk.i18n import Translator
from screens.pictures import CardPicture
from screens.qt import Qt
from screens.widgets import Screen, button, label


class PlaceCardScreen(Screen):
    name = "place_card"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.title = label(kind="title", align=Qt.AlignCenter)
        self.box.addWidget(self.title)
        self.picture = CardPicture()
        self.box.addWidget(self.picture)
        self.hint = label(kind="hint", align=Qt.AlignCenter)
        self.box.addWidget(self.hint)
        self.problem = label(kind="problem", align=Qt.AlignCenter)
        self.box.addWidget(self.problem)
        self.box.addStretch(1)
        self.back_button = button(on_click=self.flow.back, name="back")
        self.row(self.back_button)

    def clear(self) -> None:
        self.problem.clear()

    def render(self, t: Translator) -> None:
        ss = self.flow.auth == "ss_card+pin"
        self.title.setText(t.t("place_card.title_ss" if ss else "place_card.title"))
        self.hint.setText(t.t("place_card.hint_ss" if ss else "place_card.hint"))
        key = self.flow.card_problem
        self.problem.setText(t.t(key) if key else "")
        self.problem.setVisible(bool(key))
        self.back_button.setText(t.t("common.back"))
