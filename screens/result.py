"""Result: the answer in large, paged rows, with print and done."""

from __future__ import annotations

from kiosk.i18n import Translator
from screens.qt import QAbstractItemView, QHeaderView, Qt, QTableWidget, QTableWidgetItem
from screens.theme import sizes
from screens.widgets import Screen, button, label


class ResultScreen(Screen):
    name = "result"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.page = 0
        self.title = label(kind="title")
        self.person = label(kind="hint")
        self.summary = label()
        self.table = QTableWidget()
        self.table.setObjectName("result_table")
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        self.table.setFocusPolicy(Qt.NoFocus)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.empty = label(kind="subtitle", align=Qt.AlignCenter)
        self.page_label = label(kind="hint", align=Qt.AlignCenter)
        for widget in (self.title, self.person, self.summary, self.table, self.empty):
            self.box.addWidget(widget)
        self.box.setStretchFactor(self.table, 1)
        self.prev_button = button(on_click=lambda: self._turn(-1), name="prev")
        self.next_button = button(on_click=lambda: self._turn(1), name="next")
        self.row(self.prev_button, self.page_label, self.next_button)
        self.done_button = button(on_click=self.flow.finish, name="done")
        self.print_button = button(on_click=self.flow.print_result, role="primary", name="print")
        self.row(self.done_button, self.print_button)

    def _turn(self, delta: int) -> None:
        self.page += delta
        self.flow.touch()
        self.render(self._t)

    def clear(self) -> None:
        self.page = 0
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        for widget in (self.title, self.person, self.summary):
            widget.clear()

    def render(self, t: Translator) -> None:
        self._t = t
        result, service, lang = self.flow.result, self.flow.service, self.flow.language
        if result is None or service is None:
            return self.clear()
        self.title.setText(service.name(lang))
        identity = self.flow.identity
        self.person.setText(t.t("result.for_person", name=identity.masked_name) if identity else "")
        self.summary.setText(result.summary(lang))
        headers, rows = self._rows(result, lang)
        per_page = sizes(self.flow.elderly).rows_per_page
        pages = max(1, -(-len(rows) // per_page))
        self.page = min(max(self.page, 0), pages - 1)
        shown = rows[self.page * per_page:(self.page + 1) * per_page]
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(shown))
        row_height = sizes(self.flow.elderly).target_px
        for r, values in enumerate(shown):
            self.table.setRowHeight(r, row_height)
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setTextAlignment(Qt.AlignCenter)
                self.table.setItem(r, c, item)
        self.table.setVisible(bool(rows))
        self.empty.setVisible(not rows)
        self.empty.setText(t.t("result.empty"))
        self.page_label.setText(t.t("result.page", page=self.page + 1, pages=pages))
        self.prev_button.setText(t.t("result.prev"))
        self.next_button.setText(t.t("result.next"))
        for widget in (self.prev_button, self.next_button, self.page_label):
            widget.setVisible(pages > 1)
        self.prev_button.setEnabled(self.page > 0)
        self.next_button.setEnabled(self.page < pages - 1)
        self.done_button.setText(t.t("result.done"))
        self.print_button.setText(t.t("result.print"))
        can_print = bool(service.print_receipt or service.print_a4)
        self.print_button.setVisible(can_print and bool(rows or result.kind != "table"))

    @staticmethod
    def _rows(result, lang: str) -> tuple[list[str], list[list[str]]]:
        """Any result kind as a table: columns for tables, two for key-value, three for timelines."""
        if result.kind == "table":
            return result.table(lang)
        if result.kind == "timeline":
            return ["", "", ""], [list(e) for e in result.timeline(lang)]
        return ["", ""], [list(kv) for kv in result.key_values(lang)]
