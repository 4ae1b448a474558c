"""Every screen at the four panel sizes terminals use (portrait 1080×1920, landscape
1920×1080, the 1280×1024 and 1366×768 desk panels), read through the widget-tree export:
the chrome is there (header with hall, clock and 12345; bottom bar with back, home, volume,
language and the senior switch showing its state), a visit screen marks exactly one current
step, nothing is cut, too small, off-screen or overlapping, and a disabled button looks
disabled. Failures name the screen and whose part broke: "chrome" (screens/chrome.py,
window.py) or "screen <name>" (that screen's module)."""

from __future__ import annotations

import itertools

import pytest

from kiosk.app.kiosk_app import KioskApp
from kiosk.demo.rig import DemoRig
from kiosk.demo.visit import SCREEN_NAMES, stage_screen
from screens.chrome import NO_CHROME, STAGE_OF
from screens.design import tokens
from screens.qt import QImage, QPushButton, QWidget
from screens.tree import flatten, widget_tree
from screens.widgets import button
from tests.screens.test_every_screen import problems

SIZES = [(1080, 1920), (1920, 1080), (1280, 1024), (1366, 768)]
# The combinations that stress most, each at every size (the portrait size runs all six in
# test_every_screen): the longest words at the largest size (English senior), English in
# standard size (long words in more, narrower columns: the home grid, the search keypad),
# 简体 standard, and 繁體 senior (the handwriting pad instead of the letter keys, senior
# Chinese text). zh_CN senior and zh_HK standard share their layouts with these two.
MODES = [("zh_CN", False), ("en", True), ("en", False), ("zh_HK", True)]
CHROME_PARTS = ("header", "steps", "bottombar", "backdrop")
BUTTON_ROLES = ("button", "primary", "secondary", "danger", "tile", "choice", "chip", "nav",
                "tool", "switch", "key", "cell", "lang")


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    rig = DemoRig(tmp_path_factory.mktemp("rig")).start(devices=False)
    yield rig
    rig.stop()


def owner(node_path: list[str], screen: str) -> str:
    return "chrome" if any(p in CHROME_PARTS for p in node_path) else f"screen {screen}"


def walk(node, path=()):
    path = (*path, node["role"])
    yield node, list(path)
    for child in node["children"]:
        yield from walk(child, path)


def overlaps(a, b) -> bool:
    ax, ay, aw, ah = a["geometry"]
    bx, by, bw, bh = b["geometry"]
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def tree_problems(tree, screen: str, elderly: bool, width: int, height: int) -> list[str]:
    found: list[str] = []
    size = tokens(elderly)
    nodes = list(walk(tree))
    buttons = [(n, p) for n, p in nodes if n["role"] in BUTTON_ROLES]
    for n, p in buttons:
        x, y, w, h = n["geometry"]
        if h < size.target_px - 1 or w < size.target_px - 1:
            found.append(f"{owner(p, screen)}: target too small {n['text']!r} {w}x{h}")
        if x < 0 or y < 0 or x + w > width or y + h > height:
            found.append(f"{owner(p, screen)}: outside the window {n['text']!r} {n['geometry']}")
    for n, _p in nodes:
        if n["text"] and n["font_px"] < size.small_px and n["role"] not in ("window",):
            found.append(f"{owner(_p, screen)}: text below {size.small_px} px: {n['text'][:30]!r}")
    area = next((n for n, _ in nodes if n["role"] == "screen"), None)
    if area is not None:
        ax, ay, aw, ah = area["geometry"]
        for n, p in buttons:
            x, y, w, h = n["geometry"]
            if "screen" in p and (y + h > ay + ah + 1 or x + w > ax + aw + 1):
                found.append(f"screen {screen}: {n['text']!r} lies beyond the screen's area "
                             f"{area['geometry']} (cut off by the chrome)")
    top = [(n, p) for n, p in buttons if "backdrop" not in p]
    for (a, pa), (b, pb) in itertools.combinations(top, 2):
        if ("screen" in pa) != ("screen" in pb):
            continue  # a screen's widget beyond its area is reported above, as the screen's
        if overlaps(a, b):
            found.append(f"{owner(pa, screen)} / {owner(pb, screen)}: overlap "
                         f"{a['text']!r} / {b['text']!r}")
    step = next((s for s in SCREEN_NAMES if s == screen), screen)
    chrome = step not in {s.value for s in NO_CHROME} and step != "countdown"
    roles = {n["role"]: n for n, _ in nodes}
    names = {n["name"]: n for n, _ in nodes if n["name"]}
    if chrome:
        header = roles.get("header")
        if header is None:
            found.append("chrome: no header")
        else:
            texts = [n["text"] for n in flatten(header)]
            for want, role in (("hall", "hall"), ("clock", "clock"), ("12345", "hotline")):
                node = next((n for n in flatten(header) if n["role"] == role), None)
                if node is None or not node["text"]:
                    found.append(f"chrome: header lacks the {want}: {texts}")
            if names.get("clock") and ":" not in names["clock"]["text"]:
                found.append(f"chrome: the clock shows no time: {names['clock']['text']!r}")
            if not any("12345" in t for t in texts):
                found.append("chrome: header lacks the 12345 hotline")
        for name in ("back", "home", "volume_down", "volume_up", "language", "elderly", "repeat"):
            if name == "back" and step == "home":
                continue  # nothing to go back to: 帮助 takes its place
            if name not in names:
                found.append(f"chrome: bottom bar lacks {name}")
        if "elderly" in names and names["elderly"]["checked"] != elderly:
            found.append("chrome: the senior switch does not show the mode")
        if "home" in names:
            for big in ("home", "back") if "back" in names else ("home",):
                if names[big]["geometry"][3] < max(names[t]["geometry"][3]
                                                   for t in ("repeat", "language")):
                    found.append(f"chrome: {big} is not the dominant button")
    stage = {s.value for s in STAGE_OF}
    if step in stage:
        current = [n for n, _ in nodes if n["role"] == "step" and n["current"]]
        if len(current) != 1:
            found.append(f"chrome: {len(current)} current steps on a visit screen")
    return found


