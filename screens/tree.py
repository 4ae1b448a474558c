"""The visible widget tree of the window as plain data, for ``kiosk screenshot --tree`` and the
layout tests: what a resident can see and touch, where it is, how big its text is.

Each node: ``role`` (button, label, tile, step, cell, input, table, header, …), ``text`` (or
the accessible name), ``geometry`` [x, y, w, h] in window pixels, ``enabled``, ``checked``
(a chosen option, a toggled switch), ``current`` (the current step), ``font_px``, ``icon``
(true when it shows one), ``children``; ``name`` (the object name) helps find a node.
Plain layout containers are left out: their children join the nearest named ancestor.
"""

from __future__ import annotations

from typing import Any

from screens.qt import (
    QAbstractItemView,
    QApplication,
    QEvent,
    QLabel,
    QPoint,
    QPushButton,
    QTableWidget,
    QWidget,
)

Node = dict[str, Any]
# containers worth a node of their own, by object name (prefix)
_GROUPS = ("header", "steps", "bottombar", "backdrop", "overlay", "screen_", "kiosk")
_INPUT_NAMES = ("field",)


def _font_px(widget: QWidget) -> int:
    font = widget.font()
    if font.pixelSize() > 0:
        return font.pixelSize()
    return round(font.pointSizeF() * widget.logicalDpiY() / 72)


def _geometry(widget: QWidget, window: QWidget) -> list[int]:
    top_left = widget.mapTo(window, QPoint(0, 0))
    return [top_left.x(), top_left.y(), widget.width(), widget.height()]


def _flag(widget: QWidget, name: str) -> bool:
    value = widget.property(name)
    return value is True or value == "true"


def _role(widget: QWidget) -> str | None:
    role = widget.property("role")
    name = widget.objectName()
    if isinstance(widget, QPushButton):
        return str(role) if role else "button"
    if isinstance(widget, QLabel):
        if name in _INPUT_NAMES or role == "input":
            return "input"
        return str(role) if role else "label"
    if isinstance(widget, QTableWidget):
        return "table"
    if role:
        return str(role)
    for group in _GROUPS:
        if name.startswith(group):
            return group.rstrip("_") if group.endswith("_") else group
    return None


def _node(widget: QWidget, window: QWidget, role: str) -> Node:
    if isinstance(widget, (QPushButton, QLabel)):
        text = widget.text() or widget.accessibleName()
    else:
        text = widget.accessibleName()
    if isinstance(widget, QPushButton):
        icon = not widget.icon().isNull()
        checked = widget.isChecked() or _flag(widget, "selected")
    elif isinstance(widget, QLabel):
        pixmap = widget.pixmap()
        icon = pixmap is not None and not pixmap.isNull()
        checked = _flag(widget, "selected")
    else:
        icon = bool(widget.property("icon"))
        checked = _flag(widget, "selected")
    node: Node = {"role": role, "name": widget.objectName(), "text": text,
                  "geometry": _geometry(widget, window), "enabled": widget.isEnabled(),
                  "checked": bool(checked), "current": _flag(widget, "current"),
                  "font_px": _font_px(widget), "icon": icon, "children": []}
    if isinstance(widget, QPushButton) and not icon and widget.property("icon"):
        node["icon"] = True
    return node


def _cells(table: QTableWidget, window: QWidget) -> list[Node]:
    """The visible cells of a table, as ``cell`` nodes (header sections as ``heading``)."""
    out: list[Node] = []
    origin = table.viewport().mapTo(window, QPoint(0, 0))
    font_px = _font_px(table)
    header = table.horizontalHeader()
    if header.isVisible():
        h_origin = header.mapTo(window, QPoint(0, 0))
        for c in range(table.columnCount()):
            item = table.horizontalHeaderItem(c)
            out.append({"role": "heading", "name": "", "text": item.text() if item else "",
                        "geometry": [h_origin.x() + header.sectionViewportPosition(c),
                                     h_origin.y(), header.sectionSize(c), header.height()],
                        "enabled": True, "checked": False, "current": False,
                        "font_px": font_px, "icon": False, "children": []})
    view = table.viewport().rect()
    for r in range(table.rowCount()):
        for c in range(table.columnCount()):
            item = table.item(r, c)
            if item is None:
                continue
            rect = table.visualItemRect(item)
            if not rect.intersects(view):
                continue
            out.append({"role": "cell", "name": "", "text": item.text(),
                        "geometry": [origin.x() + rect.x(), origin.y() + rect.y(), rect.width(),
                                     rect.height()],
                        "enabled": True, "checked": item.isSelected(), "current": False,
                        "font_px": font_px, "icon": False, "children": []})
    return out


def _walk(widget: QWidget, window: QWidget, into: list[Node]) -> None:
    for child in widget.children():
        if not isinstance(child, QWidget) or not child.isVisibleTo(window):
            continue
        if child.isWindow():
            continue
        role = _role(child)
        if role is None:
            if not isinstance(child, QAbstractItemView):
                _walk(child, window, into)
            continue
        node = _node(child, window, role)
        if isinstance(child, QTableWidget):
            node["children"] = _cells(child, window)
        elif not isinstance(child, QAbstractItemView):
            _walk(child, window, node["children"])
        into.append(node)


def widget_tree(window: QWidget) -> Node:
    """The visible tree of ``window`` (usually the kiosk window) as nested plain data, after
    the pending layout passes (a screen just shown is laid out on the next turn)."""
    for _ in range(3):
        QApplication.sendPostedEvents(None, QEvent.LayoutRequest)
    root = _node(window, window, "window")
    _walk(window, window, root["children"])
    return root


def flatten(node: Node) -> list[Node]:
    """Every node of a tree, depth first (tests search it)."""
    out = [node]
    for child in node["children"]:
        out.extend(flatten(child))
    return out
