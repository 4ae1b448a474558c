"""Face (刷脸): a live preview with the oval guide, one plain prompt at a time, a progress
bar, then "verifying…"; after a failed match, try again or use the social-security card."""

from __future__ import annotations

from kiosk.i18n import Translator
from screens.chrome import tighten
from screens.qt import QColor, QImage, QPainter, QPen, QRectF, Qt, QWidget
from screens.theme import COLOURS
from screens.widgets import Screen, button, label


class Preview(QWidget):
    """The latest camera frame, mirrored like a looking glass, with the guide oval."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(640, 720)
        self.image: QImage | None = None
        self.progress = 0.0

    def show_image(self, image: QImage | None, progress: float) -> None:
        self.image = image
        self.progress = progress
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), QColor("#222222"))
        if self.image is not None:
            scaled = self.image.scaled(self.size(), Qt.KeepAspectRatioByExpanding).flipped(Qt.Horizontal)
            x = (self.width() - scaled.width()) // 2
            y = (self.height() - scaled.height()) // 2
            p.drawImage(x, y, scaled)
        oval = self.guide()
        p.setPen(QPen(QColor("#ffffff"), 8, Qt.DashLine))
        p.setBrush(Qt.NoBrush)
        p.drawEllipse(oval)
        if self.progress > 0:
            p.setPen(QPen(QColor(COLOURS["focus"]), 14))
            p.drawArc(oval, 90 * 16, int(-360 * 16 * self.progress))
        p.end()

    def guide(self) -> QRectF:
        """Where the face should be: an upright oval (a face is taller than wide, about
        3 : 4) centred in the preview, whatever shape the panel gives the preview."""
        w, h = self.width(), self.height()
        height = h * 0.62
        width = min(w * 0.5, height * 0.75)
        return QRectF((w - width) / 2, h * 0.15, width, height)

    def clear(self) -> None:
        self.image = None
        self.progress = 0.0
        self.update()


class FaceScreen(Screen):
    name = "face"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.title = label(kind="title", align=Qt.AlignCenter)
        self.box.addWidget(self.title)
        self.preview = Preview()
        self.box.addWidget(self.preview, 1)
        self.prompt = label(kind="subtitle", align=Qt.AlignCenter)
        self.problem = label(kind="problem", align=Qt.AlignCenter)
        self.box.addWidget(self.prompt)
        self.box.addWidget(self.problem)
        self.retry_button = button(on_click=self.flow.face_retry, role="primary", name="face_retry")
        self.ss_button = button(on_click=self.flow.use_ss_card_instead, role="primary",
                                name="use_ss_card")
        self.back_button = button(on_click=self.flow.back, name="back")
        self.staff_button = button(on_click=self.flow.cancel, name="ask_staff")
        self.row(self.back_button, self.retry_button)
        self.row(self.staff_button, self.ss_button)
        self._prompt_code = "no_face"

    def show_frame(self, image: QImage | None, prompt_code: str, progress: float) -> None:
        """Called by the app for each camera frame while this screen is up."""
        self.preview.show_image(image, progress)
        if prompt_code != self._prompt_code:
            self._prompt_code = prompt_code
            self.prompt.setText(self._t.t(f"face.prompt.{prompt_code}"))

    def clear(self) -> None:
        self.preview.clear()
        self._prompt_code = "no_face"

    def render(self, t: Translator) -> None:
        self._t = t
        problem = self.flow.face_problem
        self.title.setText(t.t("face.title"))
        self.prompt.setText(t.t(f"face.prompt.{self._prompt_code}"))
        self.prompt.setVisible(problem is None)
        self.problem.setText(t.t(problem) if problem else "")
        self.problem.setVisible(problem is not None)
        self.retry_button.setText(t.t("face.retry"))
        self.retry_button.setVisible(problem == "face.no_match")
        self.ss_button.setText(t.t("face.use_ss_card"))
        self.ss_button.setVisible(problem == "face.give_up")
        self.staff_button.setText(t.t("face.ask_staff"))
        self.staff_button.setVisible(problem == "face.give_up")
        self.back_button.setText(t.t("common.back"))
        tighten(self, self.flow.elderly, (self.back_button,))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        tighten(self, self.flow.elderly, (self.back_button,))
