"""Technician mode: a PIN pad, then device checks and test actions. No I/O here.

Everything goes through a :class:`kiosk.ops.console.TechnicianConsole` passed in; the screen
only shows what it answers. Texts are bilingual (technicians may not read the resident's
language choice) and fixed here, not in the resident translations.
"""

from __future__ import annotations

from collections.abc import Callable

from screens.qt import QGridLayout, QStackedWidget, Qt, QVBoxLayout, QWidget
from screens.widgets import button, clear_layout, label


class TechnicianScreen(QWidget):
    """``on_exit`` is called when the technician leaves (the app returns to attract)."""

    def __init__(self, console, on_exit: Callable[[], None] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("screen_technician")
        self.console = console
        self._on_exit = on_exit
        self._pin = ""
        self.pages = QStackedWidget(self)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(48, 40, 48, 40)
        outer.addWidget(self.pages)
        self.pages.addWidget(self._build_pin_page())
        self.pages.addWidget(self._build_panel_page())

    # -- PIN page --------------------------------------------------------------------------
    def _build_pin_page(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        box.addWidget(label("技术员模式 Technician mode", kind="title", align=Qt.AlignCenter))
        self.pin_display = label("", kind="subtitle", align=Qt.AlignCenter)
        self.pin_display.setObjectName("pin_display")
        self.message = label("请输入技术员密码 Enter technician PIN", kind="hint",
                             align=Qt.AlignCenter)
        self.message.setObjectName("pin_message")
        box.addWidget(self.pin_display)
        box.addWidget(self.message)
        grid = QGridLayout()
        self.keys: dict[str, object] = {}
        for i, key in enumerate("123456789C0✓"):
            action = {"C": self._clear, "✓": self._submit}.get(key, lambda k=key: self._digit(k))
            btn = button(key, action, role="primary" if key == "✓" else "tile", name=f"key_{key}")
            self.keys[key] = btn
            grid.addWidget(btn, i // 3, i % 3)
        box.addLayout(grid)
        box.addWidget(button("返回 Back", self._leave, name="pin_back"))
        return page

    def _digit(self, d: str) -> None:
        if len(self._pin) < 12:
            self._pin += d
        self.pin_display.setText("●" * len(self._pin))

    def _clear(self) -> None:
        self._pin = ""
        self.pin_display.setText("")

    def _submit(self) -> None:
        result = self.console.attempt(self._pin)
        self._clear()
        if result.ok:
            self.pages.setCurrentIndex(1)
            self.show_checks()
        elif result.reason == "locked":
            minutes = (result.seconds_locked() + 59) // 60
            self.message.setText(f"已锁定，请 {minutes} 分钟后再试  Locked: try again in {minutes} min")
        elif result.reason == "no_pin_set":
            self.message.setText("未设置技术员密码 No technician PIN set")
        else:
            self.message.setText(f"密码错误，还可尝试 {result.attempts_left} 次  "
                                 f"Wrong PIN, {result.attempts_left} tries left")

    # -- panel page ------------------------------------------------------------------------
    def _build_panel_page(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        box.addWidget(label("设备与系统检查 Checks", kind="title"))
        self.check_box = QVBoxLayout()
        box.addLayout(self.check_box)
        self.action_result = label("", kind="hint")
        self.action_result.setObjectName("action_result")
        box.addStretch(1)
        for name in self.console.actions:
            box.addWidget(button(name, lambda n=name: self._action(n), name=f"action_{name}"))
        box.addWidget(self.action_result)
        box.addWidget(button("重新检查 Check again", self.show_checks, name="recheck"))
        box.addWidget(button("退出 Exit", self._leave, role="primary", name="exit"))
        return page

    def show_checks(self) -> None:
        clear_layout(self.check_box)
        for check in self.console.run_checks():
            line = label(f"{'✔' if check.ok else '✘'} {check.name}: {check.detail}",
                         kind="" if check.ok else "problem")
            self.check_box.addWidget(line)

    def _action(self, name: str) -> None:
        ok, detail = self.console.run_action(name)
        self.action_result.setText(f"{'✔' if ok else '✘'} {name}: {detail}")

    def _leave(self) -> None:
        self.console.leave()
        self._clear()
        self.message.setText("请输入技术员密码 Enter technician PIN")
        self.pages.setCurrentIndex(0)
        if self._on_exit is not None:
            self._on_exit()
