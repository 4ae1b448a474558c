"""Technician mode: a PIN pad, then device checks and test actions. No I/O here.

Everything goes through a :class:`kiosk.ops.console.TechnicianConsole` passed in; the screen
only shows what it answers. Checks and test actions may block for seconds (devices, central):
given ``run_async`` (the app's bridge), they run on a worker while the screen says
"检查中 Checking…" and its buttons wait, so the GUI thread never freezes. Texts are bilingual (technicians may not read the resident's
language choice) and fixed here, not in the resident translations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from screens.icons import set_icon
from screens.keypad import BACKSPACE, CLEAR, Keypad
from screens.qt import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    Qt,
    QVBoxLayout,
    QWidget,
)
from screens.theme import sizes
from screens.widgets import button, clear_layout, label

CHECKING = "检查中… Checking…"
RunAsync = Callable[[Callable[[], Any], Callable[[Any], None], Callable[[BaseException], None]], None]


def _run_here(fn: Callable[[], Any], on_done: Callable[[Any], None],
              on_error: Callable[[BaseException], None]) -> None:
    """Without the app's workers (a bench, a test): run now, on this thread."""
    try:
        value = fn()
    except Exception as exc:  # noqa: BLE001 - shown as a finding, like a worker's failure
        on_error(exc)
    else:
        on_done(value)


def _status_text(status: object) -> str | None:
    """``ready``, ``offline (port_missing): …`` from a check's device status."""
    if not isinstance(status, dict):
        return None
    text = str(status.get("state"))
    if status.get("fault"):
        text += f" ({status['fault']})"
    return text + (f": {status['detail']}" if status.get("detail") else "")


def reader_lines(info: dict) -> list[str]:
    """The ID-card reader's section: which reader, on which transport, its SAM ID, the photo
    decoder, and each device seen but not used with why (``auto``)."""
    lines = [f"读卡器 Reader: {info.get('reader')}",
             f"连接 Transport: {info.get('transport')}"]
    if info.get("sam_id"):
        lines.append(f"SAM 编号 SAM ID: {info['sam_id']}")
    else:
        lines.append(f"SAM 未读到 SAM not read: {info.get('sam_error') or '—'}")
    if info.get("photo_decoder"):
        lines.append(f"照片解码 Photo decoder: {info['photo_decoder']}")
    lines += [f"未使用 Not used: {line}" for line in info.get("not_used") or ()]
    lines += [f"注 Note: {note}" for note in info.get("bus_notes") or ()]
    return lines


DEVICE_WORDS = {  # device → (icon, plain name)
    "receipt_printer": ("receipt", "凭条打印机 Receipt printer"),
    "document_printer": ("printer", "A4 打印机 A4 printer"),
    "idcard": ("id_card", "身份证读卡器 ID card reader"),
    "sscard": ("ss_card", "社保卡读卡器 Social-security card reader"),
    "camera": ("camera", "摄像头 Camera"),
    "qr_scanner": ("qr", "扫码器 Code scanner"),
}
FAULT_WORDS = {  # a driver's fault → what it means, in plain words
    "paper_out": ("缺纸", "out of paper"),
    "paper_low": ("纸将用完", "paper running low"),
    "cover_open": ("机盖未关", "cover open"),
    "offline": ("未连接", "not connected"),
    "port_missing": ("未接上", "not plugged in"),
    "no_reader": ("未接读卡器", "no reader plugged in"),
    "no_sam": ("安全模块未就绪", "security module not ready"),
    "timeout": ("没有应答", "not answering"),
    "protocol": ("应答异常", "answers garbled"),
    "config": ("配置有误", "set up wrongly"),
}


def device_words(check: object) -> tuple[str, str, str] | None:
    """A device check as (icon, plain-words status, native cause): "凭条打印机缺纸 Receipt
    printer out of paper" first, the driver's own words second (None: not a device)."""
    name = str(getattr(check, "name", ""))
    if getattr(check, "category", "") != "device" or not name.startswith("device:"):
        return None
    device = name.removeprefix("device:")
    icon_name, plain = DEVICE_WORDS.get(device, ("warning", device))
    zh, _, en = plain.partition(" ")
    data = getattr(check, "data", None)
    status = data.get("status") if isinstance(data, dict) else None
    fault = status.get("fault") if isinstance(status, dict) else None
    if getattr(check, "ok", False) and fault is None:
        words = f"{zh}正常 {en} working"
    elif fault in FAULT_WORDS:
        f_zh, f_en = FAULT_WORDS[str(fault)]
        words = f"{zh}{f_zh} {en} {f_en}"
    elif isinstance(status, dict) and status.get("state") == "offline":
        words = f"{zh}未连接 {en} not connected"
    else:
        words = f"{zh}故障 {en} not working"
    return icon_name, words, str(getattr(check, "detail", ""))


