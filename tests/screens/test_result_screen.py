"""The result screen as a resident reads it: a summary first, numbers right-aligned and never
broken, columns chosen by priority to fit the width with the rest a tap away, whole rows only,
in portrait and landscape."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QTableWidget

from kiosk.app.kiosk_app import KioskApp
from kiosk.demo.rig import DemoRig
from kiosk.demo.visit import stage_screen
from kiosk.i18n import LANGUAGES
from kiosk.visit.steps import Step
from screens.result import ResultScreen

SIZES = [(1080, 1920), (1920, 1080), (1280, 1024)]


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    rig = DemoRig(tmp_path_factory.mktemp("rig")).start(devices=False)
    yield rig
    rig.stop()


@pytest.fixture
def result_app(rig, qtbot):
    apps = []

    def make(lang="zh_CN", elderly=False, size=(1080, 1920)):
        app = KioskApp(rig.config(ui={"language": lang, "elderly_mode": elderly},
                                  screen={"width": size[0], "height": size[1]}))
        app.start(show=True)
        apps.append(app)
        stage_screen(app, "result")
        screen = app.window.current_screen()
        assert screen.name == "result"
        table = table_of(screen)
        app.qt.processEvents()  # as a screenshot does: the pending layout requests run
        # the layout settles: the screen is arranged for its orientation and has filled the
        # table for the space the table really got
        qtbot.waitUntil(lambda: app.window.size().toTuple() == size
                        and screen.landscape == (size[0] > size[1])
                        and screen._space == (table.width(), table.height()))
        return app, screen

    yield make
    for app in apps:
        app.stop()


def table_of(screen) -> QTableWidget:
    return screen.findChild(QTableWidget, "result_table")


def visible_cells(table):
    for r in range(table.rowCount()):
        for c in range(table.columnCount()):
            item = table.item(r, c)
            if item is not None and item.text():
                yield r, c, item


@pytest.mark.parametrize("size", [(1080, 1920), (1920, 1080)])  # old landscape: page 1 / 22
def test_senior_mode_opens_on_the_summary_with_details_a_tap_away(result_app, qtbot, size):
    app, screen = result_app(elderly=True, size=size)
    result = app.flow.result
    assert result.total_rows == 44
    summary = screen.findChild(QLabel, "summary")
    assert summary.isVisible() and "44" in summary.text()
    assert "合计" in summary.text() and "至" in summary.text()  # the totals and the period
    assert not table_of(screen).isVisible()  # old code: 22 pages of rows, no summary
    details = screen.findChild(QPushButton, "details")
    qtbot.mouseClick(details, Qt.LeftButton)
    assert table_of(screen).isVisible() and table_of(screen).rowCount() > 0


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("size", SIZES)
def test_numbers_are_right_aligned_and_never_broken_nor_cut(result_app, lang, size):
    _app, screen = result_app(lang=lang, size=size)
    table = table_of(screen)
    assert table.isVisible() and not table.wordWrap()
    metrics = table.fontMetrics()
    seen_money = False
    for _r, c, item in visible_cells(table):
        text = item.text()
        assert metrics.horizontalAdvance(text) + 24 <= table.columnWidth(c), (text, size)
        if text.startswith("¥"):
            seen_money = True
            assert item.textAlignment() & Qt.AlignRight, text
    assert seen_money
    # whole rows only: the last row ends inside the table
    inside = table.height() - 2 * table.frameWidth()
    rows_height = sum(table.rowHeight(r) for r in range(table.rowCount()))
    assert rows_height + table.horizontalHeader().sizeHint().height() <= inside, size
    # and the columns fit the table's width
    width = sum(table.columnWidth(c) for c in range(table.columnCount()))
    assert width <= table.width() - 2 * table.frameWidth(), size


def test_columns_left_off_for_width_are_a_tap_away(result_app, qtbot):
    app, screen = result_app(elderly=True, size=(1080, 1920))
    qtbot.mouseClick(screen.findChild(QPushButton, "details"), Qt.LeftButton)
    table = table_of(screen)
    headers = app.flow.result.table("zh_CN")[0]
    shown = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert len(shown) < len(headers) and "年月" in shown  # the most important stay
    assert screen.findChild(QLabel, "more_hint").isVisible()
    table.cellClicked.emit(0, 0)  # a tap on the first record
    texts = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert texts == headers  # every column of that record, by title
    back = screen.findChild(QPushButton, "record_back")
    assert back.isVisible()
    qtbot.mouseClick(back, Qt.LeftButton)
    assert table.columnCount() == len(shown)


def drag(qtbot, viewport, moved) -> None:
    """A finger pressed on ``viewport`` and drawn upwards until ``moved()`` says the content
    followed it: each poll of the wait moves the finger 12 px more (the scroller needs time
    between moves, as a real finger takes; the wait is on the condition, not a sleep)."""
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    x, y = viewport.width() / 2, viewport.height() - 10.0
    where = [y]

    def send(kind, at, buttons):
        point = QPointF(x, at)
        QApplication.sendEvent(viewport, QMouseEvent(
            kind, point, viewport.mapToGlobal(point),
            Qt.NoButton if kind == QEvent.MouseMove else Qt.LeftButton, buttons, Qt.NoModifier))

    send(QEvent.MouseButtonPress, y, Qt.LeftButton)

    def step() -> bool:
        where[0] = max(10.0, where[0] - 12)
        send(QEvent.MouseMove, where[0], Qt.LeftButton)
        return moved()

    try:
        qtbot.waitUntil(step, timeout=5000)
    finally:
        send(QEvent.MouseButtonRelease, where[0], Qt.NoButton)


def test_a_senior_summary_longer_than_a_short_panel_scrolls_by_finger(result_app, qtbot):
    """1366×768 in senior English: the summary side panel is taller than the space; its scroll
    bar shows more lies below, and a finger's drag moves it (old code: only a mouse wheel or
    the thin bar moved it, which a resident's finger cannot do)."""
    from PySide6.QtWidgets import QScrollArea

    app, screen = result_app(lang="en", elderly=True, size=(1366, 768))
    area = screen.findChild(QScrollArea, "summary_scroll")
    assert area is not None and area.isVisible()
    bar = area.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)  # more than the panel shows
    assert bar.isVisible() and bar.width() >= 16  # …and the resident sees that there is more
    assert bar.value() == 0
    drag(qtbot, area.viewport(), lambda: bar.value() > 0)
    assert bar.value() > 0


