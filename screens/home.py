"""Home: the hot services and every department as icon tiles on one page (as many columns as
the width holds: 3–4 in portrait, more in landscape), and search. A department tile lists its
services here."""

from __future__ import annotations

import dataclasses

from kiosk.i18n import Translator
from screens.icons import set_icon
from screens.qt import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QSizePolicy,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from screens.theme import sizes
from screens.widgets import Screen, button, label

MIN_TILE_PX = {False: 190, True: 290}  # narrowest icon tile that keeps its words whole
MAX_COLUMNS = 7
GAP = 16
KEPT_TILE_SETS = 8  # home and a few departments, in 简体/繁體 and in English, per mode


def icon_tile(text: str, icon: str, on_click, *, name: str, elderly: bool,
              upright: bool = True):
    """A department or service tile: its icon above (or before) its name, the name wrapping
    onto a second line when it must; the whole tile is the touch target."""
    tokens = sizes(elderly)
    btn = button("", on_click, role="tile", name=name)
    btn.setAccessibleName(text)
    btn.setProperty("icon_name", icon)  # ("icon" is QPushButton's own QIcon property)
    inner = QVBoxLayout(btn) if upright else QHBoxLayout(btn)
    inner.setSizeConstraint(QLayout.SetNoConstraint)  # the theme's min-height still rules
    inner.setContentsMargins(12, 12, 12, 12)
    inner.setSpacing(8)
    picture = QLabel()
    picture.setObjectName("tile_icon")
    picture.setProperty("role", "icon")
    picture.setAttribute(Qt.WA_TransparentForMouseEvents)
    picture.setAlignment(Qt.AlignCenter)
    set_icon(picture, icon, tokens.tile_icon_px if upright else tokens.icon_px)
    words = label(text, kind="tile_text",
                  align=Qt.AlignCenter if upright else Qt.AlignLeft | Qt.AlignVCenter)
    words.setAttribute(Qt.WA_TransparentForMouseEvents)
    inner.addWidget(picture, 0, Qt.AlignCenter)
    inner.addWidget(words, 1)
    btn.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
    return btn, words