class _PinPage(QWidget):
    """The PIN page's arrangement: words, pad and buttons stacked in portrait; in landscape
    (older desk panels, 1366×768) the pad on the right so every key keeps its full size."""

    def __init__(self, words: list[QWidget], pad: QWidget, back: QPushButton, ok: QPushButton,
                 gap: int) -> None:
        super().__init__()
        self.words, self.pad, self.back, self.ok = words, pad, back, ok
        self.grid = QGridLayout(self)
        self.grid.setSpacing(gap)
        self.landscape: bool | None = None
        self._arrange(False)

    def _arrange(self, landscape: bool) -> None:
        if landscape == self.landscape:
            return
        self.landscape = landscape
        for w in (*self.words, self.pad, self.back, self.ok):
            self.grid.removeWidget(w)
        for r in range(self.grid.rowCount()):
            self.grid.setRowStretch(r, 0)
        n = len(self.words)
        if landscape:  # words and buttons left, the pad right, as tall as it needs
            for r, w in enumerate(self.words):
                self.grid.addWidget(w, r, 0, 1, 2)
            self.grid.setRowStretch(n, 1)
            self.grid.addWidget(self.back, n + 1, 0)
            self.grid.addWidget(self.ok, n + 1, 1)
            self.grid.addWidget(self.pad, 0, 2, n + 2, 1)
            self.grid.setColumnStretch(2, 3)  # the pad as wide as the words beside it
        else:
            for r, w in enumerate(self.words):
                self.grid.addWidget(w, r, 0, 1, 2)
            self.grid.addWidget(self.pad, n, 0, 1, 2)
            self.grid.setRowStretch(n, 1)
            self.grid.addWidget(self.back, n + 1, 0)
            self.grid.addWidget(self.ok, n + 1, 1)
            self.grid.setColumnStretch(2, 0)
        self.grid.setColumnStretch(0, 1)
        self.grid.setColumnStretch(1, 2)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._arrange(self.width() > self.height())
        super().resizeEvent(event)


