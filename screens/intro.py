"""Service intro: what the service gives, what the resident needs (the cards it accepts, with\ntheir pictures), how long it takes."""

from __future__ import annotations

from kiosk.i18n import Translator
from screens.chrome import flick_scroll, short_panel, tighten
from screens.design import tokens
from screens.pictures import AcceptedCards
from screens.qt import QBoxLayout, QFrame, QScrollArea, QVBoxLayout
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
        self.facts = facts
        self.need_title = label(kind="subtitle")
        self.need = label()
        self.auth = label()
        self.minutes = label()
        self.fee = label()
        for widget in (self.need_title, self.need, self.auth, self.minutes, self.fee):
            facts.addWidget(widget)
        facts.addStretch(1)
        # the facts scroll (a finger drags them, a bar shows more) where a short senior panel
        # has not the height for them all; elsewhere they fit and nothing moves
        self.facts_scroll = flick_scroll(QScrollArea())
        self.facts_scroll.setObjectName("facts_scroll")
        self.facts_scroll.setWidgetResizable(True)
        self.facts_scroll.setWidget(panel)
        # the facts above the accepted cards in portrait, beside them in landscape
        self.body = QBoxLayout(QBoxLayout.TopToBottom)
        self.body.setSpacing(24)
        self.box.addLayout(self.body)
        self.body.addWidget(self.facts_scroll, 1)
        side = QVBoxLayout()
        side.setSpacing(12)
        self.side = side
        self.accepted_title = label(kind="subtitle")
        side.addWidget(self.accepted_title)
        self.accepted = AcceptedCards()
        side.addWidget(self.accepted)
        side.addStretch(1)
        self.body.addLayout(side, 1)
        self.box.addStretch(1)
        self.back_button = button(on_click=self.flow.back, name="back")
        self.start_button = button(on_click=self.flow.confirm_intro, role="primary", name="confirm")
        self.actions = self.row(self.back_button, self.start_button)
        self.wide: tuple[bool, bool] | None = None

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

    def _fit_facts(self, wide: bool, short: bool) -> None:
        """The facts are put behind a scroll bar only where the screen has not the height
        for them (1366×768 in senior mode): elsewhere their box is as tall as their lines
        need at its width."""
        if self.width() <= 1:
            return
        margins = self.box.contentsMargins()
        width = self.width() - margins.left() - margins.right()
        if wide:
            share = 2 if short else 1  # the facts' column: two thirds or a half
            width = (width - self.body.spacing()) * share // (share + 1)
        need = self.facts_scroll.widget().heightForWidth(width)
        room = (self.height() - margins.top() - margins.bottom() - self.box.spacing()
                - self.title.heightForWidth(max(1, self.width() - margins.left()
                                                - margins.right())))
        if not wide:  # the buttons' row and the cards below the facts
            room -= 2 * self.box.spacing() + self.start_button.sizeHint().height()
            room -= self.accepted_title.sizeHint().height() + self.accepted.sizeHint().height()
        want = max(0, min(need, room))
        if need > 0 and self.facts_scroll.minimumHeight() != want:
            self.facts_scroll.setMinimumHeight(want)

    def _fit(self) -> None:
        """Landscape: the facts beside the cards, and 开始办理 under the cards (a short panel
        has no height for a row of its own); portrait: all stacked, the buttons below."""
        tighten(self, self.flow.elderly, (self.back_button,))
        short = short_panel(self)
        unit = tokens(self.flow.elderly).gap_px // 2
        self.facts.setContentsMargins(*((unit * 2, unit, unit * 2, unit) if short
                                        else (32, 28, 32, 28)))
        self.facts.setSpacing(unit // 2 if short else 20)
        wide = self.width() > self.height() and self.width() > 1
        self.accepted.set_listed(short and wide)  # in the facts' column: one card a line
        self._fit_facts(wide, short)
        if (wide, short) == self.wide:
            return
        self.wide = (wide, short)
        self.body.setDirection(QBoxLayout.LeftToRight if wide else QBoxLayout.TopToBottom)
        for widget in (self.back_button, self.start_button, self.accepted_title, self.accepted):
            self.actions.removeWidget(widget)
            self.side.removeWidget(widget)
            self.facts.removeWidget(widget)
        if wide and short:  # the cards scroll with the facts; 开始办理 stands alone beside
            stretch = self.facts.count() - 1
            self.facts.insertWidget(stretch, self.accepted_title)
            self.facts.insertWidget(stretch + 1, self.accepted)
            self.body.setStretch(0, 2)
        else:
            self.side.insertWidget(0, self.accepted_title)
            self.side.insertWidget(1, self.accepted)
            self.body.setStretch(0, 1)
        if wide:
            self.side.addWidget(self.start_button)
        else:
            self.actions.addWidget(self.back_button)
            self.actions.addWidget(self.start_button)