class HomeScreen(Screen):
    name = "home"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.department: str | None = None
        self.page = 0
        self._t: Translator | None = None
        self._tiles_for: tuple | None = None
        self._tiles_lang: str | None = None
        self._tile_texts: list = []  # (label, text for a language) of every tile shown
        self._built: dict[tuple, _TileSet] = {}  # tile sets kept, the oldest first
        self._plans: dict[tuple, tuple] = {}  # the plan for a space, a language, a department
        self.title = label(kind="title")
        self.search_button = button(on_click=self.flow.open_search, role="primary", name="search")
        self.search_button.setSizePolicy(QSizePolicy.Maximum, QSizePolicy.Fixed)
        set_icon(self.search_button, "search", sizes(False).icon_px, "on_primary")
        self.title_row = self.row(self.title, self.search_button)
        # the hot services and the departments: stacked in portrait, side by side in landscape
        self.hot_panel, hot = QWidget(), QVBoxLayout()
        self.hot_panel.setLayout(hot)
        hot.setContentsMargins(0, 0, 0, 0)
        self.hot_title = label(kind="subtitle")
        hot.addWidget(self.hot_title)
        hot.addStretch(1)
        self.dept_panel, dept = QWidget(), QVBoxLayout()
        self.dept_panel.setLayout(dept)
        dept.setContentsMargins(0, 0, 0, 0)
        self.section_title = label(kind="subtitle")
        dept.addWidget(self.section_title)
        dept.addStretch(1)
        self.split = QGridLayout()
        self.split.setSpacing(2 * GAP)
        self.box.addLayout(self.split, 1)
        self.landscape: bool | None = None
        self._refit_due = False
        self._probe = label(kind="tile_text", align=Qt.AlignCenter)  # measures tile names
        self._probe.setParent(self)
        self._probe.hide()
        self._arrange(False)
        self.prev_button = button(on_click=lambda: self._turn(-1), name="prev")
        self.next_button = button(on_click=lambda: self._turn(1), name="next")
        self.back_button = button(on_click=self._all_departments, name="departments_back")
        self.row(self.back_button, self.prev_button, self.next_button)

    def _arrange(self, landscape: bool) -> None:
        if landscape == self.landscape:
            return
        self.landscape = landscape
        # landscape: the height is short; the header names the hall, search heads the hot list
        self.title.setVisible(not landscape)
        self.title_row.removeWidget(self.search_button)
        self.hot_panel.layout().removeWidget(self.search_button)
        if landscape:
            self.hot_panel.layout().insertWidget(0, self.search_button)
            self.search_button.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        else:
            self.title_row.addWidget(self.search_button)
            self.search_button.setSizePolicy(QSizePolicy.Maximum, QSizePolicy.Fixed)
        self.split.removeWidget(self.hot_panel)
        self.split.removeWidget(self.dept_panel)
        if landscape:
            self.split.addWidget(self.hot_panel, 0, 0)
            self.split.addWidget(self.dept_panel, 0, 1)
            self.split.setColumnStretch(0, 1)
            self.split.setColumnStretch(1, 3)
        else:
            self.split.addWidget(self.hot_panel, 0, 0)
            self.split.addWidget(self.dept_panel, 1, 0)
            self.split.setColumnStretch(0, 1)
            self.split.setColumnStretch(1, 0)
        self.split.setRowStretch(1, 1 if not landscape else 0)
        self.split.setRowStretch(0, 1 if landscape else 0)

    def _turn(self, delta: int) -> None:
        self.page += delta
        self.flow.touch()
        self._refresh()

    def _all_departments(self) -> None:
        self.department = None
        self.page = 0
        self.flow.touch()
        self._refresh()

    def open_department(self, dep_id: str) -> None:
        self.department = dep_id
        self.page = 0
        self.flow.touch()
        self._refresh()

    def clear(self) -> None:
        self.department = None
        self.page = 0

    def render(self, t: Translator) -> None:
        self._t = t
        self._refresh()

    def resizeEvent(self, event) -> None:
        """Columns and page size follow the width and height really available."""
        super().resizeEvent(event)
        self._arrange(self.width() * 10 > self.height() * 14)  # 1280×1024 stays stacked
        if self.isVisible() and self._t is not None:
            # shown, and the chrome has just taken its share (home came from the attract
            # screen, which has none): the tiles fit the new space before the first paint,
            # never a frame with the last row cut
            self._refit()
        else:
            self._refit_soon()

    def _refit_soon(self) -> None:
        if not self._refit_due:
            self._refit_due = True
            QTimer.singleShot(0, self._refit)

    # -- the space ----------------------------------------------------------------------
    def _screen_size(self) -> tuple[int, int]:
        """This screen's size: its stack's (a page not shown yet keeps whatever size it had
        last), or the window's before there is a stack."""
        holder = self.parentWidget()
        if holder is not None and holder.width() > 300 and holder.height() > 300:
            return holder.width(), holder.height()
        window = self.window()
        return window.width(), window.height() * 3 // 4

    def _dept_width(self) -> int:
        margins = self.box.contentsMargins()
        width = self._screen_size()[0] - margins.left() - margins.right()
        return (width - 2 * GAP) * 3 // 4 if self.landscape else width

    def _max_columns(self) -> int:
        """As many columns as the width holds, each wide enough for the longest word of a
        department's name (a word is never broken: "Registration" stays whole)."""
        lang = self.flow.language
        self._probe.ensurePolished()
        metrics = self._probe.fontMetrics()
        # Chinese breaks between any two characters; English only between words
        words = [w for d in self.flow.catalog.departments for w in d.name(lang).split()
                 ] if lang == "en" else []
        longest = max((metrics.horizontalAdvance(w) for w in words), default=0)
        tile = max(MIN_TILE_PX[self.flow.elderly], longest + 2 * 12 + 8 + 16)
        return max(2, min(MAX_COLUMNS, (self._dept_width() + GAP) // (tile + GAP)))

    def _hot_height(self) -> int:
        """The height the longest hot-service name needs beside its icon, in the width a hot
        tile really has (one column beside the departments in landscape, two above them in
        portrait): an English name wraps onto three lines in a narrow senior column."""
        tokens = sizes(self.flow.elderly)
        margins = self.box.contentsMargins()
        width = self._screen_size()[0] - margins.left() - margins.right()
        tile = (width - 2 * GAP) // 4 if self.landscape else (width - GAP) // 2
        text_width = max(40, tile - 2 * 12 - 8 - tokens.icon_px - 16)
        self._probe.ensurePolished()
        lines = 2 * int(tokens.text_px * 1.35)
        for service in self.flow.catalog.hot():
            self._probe.setText(service.name(self.flow.language))
            lines = max(lines, self._probe.heightForWidth(text_width))
        return max(tokens.target_px, lines + 24)

    def _tile_height(self, texts: list[str], columns: int, upright: bool = True) -> int:
        """The height the tallest name needs in a tile of this width, icon included (above
        the name, or before it)."""
        tokens = sizes(self.flow.elderly)
        width = (self._dept_width() - GAP * (columns - 1)) // columns - 2 * 12 - 8
        if not upright:
            width -= tokens.icon_px + 16
        self._probe.ensurePolished()
        lines = tokens.text_px
        for text in texts:
            self._probe.setText(text)
            lines = max(lines, self._probe.heightForWidth(max(width, 40)))
        if not upright:
            return max(tokens.target_px, max(tokens.icon_px, lines) + 2 * 12 + 8)
        return tokens.tile_icon_px + 8 + lines + 2 * 12 + 8

    def _split_space(self) -> int:
        """The height from the top of the hot/department panels to the bottom margin, from
        the screen's size and the title row's size hint (not from a layout that may be stale:
        a hidden screen keeps the geometry of the last one it had)."""
        margins = self.box.contentsMargins()
        top = margins.top()
        if not self.landscape:
            title_row = max(self.title.sizeHint().height(), self.search_button.sizeHint().height(),
                            sizes(self.flow.elderly).target_px)
            top += title_row + self.box.spacing()
        return self._screen_size()[1] - margins.bottom() - top

    def _plan(self, texts: list[str]) -> tuple[int, int, int, int, bool]:
        """(columns, tile height, tiles a page, hot services, icon above the name) for the space there is: every
        tile on one page if any column count allows it (with at least one row of hot
        services beside or above), else the widest grid, paged."""
        tokens = sizes(self.flow.elderly)
        subtitle = self.section_title.sizeHint().height() + GAP
        hot_tile = self._hot_height() + GAP
        total = self._split_space()
        paging = tokens.target_px + self.box.spacing()
        self.search_button.ensurePolished()  # the theme's padding makes it taller than a target
        search = max(tokens.target_px, self.search_button.sizeHint().height())
        widest = self._max_columns()
        n = max(1, len(texts))
        hot_max = 2 if self.flow.elderly else 4
        for columns in range(widest, max(2, widest - 2) - 1, -1):
            tile = self._tile_height(texts, columns)
            rows = -(-n // columns)
            need = subtitle + rows * (tile + GAP)
            if self.landscape:
                room = total - search - GAP - subtitle  # search above the hot list
                hot = min(len(self.flow.catalog.hot()), max(0, room // hot_tile))
                if need <= total:
                    return columns, tile, n, hot, True
            else:
                hot_rows = min(hot_max // 2, max(0, (total - need - 2 * GAP - subtitle) // hot_tile))
                if need <= total and hot_rows >= 1:
                    return columns, tile, n, 2 * hot_rows, True
        columns = widest
        tile = self._tile_height(texts, columns)
        if self.landscape:  # the paging row below takes its height from both panels
            room = total - search - GAP - subtitle - paging
            hot = min(len(self.flow.catalog.hot()), max(0, room // hot_tile))
            space = total - subtitle - paging
        else:
            hot = 2
            space = total - 2 * GAP - 2 * subtitle - hot_tile - paging
        if tile > space:  # a short panel: icons before the names, in fewer, wider columns
            for columns in range(widest, 1, -1):
                tile = self._tile_height(texts, columns, upright=False)
                if tile <= space:
                    break
            rows = max(1, (space + GAP) // (tile + GAP))
            return columns, tile, columns * rows, hot, False
        rows = max(1, (space + GAP) // (tile + GAP))
        return columns, tile, columns * rows, hot, True

    def _items(self) -> list[tuple]:
        """(name, text in a language, icon, action) of every tile of the grid."""
        catalog = self.flow.catalog
        if self.department is None:
            return [(f"dept_{d.id}", d.name, d.icon, lambda d=d.id: self.open_department(d))
                    for d in catalog.departments]
        icon = next((d.icon for d in catalog.departments if d.id == self.department), "service")
        return [(f"service_{s.id}", s.name, icon, lambda s=s.id: self.flow.choose_service(s))
                for s in catalog.in_department(self.department)]

    def _layout_key(self) -> tuple:
        """The plan for the space there is — (columns, tile height, tiles a page, hot count,
        tile shape)
        — and whether names break between words (English) or between any characters
        (简体 and 繁體 retitle in place). A few pixels more or less that change no plan
        rebuild nothing."""
        lang = self.flow.language
        memo = (lang, self.department, self.flow.elderly, self.landscape, self._screen_size())
        if memo not in self._plans:  # measuring every name costs a few ms: once per space
            plan = self._plan([text_in(lang) for _n, text_in, _i, _a in self._items()])
            self._plans[memo] = (*plan, self.landscape, lang == "en")
        return self._plans[memo]

    def _refit(self) -> None:
        """After Qt laid the tiles out: rebuild once if the space measured differs."""
        self._refit_due = False
        if self._t is not None and self.isVisible() and \
                self._layout_key() != (self._tiles_for or (None,))[-1]:
            self._refresh()

    # -- tiles --------------------------------------------------------------------------
    def _section_texts(self, t: Translator, lang: str) -> None:
        if self.department is None:
            self.section_title.setText(t.t("home.departments"))
        else:
            dep = next(d for d in self.flow.catalog.departments if d.id == self.department)
            self.section_title.setText(dep.name(lang))
        self.prev_button.setText(t.t("result.prev"))
        self.next_button.setText(t.t("result.next"))
        self.back_button.setText(t.t("common.back"))

    def _tile(self, text_in, icon: str, action, name: str, lang: str, upright: bool = True):
        btn, words = icon_tile(text_in(lang), icon, action, name=name,
                               elderly=self.flow.elderly, upright=upright)
        self._tile_texts.append((words, text_in, btn))
        return btn

    def _refresh(self) -> None:
        t, lang = self._t, self.flow.language
        assert t is not None
        self.title.setText(t.t("home.title"))
        self.search_button.setText(t.t("home.search"))
        self.hot_title.setText(t.t("home.hot"))
        width, height = self._screen_size()
        self._arrange(width * 10 > height * 14)  # this size, not the last one laid out
        # Tiles are rebuilt only when what they show changes — not on every touch or
        # countdown tick (building ~20 tiles costs a frame and more).
        key = self._key()
        if (not self.isVisible() and self._tiles_for is not None
                and self._tiles_for[:-1] == key[:-1] and self._tiles_for[-1][-1] == key[-1][-1]):
            # about to be shown, with the same tiles: the stack's size is not yet the one it
            # will have (the chrome appears with this screen); the refit after the layout
            # rebuilds only if the space really changed
            key = self._tiles_for
            self._refit_soon()
        if key == self._tiles_for:
            self._retitle(t, lang)
            return
        self._section_texts(t, lang)
        old = self._built.get(self._tiles_for) if self._tiles_for is not None else None
        tiles = self._built.pop(key, None)
        if tiles is None:
            tiles = self._build(key, lang)
        self._built[key] = tiles  # the newest last: the oldest set goes first
        while len(self._built) > KEPT_TILE_SETS:
            self._drop(self._built.pop(next(iter(self._built))))
        if old is not None and old is not tiles:
            old.hot.hide()
            old.depts.hide()
        tiles.hot.show()
        tiles.depts.show()
        self._tiles_for, self._tile_texts = key, tiles.texts
        self._tiles_lang = tiles.lang
        self._retitle(t, lang)
        self.hot_title.setVisible(tiles.hot_count > 0)
        self.prev_button.setVisible(self.page > 0)
        self.next_button.setVisible(self.page < tiles.pages - 1)
        self.back_button.setVisible(self.department is not None)
        self._refit_soon()

    def _key(self) -> tuple:
        """What the tiles show: the mode, the department, the page (kept within the pages
        there are) and the plan for the space."""
        plan = self._layout_key()
        per_page = plan[2]
        pages = max(1, -(-len(self._items()) // per_page))
        self.page = min(max(self.page, 0), pages - 1)
        return (self.flow.elderly, self.department, self.page, id(self.flow.catalog), plan)

    def _retitle(self, t: Translator, lang: str) -> None:
        """Same tiles, another language (简体 ↔ 繁體): their names change in place."""
        if lang != self._tiles_lang:
            for words, text_in, btn in self._tile_texts:
                words.setText(text_in(lang))
                btn.setAccessibleName(text_in(lang))
            self._tiles_lang = lang
            self._built[self._tiles_for].lang = lang
        self._section_texts(t, lang)

    def _build(self, key: tuple, lang: str) -> _TileSet:
        """The hot and department tiles of one plan, built once and kept: going back to a
        page, a language or a mode seen before shows these again instead of building
        ~20 tiles (a frame and more)."""
        catalog = self.flow.catalog
        columns, tile_height, per_page, hot_count, upright = key[-1][:5]
        self._tile_texts = []
        hot_box, hot_grid = _grid_box()
        hot_list = self.hot_panel.layout()  # under its heading (search may stand above it)
        hot_list.insertWidget(hot_list.indexOf(self.hot_title) + 1, hot_box)
        depts, grid = _grid_box()
        self.dept_panel.layout().insertWidget(1, depts)
        icons = {d.id: d.icon for d in catalog.departments}
        hot_columns = 1 if self.landscape else 2  # a wider tile, its icon before its name
        hot = catalog.hot()[:hot_count]
        hot_height = self._hot_height()
        for i, service in enumerate(hot):
            btn = self._tile(service.name, icons.get(service.department, "service"),
                             lambda s=service.id: self.flow.choose_service(s),
                             f"service_{service.id}", lang, upright=False)
            hot_grid.addWidget(btn, i // hot_columns, i % hot_columns)
            btn.ensurePolished()  # in its styled parent: the theme's min-height, then ours
            btn.setMinimumHeight(hot_height)
        for c in range(MAX_COLUMNS):
            hot_grid.setColumnStretch(c, 1 if c < hot_columns else 0)
            grid.setColumnStretch(c, 1 if c < columns else 0)
        items = self._items()
        shown = items[self.page * per_page:(self.page + 1) * per_page]
        for i, (name, text_in, icon, action) in enumerate(shown):
            btn = self._tile(text_in, icon, action, name, lang, upright=upright)
            grid.addWidget(btn, i // columns, i % columns)
            btn.ensurePolished()
            btn.setMinimumHeight(tile_height)
        return _TileSet(hot_box, depts, self._tile_texts, lang, len(hot),
                        max(1, -(-len(items) // per_page)))

    def _drop(self, tiles: _TileSet) -> None:
        for box in (tiles.hot, tiles.depts):
            box.hide()
            box.parentWidget().layout().removeWidget(box)
            box.setParent(None)
            box.deleteLater()


@dataclasses.dataclass
class _TileSet:
    """One plan's tiles: the hot services' box, the departments' (or a department's
    services') box, every tile's (label, text for a language, button), the language they
    show, how many hot services, and the pages there are."""

    hot: QWidget
    depts: QWidget
    texts: list
    lang: str
    hot_count: int
    pages: int


def _grid_box() -> tuple[QWidget, QGridLayout]:
    box = QWidget()
    grid = QGridLayout(box)
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setSpacing(GAP)
    return box, grid