def test_a_switch_of_language_or_mode_on_the_result_finds_its_rows_ready(result_app, qtbot,
                                                                         monkeypatch):
    """While the resident reads the result, its rows are formatted and measured in the other
    languages too, and for the other mode's result screen: a switch of language or of mode
    then fills and paints the table, it no longer formats and measures every row first.
    Nothing of it is kept once the visit ends."""
    app, screen = result_app()
    window, flow = app.window, app.flow
    twin = window.modes[True][Step.RESULT]  # the senior screen (built after start-up, or now)
    flow.set_language("zh_HK")  # a frame with the twin built: both work ahead once it is painted
    qtbot.waitUntil(lambda: all(set(s._tables) == set(LANGUAGES) for s in (screen, twin)))
    done: list[str] = []
    rows, natural = ResultScreen._rows, ResultScreen._natural
    monkeypatch.setattr(ResultScreen, "_rows", staticmethod(
        lambda result, lang: done.append(f"format {lang}") or rows(result, lang)))
    monkeypatch.setattr(ResultScreen, "_natural", lambda self, headers, cells: done.append(
        "measure") or natural(self, headers, cells))
    flow.set_language("en")
    assert screen.title.text() == flow.service.name("en")
    assert any(item.text() for _r, _c, item in visible_cells(table_of(screen)))
    flow.set_elderly(True)
    assert window.current_screen() is twin and twin.title.text() == flow.service.name("en")
    assert done == []
    flow.cancel()  # the visit ends: no screen keeps the resident's rows, in any language
    assert not any(s._tables or s._widths for s in (screen, twin))
