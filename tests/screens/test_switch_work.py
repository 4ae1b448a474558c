"""What a screen switch does, and what it no longer does twice: the screen shown is laid out
for the space the chrome leaves it, once."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject

from kiosk.visit.flow import Step


class Resizes(QObject):
    """The sizes a widget was given, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[tuple[int, int]] = []

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Resize:
            self.sizes.append(event.size().toTuple())
        return False


def test_home_after_the_attract_screen_is_laid_out_once_in_the_space_left_by_the_chrome(
        window, qtbot):
    """The attract and goodbye screens have no chrome; home has a header and a bottom bar.
    Home was shown at the space the chrome-less screen had, laid out for it, then laid out
    again when the chrome came (in the same frame): every switch into or out of the chrome
    laid the screen out twice. Now the chrome comes first and the screen gets its space once."""
    flow = window.flow
    assert flow.step is Step.ATTRACT
    home = window.screens[Step.HOME]  # built (hidden), never shown yet
    flow.start()
    qtbot.waitUntil(lambda: not home.visibleRegion().isEmpty() and not home._refit_due)
    assert window.header.isVisible() and window.bottombar.isVisible()
    assert len(home._built) == 1  # one set of tiles, for the space it is shown in
    flow.cancel()  # goodbye, no chrome: home is hidden
    qtbot.waitUntil(lambda: not window.current_screen().visibleRegion().isEmpty())
    resizes = Resizes()
    home.installEventFilter(resizes)
    flow.start()  # a new visit from the goodbye screen: the chrome comes back
    assert window.current_screen() is home
    qtbot.waitUntil(lambda: not home.visibleRegion().isEmpty() and not home._refit_due)
    # one size, the one it is shown at (it was given the goodbye screen's space first)
    assert resizes.sizes == [window.stack.size().toTuple()]


def test_the_chrome_leaving_gives_the_next_screen_its_space_at_once(window, qtbot):
    """Home (chrome) to goodbye (none): goodbye is sized once, to the whole window."""
    flow = window.flow
    flow.start()
    qtbot.waitUntil(lambda: window.current_screen().isVisible())
    goodbye = window.screens[Step.GOODBYE]
    resizes = Resizes()
    goodbye.installEventFilter(resizes)
    flow.cancel()
    assert window.current_screen() is goodbye
    qtbot.waitUntil(lambda: not goodbye.visibleRegion().isEmpty())
    assert not window.header.isVisible()
    assert resizes.sizes == [window.size().toTuple()]
