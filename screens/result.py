"""Result: the answer in large, paged rows, with print and done."""

from __future__ import annotations

from kiosk.i18n import Translator
from screens.qt import QAbstractItemView, QColor, QHeaderView, Qt, QTableWidget, QTableWidgetItem
from screens.theme import COLOURS, sizes
from screens.widgets import Screen, button, label


class ResultScreen(Screen):
    name = "result"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.box.setContentsMargins(24, 40, 24, 40)  # a wide table needs the width more than air
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
        widths = self._column_widths(headers, rows)
        cards = widths is None and len(headers) > 2
        per_page = sizes(self.flow.elderly).rows_per_page
        if cards:  # too wide for the screen: one record per block of "label  value" lines
            per_page = 2 if self.flow.elderly else 3
        pages = max(1, -(-len(rows) // per_page))
        self.page = min(max(self.page, 0), pages - 1)
        shown = rows[self.page * per_page:(self.page + 1) * per_page]
        self.table.setAlternatingRowColors(not cards)
        if cards:
            self._fill_cards(headers, shown)
        else:
            self._fill_table(headers, shown, widths)
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

    def _fill_table(self, headers: list[str], rows: list[list[str]],
                    widths: list[int] | None) -> None:
        self.table.clear()
        self.table.clearSpans()
        self.table.horizontalHeader().setVisible(any(headers))
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(rows))
        row_height = sizes(self.flow.elderly).target_px
        for r, values in enumerate(rows):
            self.table.setRowHeight(r, row_height)
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setTextAlignment(Qt.AlignCenter)
                self.table.setItem(r, c, item)
        header = self.table.horizontalHeader()
        if widths is None:
            header.setSectionResizeMode(QHeaderView.Stretch)
            return
        header.setSectionResizeMode(QHeaderView.Fixed)
        for c, width in enumerate(widths):
            self.table.setColumnWidth(c, width)

    def _fill_cards(self, headers: list[str], rows: list[list[str]]) -> None:
        """Each record as lines of "column title — value", records told apart by shading."""
        self.table.clear()
        self.table.clearSpans()
        self.table.horizontalHeader().setVisible(False)
        self.table.setColumnCount(2)
        self.table.setRowCount(len(rows) * len(headers))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        line_height = int(sizes(self.flow.elderly).text_px * 1.6)
        shade = QColor(COLOURS["surface"])
        for r, values in enumerate(rows):
            for c, (title, value) in enumerate(zip(headers, values, strict=False)):
                line = r * len(headers) + c
                self.table.setRowHeight(line, line_height)
                for col, text in enumerate((title, value)):
                    item = QTableWidgetItem(text)
                    item.setTextAlignment((Qt.AlignLeft if col == 0 else Qt.AlignRight)
                                          | Qt.AlignVCenter)
                    if r % 2:
                        item.setBackground(shade)
                    self.table.setItem(line, col, item)

    def _column_widths(self, headers: list[str], rows: list[list[str]]) -> list[int] | None:
        """Each column as wide as its longest text; when that is too wide, Chinese text may
        wrap onto two lines (it breaks between any two characters) but numbers never do.
        None when even that does not fit."""
        count = len(headers)
        available = self.window().width() - 2 * self.box.contentsMargins().left() - 4
        if count == 0 or available <= 0:
            return None
        body, bold = self.table.fontMetrics(), self.table.horizontalHeader().fontMetrics()
        pad = 24 + 2 * 4  # Qt's own cell margins + the theme's item padding
        natural, minimum = [], []
        for c in range(count):
            texts = [row[c] for row in rows if c < len(row)]
            title = bold.horizontalAdvance(headers[c]) + pad
            need = max([body.horizontalAdvance(t) + pad for t in texts] + [title])
            natural.append(need)
            wraps = any("\u4e00" <= ch <= "\u9fff" for t in texts for ch in t)
            minimum.append(max(need // 2 + pad, title) if wraps else need)
        if sum(natural) <= available:
            return [n + (available - sum(natural)) * n // sum(natural) for n in natural]
        if sum(minimum) <= available:
            spare = available - sum(minimum)
            give = [n - m for n, m in zip(natural, minimum, strict=True)]
            return [m + spare * g // sum(give) for m, g in zip(minimum, give, strict=True)]
        return None

    @staticmethod
    def _rows(result, lang: str) -> tuple[list[str], list[list[str]]]:
        """Any result kind as a table: columns for tables, two for key-value, three for timelines."""
        if result.kind == "table":
            return result.table(lang)
        if result.kind == "timeline":
            return ["", "", ""], [list(e) for e in result.timeline(lang)]
        return ["", ""], [list(kv) for kv in result.key_values(lang)]