_FOUND: dict[tuple, dict[str, list[str]]] = {}


def findings(rig, lang, elderly, width, height) -> dict[str, list[str]]:
    """Every screen's problems in one mode and size, staged once for both tests below."""
    key = (lang, elderly, width, height)
    if key not in _FOUND:
        app = KioskApp(rig.config(ui={"language": lang, "elderly_mode": elderly},
                                  screen={"width": width, "height": height}))
        app.start(show=True)
        try:
            report = {}
            for name in SCREEN_NAMES:
                stage_screen(app, name)
                app.qt.processEvents()
                found = tree_problems(widget_tree(app.window), name, elderly, width, height)
                found += [f"screen {name}: {p}" for p in problems(app.window, elderly)]
                report[name] = sorted(set(found))
        finally:
            app.stop()
        _FOUND[key] = report
    return _FOUND[key]


def _fail(report: dict[str, list[str]]) -> None:
    lines = [f"{name}: {p}" for name, found in report.items() for p in found]
    if lines:
        pytest.fail("\n".join(lines), pytrace=False)


PARAMS = pytest.mark.parametrize("width, height", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
MODE_PARAMS = pytest.mark.parametrize("lang, elderly", MODES)


@pytest.mark.expected_errors(r"visit error central\.unavailable")  # the error screen is staged
@PARAMS
@MODE_PARAMS
def test_the_chrome_fits_every_size(rig, lang, elderly, width, height, qtbot):
    """Header, steps and bottom bar on every screen: present, whole, big enough, apart."""
    report = findings(rig, lang, elderly, width, height)
    _fail({name: [p for p in found if p.startswith("chrome")]
           for name, found in report.items()})


@pytest.mark.expected_errors(r"visit error central\.unavailable")
@PARAMS
@MODE_PARAMS
def test_every_screen_fits_every_size(rig, lang, elderly, width, height, qtbot):
    """Each screen's own content, named by screen (its module's owner fixes it)."""
    _fail(findings(rig, lang, elderly, width, height))


def _look(btn: QPushButton) -> QImage:
    return btn.grab().toImage()


@pytest.mark.parametrize("role", ["", "primary", "secondary", "tile", "choice", "nav", "tool",
                                  "switch", "danger"])
@pytest.mark.parametrize("elderly", [False, True])
def test_a_disabled_button_looks_disabled(role, elderly, qtbot):
    """"上一页" on page 1 or "首页" while printing must not look tappable."""
    from screens.design import stylesheet

    holder = QWidget()
    qtbot.addWidget(holder)
    holder.setStyleSheet(stylesheet(elderly))
    live, dead = button("下一页", role=role), button("下一页", role=role)
    for b in (live, dead):
        b.setParent(holder)
        b.setFocusPolicy(b.focusPolicy().NoFocus)
        b.resize(400, 140)
    dead.setEnabled(False)
    holder.show()
    qtbot.waitExposed(holder)
    a, b = _look(live), _look(dead)
    centre = (a.width() // 2, a.height() - 20)
    edge = (a.width() // 2, 1)
    assert a.pixelColor(*centre) != b.pixelColor(*centre) or a.pixelColor(*edge) != \
        b.pixelColor(*edge), f"{role or 'plain'} button looks the same disabled"
