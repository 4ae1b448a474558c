"""Place your ID card: a picture of where the reader is, and a plain sentence when a card
cannot be used (expired, misread). Where the service accepts the phone's identity code
(网络身份码) and a scanner can read it, "扫码" beside the card shows where to hold the phone;
a code-only service shows the phone straight away."""

from __future__ import annotations

from kiosk.i18n import Translator
from screens.chrome import short_panel, tighten
from screens.pictures import AcceptedCards, CardPicture, PhonePicture
from screens.qt import QBoxLayout, Qt, QVBoxLayout
from screens.widgets import Screen, button, label


class PlaceCardScreen(Screen):
    name = "place_card"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.showing_code = False  # the resident chose 扫码 (or the service takes codes only)
        self._t: Translator | None = None
        self.title = label(kind="title", align=Qt.AlignCenter)
        self.box.addWidget(self.title)
        # the picture above the words in portrait; beside them in landscape, smaller on a
        # short panel (1366×768), so the cards' names and the problem keep their lines
        self.body = QBoxLayout(QBoxLayout.TopToBottom)
        self.box.addLayout(self.body, 1)
        pictures = QVBoxLayout()
        self.picture = CardPicture()
        pictures.addWidget(self.picture)
        self.phone = PhonePicture()
        self.phone.hide()
        pictures.addWidget(self.phone)
        self.body.addLayout(pictures, 1)
        words = QVBoxLayout()
        self.words = words
        self.hint = label(kind="hint", align=Qt.AlignCenter)
        words.addWidget(self.hint)
        self.accepted = AcceptedCards()  # which cards the reader takes for this service
        words.addWidget(self.accepted)
        self.problem = label(kind="problem", align=Qt.AlignCenter)
        words.addWidget(self.problem)
        words.addStretch(1)
        self.body.addLayout(words, 1)
        self.back_button = button(on_click=self.flow.back, name="back")
        self.scan_button = button(on_click=self._toggle_code, role="primary", name="scan_code")
        self.row(self.back_button, self.scan_button)

    def _toggle_code(self) -> None:
        self.showing_code = not self.showing_code
        self.flow.touch()
        if self._t is not None:
            self.render(self._t)

    def clear(self) -> None:
        self.problem.clear()
        self.showing_code = False

    def _code_offered(self) -> bool:
        service = self.flow.service
        return bool(service is not None and service.accepts_app_code and self.flow.can_scan_code)

    def render(self, t: Translator) -> None:
        self._t = t
        ss = self.flow.auth == "ss_card+pin"
        code_only = self.flow.auth == "app_code"
        offered = self._code_offered() and not ss
        code = code_only or (offered and self.showing_code)
        if code:
            self.title.setText(t.t("app_code.title"))
            self.hint.setText(t.t("app_code.hint") if code_only
                              else f"{t.t('app_code.hint')}\n{t.t('app_code.or_card')}")
        else:
            self.title.setText(t.t("place_card.title_ss" if ss else "place_card.title"))
            self.hint.setText(t.t("place_card.hint_ss" if ss else "place_card.hint"))
        self.picture.setVisible(not code)
        self._fit()  # the cards' shape first: their pictures' size follows it
        self.accepted.render(t, self.flow.auth, self.flow.elderly)
        self.accepted.setVisible(not code and self.accepted.isVisibleTo(self))
        self.phone.setVisible(code)
        self.scan_button.setVisible(offered and not code_only)
        self.scan_button.setText(t.t("app_code.card" if self.showing_code else "app_code.scan"))
        key = self.flow.card_problem
        self.problem.setText(t.t(key) if key else "")
        self.problem.setVisible(bool(key))
        self.back_button.setText(t.t("common.back"))
        self._fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        tighten(self, self.flow.elderly, (self.back_button,))
        wide = self.width() > self.height() * 1.2
        way = QBoxLayout.LeftToRight if wide else QBoxLayout.TopToBottom
        if self.body.direction() != way:
            self.body.setDirection(way)
        self.body.setSpacing(self.box.spacing())
        self.words.setSpacing(self.box.spacing())
        short = short_panel(self)
        self.accepted.set_listed(short and wide)  # a narrow column: one card a line
        self.body.setStretch(0, 1)
        self.body.setStretch(1, 2 if short and wide else 1)
        tall = 420 if not short else 240
        for picture in (self.picture, self.phone):
            if picture.minimumHeight() != tall:
                picture.setMinimumHeight(tall)
