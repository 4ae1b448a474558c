"""Touch widgets every screen shares: big buttons, titles, and the Screen base class."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import shiboken6

from screens.qt import (
    QHBoxLayout,
    QLabel,
    QLayout,
    QPushButton,
    QSizePolicy,
    Qt,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from kiosk.i18n import Translator
    from kiosk.visit.flow import Flow


def button(text: str = "", on_click: Callable[[], None] | None = None, *, role: str = "",
           name: str = "") -> QPushButton:
    """A large touch button; ``role`` picks its look in the theme (primary, tile, lang)."""
    btn = QPushButton(text)
    if role:
        btn.setProperty("role", role)
    if name:
        btn.setObjectName(name)
    btn.setFocusPolicy(Qt.StrongFocus)
    btn.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
    if on_click is not None:
        btn.clicked.connect(lambda _checked=False: on_click())
    return btn


def tile(text: str, on_click: Callable[[], None], *, name: str = "") -> QPushButton:
    """A large service or department tile whose text wraps onto more lines when it must
    (a plain button would cut "Social insurance enrolment" short in senior mode)."""
    btn = button("", on_click, role="tile", name=name)
    btn.setAccessibleName(text)
    text_label = label(text, kind="tile_text")
    text_label.setAttribute(Qt.WA_TransparentForMouseEvents)
    inner = QHBoxLayout(btn)
    inner.setSizeConstraint(QLayout.SetNoConstraint)  # the theme's min-height still rules
    inner.setContentsMargins(24, 6, 24, 6)
    inner.addWidget(text_label)
    return btn


def label(text: str = "", *, kind: str = "", wrap: bool = True,
          align: Qt.AlignmentFlag = Qt.AlignLeft | Qt.AlignVCenter) -> QLabel:
    """A text label; ``kind`` is its theme name (title, subtitle, hint, banner, problem)."""
    lbl = QLabel(text)
    if kind:
        lbl.setObjectName(kind)
    lbl.setWordWrap(wrap)
    lbl.setAlignment(align)
    lbl.setTextFormat(Qt.PlainText)  # never interpret resident or platform data as markup
    return lbl


def clear_layout(layout) -> None:
    """Remove and delete every widget and sub-layout in a layout (tile lists, keypads).

    ``removeWidget`` lets Qt delete its own layout item; ``takeAt`` would hand that item to
    Python, which never frees it — a few hundred bytes lost per tile, every render."""
    while layout.count():
        item = layout.itemAt(0)
        widget = item.widget()
        if widget is not None:
            layout.removeWidget(widget)
            widget.setParent(None)
            widget.deleteLater()
            continue
        child = item.layout()
        if child is not None:
            clear_layout(child)
        layout.removeItem(item)
        shiboken6.delete(item)


class Screen(QWidget):
    """One step of the visit. Subclasses build widgets once and refill them in ``render``."""

    name = "screen"

    def __init__(self, flow: Flow, parent: QWidget | None = None):
        super().__init__(parent)
        self.flow = flow
        self.setObjectName(f"screen_{self.name}")
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(48, 40, 48, 40)
        self.box.setSpacing(28)

    def render(self, t: Translator) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def clear(self) -> None:
        """Forget anything of the resident's (called when a session ends)."""

    def prepare(self) -> None:
        """Work this screen can do ahead, while the resident reads: called once the frame of
        a switch is painted, for the screen shown and its other mode's twin. Nothing by
        default."""

    def row(self, *widgets: QWidget) -> QHBoxLayout:
        line = QHBoxLayout()
        line.setSpacing(24)
        for widget in widgets:
            line.addWidget(widget)
        self.box.addLayout(line)
        return line
