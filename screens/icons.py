"""The icon set: departments (the catalog's ``icon`` names), services, devices and actions,
drawn from the Font Awesome 6 Free solid font bundled with ``qtawesome`` (icons CC BY 4.0,
font SIL OFL 1.1). Font glyphs scale, so an icon is crisp at every size and in both modes.

Screens ask by our names, never by the font's: ``icon("shebao")``, ``icon("print")``.
"""

from __future__ import annotations

from functools import cache

from screens.design import COLOURS
from screens.qt import QIcon, QLabel, QPixmap, QPushButton, QSize

# our name -> Font Awesome 6 solid glyph
GLYPHS: dict[str, str] = {
    # departments, as config/services/*.toml name them
    "shebao": "fa6s.people-roof",
    "yibao": "fa6s.briefcase-medical",
    "gjj": "fa6s.piggy-bank",
    "tax": "fa6s.file-invoice-dollar",
    "house": "fa6s.house-chimney",
    "traffic": "fa6s.car",
    "police": "fa6s.shield-halved",
    "passport": "fa6s.passport",
    "civil": "fa6s.hands-holding-child",
    "health": "fa6s.heart-pulse",
    "school": "fa6s.school",
    "market": "fa6s.store",
    "accessible": "fa6s.wheelchair",
    "hall": "fa6s.building-columns",
    # kinds of service
    "certificate": "fa6s.certificate",
    "payment": "fa6s.coins",
    "record": "fa6s.file-lines",
    "appointment": "fa6s.calendar-check",
    "message": "fa6s.comment-dots",
    "complaint": "fa6s.bullhorn",
    "query": "fa6s.magnifying-glass-chart",
    "service": "fa6s.circle-info",
    # devices and cards
    "id_card": "fa6s.id-card",
    "ss_card": "fa6s.credit-card",
    "permit": "fa6s.address-card",
    "card_slot": "fa6s.sim-card",
    "printer": "fa6s.print",
    "receipt": "fa6s.receipt",
    "camera": "fa6s.camera",
    "face": "fa6s.face-smile",
    "qr": "fa6s.qrcode",
    "network": "fa6s.wifi",
    "network_down": "fa6s.plug-circle-xmark",
    "keypad": "fa6s.keyboard",
    "handwriting": "fa6s.signature",
    "technician": "fa6s.wrench",
    # actions and chrome
    "back": "fa6s.arrow-left",
    "home": "fa6s.house",
    "repeat": "fa6s.rotate-right",
    "volume_down": "fa6s.volume-low",
    "volume_up": "fa6s.volume-high",
    "mute": "fa6s.volume-xmark",
    "help": "fa6s.circle-question",
    "language": "fa6s.globe",
    "senior": "fa6s.person-cane",
    "switch_on": "fa6s.toggle-on",
    "switch_off": "fa6s.toggle-off",
    "search": "fa6s.magnifying-glass",
    "print": "fa6s.print",
    "phone": "fa6s.phone",
    "clock": "fa6s.clock",
    "location": "fa6s.location-dot",
    "previous": "fa6s.chevron-left",
    "next": "fa6s.chevron-right",
    "more": "fa6s.ellipsis",
    "retry": "fa6s.rotate-right",
    "ok": "fa6s.circle-check",
    "error": "fa6s.circle-xmark",
    "warning": "fa6s.triangle-exclamation",
    "info": "fa6s.circle-info",
    "closed": "fa6s.ban",
    "wait": "fa6s.hourglass-half",
    "touch": "fa6s.hand-pointer",
    "clear": "fa6s.delete-left",
    # rating faces, best to worst
    "very_satisfied": "fa6s.face-grin-stars",
    "satisfied": "fa6s.face-smile",
    "neutral": "fa6s.face-meh",
    "dissatisfied": "fa6s.face-frown",
    "very_dissatisfied": "fa6s.face-angry",
}
FALLBACK = "service"


def known(name: str) -> bool:
    """True when the set has an icon of that name (the catalog's names are checked by a test)."""
    return name in GLYPHS


@cache
def icon(name: str, colour: str | None = None, size: int = 0) -> QIcon:
    """The icon called ``name`` in ``colour`` (a palette name or ``#rrggbb``; primary by
    default). An unknown name gives the generic service icon rather than a hole in a tile.
    ``size`` is only a hint: the glyph is redrawn at whatever size it is shown."""
    import qtawesome  # imported on first use: starting the kiosk need not load the fonts

    glyph = GLYPHS.get(name, GLYPHS[FALLBACK])
    ink = COLOURS.get(colour or "primary", colour or COLOURS["primary"])
    return qtawesome.icon(glyph, color=ink, color_disabled=COLOURS["disabled_text"])


@cache
def pixmap(name: str, size: int, colour: str | None = None) -> QPixmap:
    """The icon drawn at ``size`` px square (for a label or a painter), drawn once."""
    return icon(name, colour).pixmap(QSize(size, size))


@cache
def sized_icon(name: str, size: int, colour: str | None = None) -> QIcon:
    """The icon pre-drawn at ``size`` px, normal and disabled: painting it is a blit, where a
    font icon would redraw its glyph on every paint (a screen switch repaints dozens)."""
    drawn = QIcon()
    font_icon = icon(name, colour)
    drawn.addPixmap(font_icon.pixmap(QSize(size, size)), QIcon.Normal)
    drawn.addPixmap(font_icon.pixmap(QSize(size, size), QIcon.Disabled), QIcon.Disabled)
    return drawn


def set_icon(widget: QPushButton | QLabel, name: str, size: int,
             colour: str | None = None) -> None:
    """Show icon ``name`` on a button or label at ``size`` px and record its name in the
    ``icon`` property, which the widget-tree export reads."""
    if widget.property("icon") == name and widget.property("icon_px") == size \
            and widget.property("icon_ink") == (colour or ""):
        return  # already shown: nothing to redraw
    widget.setProperty("icon_px", size)
    widget.setProperty("icon_ink", colour or "")
    if isinstance(widget, QPushButton):
        widget.setIcon(sized_icon(name, size, colour))
        widget.setIconSize(QSize(size, size))
    else:
        widget.setPixmap(pixmap(name, size, colour))
    widget.setProperty("icon", name)
