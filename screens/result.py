"""Result: a summary line first, then the records in a table whose columns are chosen by
priority to fit the width (the rest are a tap away, on the record), numbers right-aligned and
never wrapped, pages as tall as the space really is. Senior mode opens on the summary alone,
with the details a tap away. The same layout in every language."""

from __future__ import annotations

from kiosk.i18n import LANGUAGES, Translator
from screens.chrome import flick_scroll
from screens.qt import (
    QAbstractItemView,
    QEvent,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QScrollArea,
    QSizePolicy,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from screens.theme import sizes
from screens.widgets import Screen, button, label

NUMERIC_FORMATS = ("money", "number", "percent", "count")
CELL_PAD = 24 + 2 * 4 + 8  # Qt's own cell margins + the theme's item padding + a little air


def summary_lines(result, lang: str) -> list[str]:
    """The summary a resident reads first: the sentence, the period asked, the totals."""
    lines = [result.summary(lang)]
    if result.kind == "table" and result.total_rows:
        period = result.period(lang)
        totals = result.totals(lang)
        if period:
            lines.append(period)
        if totals:
            colon = ": " if lang == "en" else "："
            sep = "; " if lang == "en" else "，"
            lines.append(sep.join(f"{name}{colon}{value}" for name, value in totals))
    return [line for line in lines if line]


def fit_columns(widths: list[int], priorities: list[int], available: int) -> list[int]:
    """The columns shown: the most important first for as long as they fit (the first one
    always), then put back in the catalog's order."""
    chosen, used = [], 0
    for c in sorted(range(len(widths)), key=lambda c: (priorities[c], c)):
        if chosen and used + widths[c] > available:
            break
        chosen.append(c)
        used += widths[c]
    return sorted(chosen)


class ResultScreen(Screen):
    name = "result"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.box.setContentsMargins(24, 24, 24, 24)  # a wide table needs the width more than air
        self.page = 0
        self.record: int | None = None  # a record opened by a tap: all its columns
        self.details = False  # senior mode: the table is shown only when asked for
        self._t: Translator | None = None
        self._space: tuple[int, int] = (0, 0)
        self._rendered_landscape: bool | None = None
        # the result shown, its rows as a table per language, and the columns' natural
        # widths per language and fonts: formatted and measured once per visit, and for the
        # other languages while the resident reads (``prepare``), not when they switch
        self._formatted_for: object = None
        self._tables: dict[str, tuple] = {}
        self._widths: dict[tuple, list[int]] = {}
        self._preparing = False
        self.title = label(kind="title")
        self.person = label(kind="hint")
        self.summary = label(kind="summary")
        self.summary.setProperty("role", "summary")
        self.summary.setAccessibleName("summary")
        self.details_button = button(on_click=self._toggle_details, role="secondary",
                                     name="details")
        self.table = QTableWidget()
        self.table.setObjectName("result_table")
        self.table.setProperty("role", "table")
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        self.table.setFocusPolicy(Qt.NoFocus)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.ElideNone)
        self.table.verticalHeader().setVisible(False)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.cellClicked.connect(self._open_record)
        self._refit_due = False
        self.table.installEventFilter(self)
        self.more_hint = label(kind="hint", align=Qt.AlignCenter)
        self.more_hint.setObjectName("more_hint")
        self.more_hint.setProperty("role", "hint")  # keeps its look under the new name
        self.empty = label(kind="subtitle", align=Qt.AlignCenter)
        self.page_label = label(kind="hint", align=Qt.AlignCenter, wrap=False)
        # a side panel (title, who, summary) and the records; side by side in landscape
        self.side = QWidget()
        side = QVBoxLayout(self.side)
        side.setContentsMargins(0, 0, 0, 0)
        side.setSpacing(self.box.spacing())
        for widget in (self.title, self.person, self.summary, self.details_button):
            side.addWidget(widget)
        side.addStretch(1)
        # landscape on a short panel (1366×768 in senior mode: the chrome takes half the
        # height): the summary scrolls rather than being cut — the last resort
        self.side_scroll = flick_scroll(QScrollArea())  # a finger drags it; its bar shows more
        self.side_scroll.setObjectName("summary_scroll")
        self.side_scroll.setWidgetResizable(True)
        self.side_scroll.hide()
        self.records = QWidget()
        records = QVBoxLayout(self.records)
        records.setContentsMargins(0, 0, 0, 0)
        records.setSpacing(self.box.spacing())
        for widget in (self.table, self.more_hint, self.empty):
            records.addWidget(widget)
        records.setStretchFactor(self.table, 1)
        self.prev_button = button(on_click=lambda: self._turn(-1), name="prev")
        self.next_button = button(on_click=lambda: self._turn(1), name="next")
        self.back_to_list = button(on_click=self._close_record, name="record_back")
        self.paging = QWidget()  # below the records; in landscape beside the actions
        paging = QHBoxLayout(self.paging)
        paging.setContentsMargins(0, 0, 0, 0)
        paging.setSpacing(self.box.spacing())
        for widget in (self.prev_button, self.page_label, self.next_button, self.back_to_list):
            paging.addWidget(widget)
        for widget in (self.prev_button, self.next_button):  # never narrower than the word
            widget.setSizePolicy(QSizePolicy.Minimum, widget.sizePolicy().verticalPolicy())
        self.done_button = button(on_click=self.flow.finish, name="done")
        self.print_button = button(on_click=self.flow.print_result, role="primary", name="print")
        self.actions = QWidget()
        actions = QHBoxLayout(self.actions)
        actions.setContentsMargins(0, 0, 0, 0)
        actions.setSpacing(self.box.spacing())
        actions.addWidget(self.done_button)
        actions.addWidget(self.print_button)
        self.grid = QGridLayout()
        self.grid.setSpacing(self.box.spacing())
        self.box.addLayout(self.grid, 1)
        self.landscape: bool | None = None
        self._arrange(False)

    def _arrange(self, landscape: bool) -> None:
        """Portrait: summary above the records, pages and actions below. Landscape: the
        summary in a side panel left of the records (the rows need the height), and one
        bottom row — the actions under the summary, the pages under the records — as a
        short panel has no height for two rows of buttons."""
        if landscape == self.landscape:
            return
        self.landscape = landscape
        for widget in (self.side, self.side_scroll, self.records, self.actions, self.paging):
            self.grid.removeWidget(widget)
        self.records.layout().removeWidget(self.paging)
        if self.side_scroll.widget() is self.side:
            self.side_scroll.takeWidget()
        self.side_scroll.setVisible(landscape)
        # the page number may take two lines beside 上一页/下一页 in a half-width column
        self.page_label.setWordWrap(landscape)
        # a short landscape panel needs the height more than the air between the lines
        self.side.layout().setSpacing(self.box.spacing() // 2 if landscape else self.box.spacing())
        # senior's 查看明细: under the summary in portrait; in landscape where the records
        # will show, in the bottom row beside 完成 / 打印 (the side panel has no height for it)
        self.side.layout().removeWidget(self.details_button)
        self.paging.layout().removeWidget(self.details_button)
        if landscape:
            self.paging.layout().insertWidget(0, self.details_button)
        else:
            self.side.layout().insertWidget(3, self.details_button)
        if landscape:
            self.side_scroll.setWidget(self.side)
            self.side.show()
            self.grid.addWidget(self.side_scroll, 0, 0)
            self.grid.addWidget(self.records, 0, 1)
            self.grid.addWidget(self.actions, 1, 0)
            self.grid.addWidget(self.paging, 1, 1)
            self.grid.setColumnStretch(0, 1)  # senior mode's bigger words need the half
            self.grid.setColumnStretch(1, 1 if self.flow.elderly else 2)
            self.grid.setRowStretch(0, 1)
            self.grid.setRowStretch(1, 0)
            self.grid.setRowStretch(2, 0)
        else:
            self.records.layout().addWidget(self.paging)
            self.side.setParent(self)
            self.side.show()
            self.grid.addWidget(self.side, 0, 0)
            self.grid.addWidget(self.records, 1, 0)
            self.grid.addWidget(self.actions, 2, 0)
            self.grid.setColumnStretch(0, 1)
            self.grid.setColumnStretch(1, 0)
            self.grid.setRowStretch(0, 0)
            self.grid.setRowStretch(1, 1)
            self.grid.setRowStretch(2, 0)

    def resizeEvent(self, event) -> None:
        """Portrait or landscape follows the space really there; a change re-renders, as
        what is shown differs (senior mode's summary-first page is portrait's only)."""
        super().resizeEvent(event)
        was = self.landscape
        self._arrange(self.width() > self.height())
        if self.landscape != was and not self._refit_due:
            self._refit_due = True
            QTimer.singleShot(0, self._refit)

    # -- intents ------------------------------------------------------------------------
    def _turn(self, delta: int) -> None:
        self.page += delta
        self.flow.touch()
        self._rerender()

    def _toggle_details(self) -> None:
        self.details = not self.details
        self.record = None
        self.flow.touch()
        self._rerender()

    def _open_record(self, row: int, _column: int = 0) -> None:
        if self.record is not None or self.flow.result is None or self.flow.result.kind != "table":
            return
        self.record = self.page * self._per_page + row
        self.flow.touch()
        self._rerender()

    def _close_record(self) -> None:
        self.record = None
        self.flow.touch()
        self._rerender()

    def _rerender(self) -> None:
        if self._t is not None:
            self.render(self._t)

    def clear(self) -> None:
        self._forget_result()  # nothing of the resident's is kept
        self.page = 0
        self.record = None
        self.details = False
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        for widget in (self.title, self.person, self.summary):
            widget.clear()

    def eventFilter(self, watched, event) -> bool:
        """Pages and columns follow the space the table really has (portrait, landscape,
        a longer summary above it): re-filled, once the layout is done, when its size changes."""
        if (watched is self.table and event.type() == QEvent.Resize and not self._refit_due
                and (self.table.width(), self.table.height()) != self._space):
            self._refit_due = True
            QTimer.singleShot(0, self._refit)
        return False

    def _refit(self) -> None:
        self._refit_due = False
        if self.isVisible() and ((self.table.width(), self.table.height()) != self._space
                                 or self._rendered_landscape != self.landscape):
            self._rerender()

    # -- rendering ----------------------------------------------------------------------
    def render(self, t: Translator) -> None:
        self._t = t
        self._rendered_landscape = self.landscape
        result, service, lang = self.flow.result, self.flow.service, self.flow.language
        if result is None or service is None:
            return self.clear()
        elderly = self.flow.elderly
        self.title.setText(service.name(lang))
        identity = self.flow.identity
        self.person.setText(t.t("result.for_person", name=identity.masked_name) if identity else "")
        self.summary.setText("\n".join(summary_lines(result, lang)))
        headers, rows, numeric = self._table_in(result, lang)
        # senior mode: the summary first and alone, in every orientation; the records a tap away
        summary_first = elderly and result.kind == "table" and bool(rows)
        table_shown = bool(rows) and (not summary_first or self.details)
        self.details_button.setVisible(summary_first)
        self.details_button.setText(t.t("result.summary_view" if self.details else "result.details"))
        self.table.setVisible(table_shown)
        side = self.side.layout()
        side.setStretch(side.count() - 1, 1 if self.landscape else 0)  # the closing stretch
        self.grid.setRowStretch(0, 1 if (self.landscape or not table_shown) else 0)
        self.empty.setVisible(not rows)
        self.empty.setText(t.t("result.empty"))
        self._space = (self.table.width(), self.table.height())
        pages, hidden = 1, False
        if table_shown and self.record is not None and self.record < len(rows):
            self._fill_record(headers, rows[self.record], numeric)
        elif table_shown:
            self.record = None
            pages, hidden = self._fill_page(result.kind, headers, rows, numeric)
        self.more_hint.setText(t.t("result.tap_row"))
        self.more_hint.setVisible(hidden and self.record is None)
        paging = table_shown and pages > 1 and self.record is None
        self.page_label.setText(t.t("result.page", page=self.page + 1, pages=pages))
        self.prev_button.setText(t.t("result.prev"))
        self.next_button.setText(t.t("result.next"))
        for widget in (self.prev_button, self.next_button, self.page_label):
            widget.setVisible(paging)
        for widget in (self.prev_button, self.next_button):  # the word whole, in any language
            widget.ensurePolished()
            widget.setMinimumWidth(widget.fontMetrics().horizontalAdvance(widget.text()) + 48)
        self.prev_button.setEnabled(self.page > 0)
        self.next_button.setEnabled(self.page < pages - 1)
        self.back_to_list.setText(t.t("result.back_to_list"))
        self.back_to_list.setVisible(table_shown and self.record is not None)
        self.done_button.setText(t.t("result.done"))
        self.print_button.setText(t.t("result.print"))
        can_print = bool(service.print_receipt or service.print_a4)
        self.print_button.setVisible(can_print and bool(rows or result.kind != "table"))

    # -- the result's rows, formatted and measured ahead ------------------------------------
    def _forget_result(self) -> None:
        self._formatted_for = None
        self._tables.clear()
        self._widths.clear()

    def _table_in(self, result, lang: str) -> tuple:
        """The result's rows as a table in ``lang`` (44 rows formatted once per visit)."""
        if self._formatted_for is not result:
            self._forget_result()
            self._formatted_for = result
        table = self._tables.get(lang)
        if table is None:
            table = self._tables[lang] = self._rows(result, lang)
        return table

    def _widths_in(self, lang: str, headers: list[str], rows: list[list[str]]) -> list[int]:
        """Every column's natural width in ``lang`` and this mode's fonts, measured once."""
        key = (lang, self.table.font().key(), self.table.horizontalHeader().font().key())
        natural = self._widths.get(key)
        if natural is None:
            natural = self._widths[key] = self._natural(headers, rows)
        return natural

    def prepare(self) -> None:
        """After the frame is painted, while the resident reads: format and measure the
        result in the other languages too (a millisecond or two, once per visit), so a
        switch of language — or of mode, for the other mode's screen — only fills and paints
        the table."""
        if not self._preparing:
            self._preparing = True
            QTimer.singleShot(0, self, self._prepare_languages)

    def _prepare_languages(self) -> None:
        self._preparing = False
        result = self.flow.result
        if result is None:  # the visit is over: nothing is kept
            return
        for lang in LANGUAGES:
            headers, rows, _numeric = self._table_in(result, lang)
            self._widths_in(lang, headers, rows)

    @property
    def _per_page(self) -> int:
        return getattr(self, "_shown_per_page", sizes(self.flow.elderly).rows_per_page)

    def _rows_per_page(self, header: bool) -> int:
        """As many whole rows as the table's height holds (never a row cut in half)."""
        row = sizes(self.flow.elderly).target_px
        height = self.table.height() - 2 * self.table.frameWidth()
        if header:
            height -= self.table.horizontalHeader().sizeHint().height()
        if height < row:  # not laid out yet: the mode's default until the first resize
            return sizes(self.flow.elderly).rows_per_page
        return max(1, height // row)

    def _natural(self, headers: list[str], rows: list[list[str]]) -> list[int]:
        body, bold = self.table.fontMetrics(), self.table.horizontalHeader().fontMetrics()
        return [max([body.horizontalAdvance(r[c]) for r in rows if c < len(r)] + [0]
                    + [bold.horizontalAdvance(headers[c])]) + CELL_PAD
                for c in range(len(headers))]

    def _available_width(self) -> int:
        width = self.table.width() - 2 * self.table.frameWidth()
        if width < 200:  # not laid out yet
            margins = self.box.contentsMargins()
            width = self.width() - margins.left() - margins.right() - 8
        return max(width, 200)

    def _fill_page(self, kind: str, headers: list[str], rows: list[list[str]],
                   numeric: list[bool]) -> tuple[int, bool]:
        """One page of records; returns (pages, some columns hidden)."""
        with_header = any(headers)
        natural = self._widths_in(self.flow.language, headers, rows)
        available = self._available_width()
        if kind == "table":
            priorities = self._priorities(len(headers))
            shown = fit_columns(natural, priorities, available)
        else:
            shown = list(range(len(headers)))
        per_page = self._rows_per_page(with_header)
        self._shown_per_page = per_page
        pages = max(1, -(-len(rows) // per_page))
        self.page = min(max(self.page, 0), pages - 1)
        page_rows = rows[self.page * per_page:(self.page + 1) * per_page]
        widths = [natural[c] for c in shown]
        # text (never numbers) may wrap in the last column of a key-value or timeline
        last_wraps = kind != "table" and sum(widths) > available
        if last_wraps:
            widths[-1] = max(available - sum(widths[:-1]), CELL_PAD * 2)
        else:  # spare width to the text columns; numbers keep their own width
            spare = available - sum(widths)
            text_cols = [i for i, c in enumerate(shown) if not numeric[c]] or list(range(len(shown)))
            for i in text_cols:
                widths[i] += spare // len(text_cols)
        self.table.clear()
        self.table.setWordWrap(last_wraps)
        self.table.horizontalHeader().setVisible(with_header)
        self.table.setColumnCount(len(shown))
        self.table.setHorizontalHeaderLabels([headers[c] for c in shown])
        for i, c in enumerate(shown):
            item = self.table.horizontalHeaderItem(i)
            if item is not None:
                item.setTextAlignment(self._align(numeric[c]))
        self.table.setRowCount(len(page_rows))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Fixed)
        for i, width in enumerate(widths):
            self.table.setColumnWidth(i, width)
        row_height = sizes(self.flow.elderly).target_px
        for r, values in enumerate(page_rows):
            self.table.setRowHeight(r, row_height)
            for i, c in enumerate(shown):
                item = QTableWidgetItem(values[c] if c < len(values) else "")
                item.setTextAlignment(self._align(numeric[c]))
                self.table.setItem(r, i, item)
        if last_wraps:
            self.table.resizeRowsToContents()
        return pages, len(shown) < len(headers)

    def _fill_record(self, headers: list[str], values: list[str], numeric: list[bool]) -> None:
        """One record opened by a tap: every column as "title — value"."""
        self.table.clear()
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setVisible(False)
        self.table.setColumnCount(2)
        self.table.setRowCount(len(headers))
        available = self._available_width()
        natural = self._natural(["", ""], [[h, v] for h, v in zip(headers, values, strict=False)])
        first = min(natural[0], available // 2)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Fixed)
        self.table.setColumnWidth(0, first)
        self.table.setColumnWidth(1, available - first)
        row_height = sizes(self.flow.elderly).target_px
        for r, (title, value) in enumerate(zip(headers, values, strict=False)):
            self.table.setRowHeight(r, row_height)
            name = QTableWidgetItem(title)
            name.setTextAlignment(Qt.AlignLeft | Qt.AlignVCenter)
            self.table.setItem(r, 0, name)
            cell = QTableWidgetItem(value)
            cell.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            self.table.setItem(r, 1, cell)

    @staticmethod
    def _align(numeric: bool) -> Qt.AlignmentFlag:
        return (Qt.AlignRight if numeric else Qt.AlignLeft) | Qt.AlignVCenter

    def _priorities(self, count: int) -> list[int]:
        columns = self.flow.result.columns if self.flow.result is not None else []
        out = []
        for i in range(count):
            p = getattr(columns[i], "priority", None) if i < len(columns) else None
            out.append(p if p is not None else 100 + i)
        return out

    @staticmethod
    def _rows(result, lang: str) -> tuple[list[str], list[list[str]], list[bool]]:
        """Any result kind as a table (columns for tables, two for key-value, three for
        timelines) and which columns hold numbers (right-aligned, never wrapped)."""
        if result.kind == "table":
            headers, rows = result.table(lang)
            numeric = [c.format in NUMERIC_FORMATS for c in result.columns]
            return headers, rows, numeric
        if result.kind == "timeline":
            return ["", "", ""], [list(e) for e in result.timeline(lang)], [False] * 3
        pairs = result.key_values(lang)
        numeric_values = all(_looks_numeric(v) for _, v in pairs) and bool(pairs)
        return ["", ""], [list(kv) for kv in pairs], [False, numeric_values]


def _looks_numeric(text: str) -> bool:
    core = text.replace("¥", "").replace(",", "").replace(".", "").replace("%", "").strip()
    return core.isdigit()
