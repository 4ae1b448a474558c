"""Home: hot services and department tiles; a department tile lists its services here."""

from __future__ import annotations

from kiosk.i18n import Translator
from screens.qt import QGridLayout, QLabel
from screens.theme import sizes
from screens.widgets import Screen, button, clear_layout, label, tile


class HomeScreen(Screen):
    name = "home"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.department: str | None = None
        self.page = 0
        self._tiles_for: tuple | None = None
        self._tiles_lang: str | None = None
        self._tile_texts: list = []  # (label, text for a language) of every tile shown
        self.title = label(kind="title")
        self.search_button = button(on_click=self.flow.open_search, role="primary", name="search")
        self.help_button = button(on_click=self.flow.open_help, name="help")
        self.row(self.title, self.search_button, self.help_button)
        self.hot_title = label(kind="subtitle")
        self.box.addWidget(self.hot_title)
        self.hot_grid = QGridLayout()
        self.hot_grid.setSpacing(20)
        self.box.addLayout(self.hot_grid)
        self.section_title = label(kind="subtitle")
        self.box.addWidget(self.section_title)
        self.grid = QGridLayout()
        self.grid.setSpacing(20)
        self.box.addLayout(self.grid)
        self.box.addStretch(1)
        self.prev_button = button(on_click=lambda: self._turn(-1), name="prev")
        self.next_button = button(on_click=lambda: self._turn(1), name="next")
        self.back_button = button(on_click=self._all_departments, name="departments_back")
        self.row(self.back_button, self.prev_button, self.next_button)

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

    def _tile(self, text_in, action, name: str, lang: str):
        btn = tile(text_in(lang), action, name=name)
        self._tile_texts.append((btn.findChild(QLabel, "tile_text"), text_in))
        return btn

    def _section_texts(self, t: Translator, lang: str) -> None:
        if self.department is None:
            self.section_title.setText(t.t("home.departments"))
        else:
            dep = next(d for d in self.flow.catalog.departments if d.id == self.department)
            self.section_title.setText(dep.name(lang))
        self.prev_button.setText(t.t("result.prev"))
        self.next_button.setText(t.t("result.next"))
        self.back_button.setText(t.t("common.back"))

    def _refresh(self) -> None:
        t, lang, catalog = self._t, self.flow.language, self.flow.catalog
        per_page = sizes(self.flow.elderly).tiles_per_page
        self.title.setText(t.t("home.title"))
        self.search_button.setText(t.t("home.search"))
        self.help_button.setText(t.t("home.help"))
        self.hot_title.setText(t.t("home.hot"))
        # Tiles are rebuilt only when what they show changes — not on every touch or
        # countdown tick (building ~16 wrapped tiles costs a frame and more).
        key = (self.flow.elderly, self.department, self.page, id(catalog))
        if key == self._tiles_for:
            if lang != self._tiles_lang:  # same tiles, new language: retitle them in place
                for text_label, text_in in self._tile_texts:
                    text_label.setText(text_in(lang))
                self._tiles_lang = lang
                self._section_texts(t, lang)
            return
        self._tiles_for, self._tiles_lang, self._tile_texts = key, lang, []
        clear_layout(self.hot_grid)
        hot = catalog.hot()[: 2 if self.flow.elderly else 6]
        columns = 1 if self.flow.elderly else 2
        for i, service in enumerate(hot):
            btn = self._tile(service.name, lambda s=service.id: self.flow.choose_service(s),
                             f"service_{service.id}", lang)
            self.hot_grid.addWidget(btn, i // columns, i % columns)
        if self.department is None:
            items = [(f"dept_{d.id}", d.name, lambda d=d.id: self.open_department(d))
                     for d in catalog.departments]
        else:
            items = [(f"service_{s.id}", s.name, lambda s=s.id: self.flow.choose_service(s))
                     for s in catalog.in_department(self.department)]
        self._section_texts(t, lang)
        pages = max(1, -(-len(items) // per_page))
        if not 0 <= self.page < pages:
            self.page = min(max(self.page, 0), pages - 1)
            self._tiles_for = None
        clear_layout(self.grid)
        shown = items[self.page * per_page:(self.page + 1) * per_page]
        for i, (name, text_in, action) in enumerate(shown):
            self.grid.addWidget(self._tile(text_in, action, name, lang), i // columns, i % columns)
        self.prev_button.setVisible(self.page > 0)
        self.next_button.setVisible(self.page < pages - 1)
        self.back_button.setVisible(self.department is not None)
