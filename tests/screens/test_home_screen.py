"""Home as a resident meets it: every department with its icon on the first page, in as many
columns as the width holds, the hot services with icons, and search."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QLabel, QPushButton

from kiosk.app.kiosk_app import KioskApp
from kiosk.demo.rig import DemoRig
from kiosk.demo.visit import stage_screen


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    rig = DemoRig(tmp_path_factory.mktemp("rig")).start(devices=False)
    yield rig
    rig.stop()


@pytest.fixture
def home(rig, qtbot):
    apps = []

    def make(lang="zh_CN", elderly=False, size=(1080, 1920)):
        app = KioskApp(rig.config(ui={"language": lang, "elderly_mode": elderly},
                                  screen={"width": size[0], "height": size[1]}))
        app.start(show=True)
        apps.append(app)
        stage_screen(app, "home")
        screen = app.window.current_screen()
        app.qt.processEvents()
        # settled: the tiles were planned for the space the screen really has
        qtbot.waitUntil(lambda: screen._tiles_for is not None
                        and screen._tiles_for[-1] == screen._layout_key() and not screen._refit_due)
        return app, screen

    yield make
    for app in apps:
        app.stop()


def tiles(app, screen, prefix):
    return [b for b in screen.findChildren(QPushButton)
            if b.objectName().startswith(prefix) and b.isVisibleTo(app.window)]


def shows_icon(tile) -> bool:
    picture = tile.findChild(QLabel, "tile_icon")
    return picture is not None and not picture.pixmap().isNull() and bool(tile.property("icon_name"))


def geometry(widget, window) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


@pytest.mark.parametrize("lang", ["zh_CN", "zh_HK", "en"])
def test_every_department_with_its_icon_on_page_one_in_portrait(home, lang):
    app, screen = home(lang=lang)
    departments = tiles(app, screen, "dept_")
    assert len(departments) == len(app.catalog.departments) == 14  # old code: 8, text only
    assert all(shows_icon(b) for b in departments)
    assert not screen.findChild(QPushButton, "next").isVisibleTo(app.window)
    columns = {geometry(b, app.window).x() for b in departments}
    assert 3 <= len(columns) <= 4  # at 1080 wide
    hot = tiles(app, screen, "service_")
    assert hot and all(shows_icon(b) for b in hot)
    rects = [geometry(b, app.window) for b in departments + hot]
    assert all(not a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])
    assert all(app.window.rect().contains(r) for r in rects)


def test_landscape_uses_more_columns_and_nothing_overlaps(home):
    app, screen = home(size=(1920, 1080))
    departments = tiles(app, screen, "dept_")
    assert len(departments) == 14
    assert len({geometry(b, app.window).x() for b in departments}) >= 5
    rects = [geometry(b, app.window) for b in departments + tiles(app, screen, "service_")]
    assert all(not a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])
    assert all(r.height() >= 96 for r in rects)
    # 热门服务 heads its list (it once sat under the last hot service)
    heading = geometry(screen.hot_title, app.window)
    hot = [geometry(b, app.window) for b in tiles(app, screen, "service_")]
    assert screen.hot_title.isVisibleTo(app.window) and hot
    assert all(heading.bottom() <= r.top() for r in hot)


def test_a_language_seen_before_shows_its_tiles_again_without_rebuilding(home, qtbot):
    """English names break between words, Chinese between characters: two tile plans. A
    resident switching 中文 → English → 中文 must not wait for ~20 tiles to be built again
    (the old code rebuilt them on every such switch: 80–130 ms a switch on the kiosk)."""
    app, screen = home(lang="en")
    english = tiles(app, screen, "dept_")

    def settled(lang):
        app.flow.set_language(lang)
        app.qt.processEvents()
        qtbot.waitUntil(lambda: not screen._refit_due)
        return tiles(app, screen, "dept_")

    chinese = settled("zh_CN")
    assert {b.accessibleName() for b in chinese} == {d.name("zh_CN")
                                                     for d in app.catalog.departments}
    assert not any(a is b for a in chinese for b in english)  # the other plan's own tiles
    again = settled("en")
    assert len(again) == 14 and all(a is b for a, b in zip(again, english, strict=True))
    assert {b.accessibleName() for b in again} == {d.name("en") for d in app.catalog.departments}
    hidden = [b for b in english + chinese if b not in again]
    assert all(not b.isVisibleTo(app.window) for b in hidden)
