"""Service intro: what the service gives, what the resident needs (the cards it accepts, with\ntheir pictures), how long it takes."""

from __future__ import annotations

from kiosk.i18n import Translator
from screens.chrome import tighten
from screens.pictures import AcceptedCards
from screens.qt import QBoxLayout, QFrame, QVBoxLayout
from screens.widgets import Screen, button, label

_AUTH_KEYS = {"none": "intro.auth_none", "id_card": "intro.auth_id_card",
              "id_card+face": "intro.auth_face", "ss_card+pin": "intro.auth_ss_card",
              "app_code": "intro.auth_app_code"}


class IntroScreen(Screen):
    name = "intro"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.title = label(kind="title")
        self.box.addWidget(self.title)
        panel = QFrame()
        panel.setObjectName("panel")
        facts = QVBoxLayout(panel)
        facts.setContentsMargins(32, 28, 32, 28)
        facts.setSpacing(20)
        self.need_title = label(kind="subtitle")
        self.need = label()
        self.auth = label()
        self.minutes = label()
        self.fee = label()
        for widget in (self.need_title, self.need, self.auth, self.minutes, self.fee):
            facts.addWidget(widget)
        # the facts above the accepted cards in portrait, beside them in landscape
        self.body = QBoxLayout(QBoxLayout.TopToBottom)
        self.body.setSpacing(24)
        self.box.addLayout(self.body)
        self.body.addWidget(panel, 1)
        side = QVBoxLayout()
        side.setSpacing(12)
        self.accepted_title = label(kind="subtitle")
        side.addWidget(self.accepted_title)
        self.accepted = AcceptedCards()
        side.addWidget(self.accepted)
        side.addStretch(1)
        self.body.addLayout(side, 1)
        self.box.addStretch(1)
        self.back_button = button(on_click=self.flow.back, name="back")
        self.start_button = button(on_click=self.flow.confirm_intro, role="primary", name="confirm")
        self.row(self.back_button, self.start_button)

    def clear(self) -> None:
        for widget in (self.title, self.need, self.auth, self.minutes):
            widget.clear()

    def render(self, t: Translator) -> None:
        service, lang = self.flow.service, self.flow.language
        if service is None:
            return self.clear()
        self.title.setText(service.name(lang))
        self.need_title.setText(t.t("intro.what_you_need"))
        self.need.setText(service.what_you_need.get(lang) or service.what_you_need.get("zh_CN", ""))
        self.auth.setText("▸ " + t.t(_AUTH_KEYS.get(service.auth, "intro.auth_id_card")))
        self.minutes.setText("▸ " + t.t("intro.minutes", minutes=service.minutes))
        self.fee.setText("▸ " + t.t("intro.fee"))
        self.accepted.render(t, service.auth, self.flow.elderly)
        self.accepted_title.setText(t.t("intro.accepted"))
        self.accepted_title.setVisible(self.accepted.isVisibleTo(self))
        self.back_button.setText(t.t("common.back"))
        self.start_button.setText(t.t("intro.start"))
        self._fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        tighten(self, self.flow.elderly, (self.back_button,))
        wide = self.width() > self.height() and self.width() > 1
        way = QBoxLayout.LeftToRight if wide else QBoxLayout.TopToBottom
        if self.body.direction() != way:
            self.body.setDirection(way)