class TechnicianScreen(QWidget):
    """``on_exit`` is called when the technician leaves (the app returns to attract);
    ``run_async(fn, on_done, on_error)`` runs blocking work off the GUI thread and delivers
    the outcome back on it."""

    def __init__(self, console, on_exit: Callable[[], None] | None = None,
                 parent: QWidget | None = None, run_async: RunAsync | None = None):
        super().__init__(parent)
        self.setObjectName("screen_technician")
        self.console = console
        self._on_exit = on_exit
        self._run_async = run_async or _run_here
        self._pin = ""
        self.busy = False  # a check or action is running: its buttons wait for it
        alive = self._alive = [True]  # a late result must not touch a deleted screen
        self.destroyed.connect(lambda *_: alive.__setitem__(0, False))
        self.pages = QStackedWidget(self)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(48, 40, 48, 40)
        outer.addWidget(self.pages)
        self.pages.addWidget(self._build_pin_page())
        self.pages.addWidget(self._build_panel_page())

    # -- PIN page --------------------------------------------------------------------------
    def _build_pin_page(self) -> QWidget:
        """Laid out like the resident's PIN page: title and hint, the masked dots, what went
        wrong (a wrong PIN, the lockout) in plain words, the large digit pad, 返回 and 确定;
        in landscape the pad stands beside the words (see :class:`_PinPage`)."""
        tokens = sizes(False)
        emblem = QLabel()
        emblem.setProperty("role", "icon")
        emblem.setAlignment(Qt.AlignCenter)
        set_icon(emblem, "technician", tokens.tile_icon_px)
        title = label("技术员模式 Technician mode", kind="title", align=Qt.AlignCenter)
        hint = label("请输入技术员密码（6–12 位数字） Enter the technician PIN (6–12 digits)",
                     kind="hint", align=Qt.AlignCenter)
        self.pin_display = label("", kind="field", align=Qt.AlignCenter)
        self.pin_display.setObjectName("pin_display")
        self.pin_display.setProperty("role", "input")
        self.pin_display.setAccessibleName("技术员密码 Technician PIN")
        self.pin_display.setMinimumHeight(tokens.target_px + tokens.gap_px)
        self.message = label("", kind="problem", align=Qt.AlignCenter)
        self.message.setObjectName("pin_message")
        self.message.setProperty("role", "problem")
        self.message.hide()
        pad = Keypad("digits", self._key, clear_text="清除")
        pad.findChild(QPushButton, f"key_{CLEAR}").setAccessibleName("清除 Clear")
        self.keys: dict[str, QPushButton] = {}
        for btn in pad.findChildren(QPushButton):
            key = btn.objectName().removeprefix("key_")
            self.keys[{CLEAR: "C"}.get(key, key)] = btn
        back = button("返回 Back", self._leave, role="secondary", name="pin_back")
        set_icon(back, "back", tokens.icon_px)
        ok = button("确定 OK", self._submit, role="primary", name="key_✓")  # the name scripts use
        self.keys["✓"] = ok
        return _PinPage([emblem, title, hint, self.pin_display, self.message], pad, back, ok,
                        tokens.gap_px)

    def _key(self, key: str) -> None:
        if key == BACKSPACE:
            self._pin = self._pin[:-1]
            self._show_pin()
        elif key == CLEAR:
            self._clear()
        else:
            self._digit(key)

    def _show_pin(self) -> None:
        self.pin_display.setText(" ".join("●" * len(self._pin)))

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _digit(self, d: str) -> None:
        if len(self._pin) < 12:
            self._pin += d
        self._show_pin()

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
            self._say(f"密码错误次数过多，已锁定，请 {minutes} 分钟后再试  Too many wrong PINs. "
                      f"Locked: try again in {minutes} min")
        elif result.reason == "no_pin_set":
            self._say("未设置技术员密码 No technician PIN set")
        elif result.reason == "unavailable":  # damaged state file: kiosk doctor names it
            self._say("技术员模式暂不可用，请联系运维  Technician mode unavailable: "
                      "see kiosk doctor")
        else:
            self._say(f"密码错误，还可尝试 {result.attempts_left} 次  "
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
        self.work_buttons = []
        for name in self.console.actions:
            btn = button(name, lambda n=name: self._action(n), name=f"action_{name}")
            self.work_buttons.append(btn)
            box.addWidget(btn)
        box.addWidget(self.action_result)
        self.recheck_button = button("重新检查 Check again", self.show_checks, name="recheck")
        self.work_buttons.append(self.recheck_button)
        box.addWidget(self.recheck_button)
        box.addWidget(button("退出 Exit", self._leave, role="primary", name="exit"))
        return page

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for btn in self.work_buttons:
            btn.setEnabled(not busy)

    def _work(self, fn: Callable[[], Any], on_done: Callable[[Any], None],
              on_error: Callable[[BaseException], None]) -> None:
        """Run ``fn`` on a worker; its outcome comes back here while the screen still exists."""
        alive = self._alive

        def done(value: Any) -> None:
            if alive[0]:
                self._set_busy(False)
                on_done(value)

        def failed(exc: BaseException) -> None:
            if alive[0]:
                self._set_busy(False)
                on_error(exc)

        self._set_busy(True)
        self._run_async(fn, done, failed)

    def show_checks(self) -> None:
        if self.busy:
            return
        clear_layout(self.check_box)
        checking = label(CHECKING, kind="hint")
        checking.setObjectName("checking")
        self.check_box.addWidget(checking)
        self._work(self.console.run_checks, self._show_check_results, self._checks_failed)

    def _show_check_results(self, checks: list) -> None:
        clear_layout(self.check_box)
        for check in checks:
            data = getattr(check, "data", None)
            reader = data.get("reader") if isinstance(data, dict) else None
            head = _status_text(data.get("status")) if reader and isinstance(data, dict) else None
            words = device_words(check)
            if words is not None:
                self.check_box.addWidget(self._device_row(check.ok, *words, head))
            else:
                line = label(f"{'✔' if check.ok else '✘'} {check.name}: {head or check.detail}",
                             kind="" if check.ok else "problem")
                self.check_box.addWidget(line)
            for text in reader_lines(reader) if isinstance(reader, dict) else ():
                self.check_box.addWidget(label(f"    {text}", kind="hint"))

    def _device_row(self, ok: bool, icon_name: str, plain: str, native: str,
                    head: str | None) -> QWidget:
        """One device: its icon, the plain-words status, then the native cause, smaller."""
        row = QWidget()
        row.setObjectName("device_check")
        row.setProperty("role", "device_check")
        row.setAccessibleName(f"{plain} — {head or native}")  # the row read as one line
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        picture = QLabel()
        picture.setProperty("role", "icon")
        set_icon(picture, icon_name, sizes(False).tile_icon_px, None if ok else "warn_text")
        line.addWidget(picture, 0, Qt.AlignTop)
        text = QVBoxLayout()
        status = label(plain, kind="" if ok else "problem")
        status.setObjectName("device_status")
        status.setProperty("role", "label" if ok else "problem")
        # the plain words lead: a step above body text (the cause below is body-sized, muted;
        # the design's smallest text is the body size, so the lead grows instead)
        tokens = sizes(False)
        status.setStyleSheet(f"font-size: {(tokens.text_px + tokens.title_px) // 2}px;"
                             " font-weight: bold;")
        cause = label(head or native, kind="hint")
        cause.setObjectName("device_cause")
        cause.setProperty("role", "hint")
        text.addWidget(status)
        text.addWidget(cause)
        line.addLayout(text, 1)
        return row

    def _checks_failed(self, exc: BaseException) -> None:
        clear_layout(self.check_box)
        self.check_box.addWidget(label(f"✘ 检查失败 Checks failed: {type(exc).__name__}: {exc}",
                                       kind="problem"))

    def _action(self, name: str) -> None:
        if self.busy:
            return
        self.action_result.setText(f"{CHECKING} {name}")

        def shown(outcome: tuple[bool, str]) -> None:
            ok, detail = outcome
            self.action_result.setText(f"{'✔' if ok else '✘'} {name}: {detail}")

        def failed(exc: BaseException) -> None:
            self.action_result.setText(f"✘ {name}: {type(exc).__name__}: {exc}")

        self._work(lambda: self.console.run_action(name), shown, failed)

    def _leave(self) -> None:
        self.console.leave()
        self._clear()
        self.message.setText("请输入技术员密码 Enter technician PIN")
        self.pages.setCurrentIndex(0)
        if self._on_exit is not None:
            self._on_exit()
