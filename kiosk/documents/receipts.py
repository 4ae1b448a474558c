"""Receipt templates (``config/templates/receipts/*.toml``) → device-neutral receipt elements.

Templates are data: a list of elements with ``{key}`` placeholders from the context and
``{@key}`` labels in the receipt's language (zh_CN, zh_HK, en). The printer driver decides
how each element reaches paper, so one template fits every printer model.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, cast

from drivers.escpos_elements import (
    Align,
    Barcode,
    Element,
    Feed,
    Logo,
    Pair,
    QrCode,
    ReceiptDoc,
    Rule,
    Table,
    Text,
)
from drivers.identity import id_number_valid, mask_id_number
from kiosk.paths import CONFIG_DIR

log = logging.getLogger(__name__)

RECEIPTS_DIR = CONFIG_DIR / "templates" / "receipts"
LANGS = ("zh_CN", "zh_HK", "en")
KINDS = {"logo", "text", "pair", "rule", "qr", "barcode", "lines", "table", "feed"}
_PLACEHOLDER = re.compile(r"\{(@?)([A-Za-z_][A-Za-z0-9_]*)\}")


class ReceiptTemplateError(ValueError):
    """A template is broken or the context lacks what it needs (names the template and key)."""


@functools.lru_cache(maxsize=32)
def load_template(name: str) -> dict[str, Any]:
    """Read and check one template: known element kinds, every label in every language.
    (Any: parsed TOML, checked only as far as this says; elements read their keys as they go.)"""
    path = RECEIPTS_DIR / f"{name}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        known = ", ".join(sorted(template_names()))
        raise ReceiptTemplateError(f"no receipt template {name!r} (known: {known})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ReceiptTemplateError(f"receipt template {name}: {exc}") from exc
    labels = data.get("labels", {})
    for key, texts in labels.items():
        missing = [lang for lang in LANGS if lang not in texts]
        if missing:
            raise ReceiptTemplateError(f"receipt template {name}: label {key!r} lacks {missing}")
    for i, el in enumerate(data.get("body", [])):
        if el.get("kind") not in KINDS:
            raise ReceiptTemplateError(f"receipt template {name}: element {i} has unknown "
                                       f"kind {el.get('kind')!r}")
        for text in (v for v in el.values() if isinstance(v, str)):
            for at, key in _PLACEHOLDER.findall(text):
                if at and key not in labels:
                    raise ReceiptTemplateError(f"receipt template {name}: no label {key!r}")
    return data


def template_names() -> list[str]:
    return sorted(p.stem for p in RECEIPTS_DIR.glob("*.toml"))


def render_receipt(template: str, context: Mapping[str, object], lang: str) -> ReceiptDoc:
    """Fill ``template`` with ``context`` in ``lang``; raise ReceiptTemplateError on gaps."""
    if lang not in LANGS:
        raise ReceiptTemplateError(f"unsupported receipt language {lang!r} (use {LANGS})")
    data = load_template(template)
    labels = {k: v[lang] for k, v in data.get("labels", {}).items()}
    ctx = _safe_context(context)

    def fill(text: str) -> str:
        def sub(m: re.Match[str]) -> str:
            at, key = m.groups()
            if at:  # a label may name context values too ("共 {total_rows} 条"); others stay
                return _PLACEHOLDER.sub(lambda k: _as_text(ctx[k[2]]) if not k[1] and k[2] in ctx
                                        else k[0], labels[key])
            if key not in ctx:
                raise ReceiptTemplateError(f"receipt {template}: context lacks {key!r}")
            return _as_text(ctx[key])
        return _PLACEHOLDER.sub(sub, text).strip()

    elements: list[Element] = []
    for el in data.get("body", []):
        when = el.get("when")
        if when and not ctx.get(when):
            continue
        elements.extend(_element(el, fill, ctx, template))
    return ReceiptDoc(tuple(elements), cut=True, title=template)


def _element(el: dict[str, Any], fill: Callable[[str], str], ctx: Mapping[str, object],
             template: str) -> list[Element]:
    kind = el["kind"]
    if kind == "logo":
        path = RECEIPTS_DIR / el.get("path", "logo.png")
        return [Logo(path)] if path.exists() else []
    if kind == "text":
        return [Text(fill(el["text"]), el.get("align", "left"), bool(el.get("bold", False)),
                     int(el.get("size", 1)))]
    if kind == "pair":
        return [Pair(fill(el["label"]), fill(el["value"]))]
    if kind == "rule":
        return [Rule(el.get("char", "-"))]
    if kind == "qr":
        data = fill(el["data"])
        return [QrCode(data, fill(el.get("caption", "")))] if data else []
    if kind == "barcode":
        data = fill(el["data"])
        return [Barcode(data)] if data and data.isascii() else []
    if kind == "feed":
        return [Feed(int(el.get("lines", 1)))]
    if kind == "lines":
        # [[label, value]…] from ctx "lines" (or the element's ``key``, e.g. "totals"); any
        # other shape fails below with the message that says so
        pairs = cast("Iterable[tuple[object, object]]", ctx.get(el.get("key", "lines")) or [])
        try:
            return [Pair(_as_text(label), _as_text(value)) for label, value in pairs]
        except (TypeError, ValueError) as exc:
            raise ReceiptTemplateError(f"receipt {template}: lines must be [[label, value]…]") from exc
    if kind == "table":
        # {columns: [...], rows: [[...]]}; any other shape fails below with the message
        # optional per column: align (left/right/center), priority (int), wrap (bool)
        table = cast("Mapping[str, Any]", ctx.get("table") or {})
        try:
            columns = tuple(_as_text(c) for c in table["columns"])
            rows = tuple(tuple(_as_text(c) for c in row) for row in table["rows"])
            align = tuple(cast("Align", a) if a in ("left", "right", "center") else "left"
                          for a in table.get("align", ()))
            priority = tuple(int(p) for p in table.get("priority", ()))
            wraps = tuple(bool(w) for w in table.get("wrap", ()))
        except (KeyError, TypeError, ValueError) as exc:
            raise ReceiptTemplateError(
                f"receipt {template}: table must be {{columns: [...], rows: [[...]]}}") from exc
        return [Table(columns, rows, align=align, priority=priority, wrap=wraps,
                      left_off=fill(el.get("left_off", "")))]
    raise ReceiptTemplateError(f"receipt {template}: unknown kind {kind!r}")  # pragma: no cover


def _safe_context(context: Mapping[str, object]) -> dict[str, object]:
    """Never print a full ID number: a valid 18-character number given as masked_id is masked."""
    ctx = dict(context)
    masked = ctx.get("masked_id")
    if isinstance(masked, str) and id_number_valid(masked):
        log.warning("receipt context carried an unmasked ID number; masking it")
        ctx["masked_id"] = mask_id_number(masked)
    return ctx


def _as_text(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


def sample_context(template: str) -> dict[str, object]:
    """Synthetic context for test prints and the technician's receipt test."""
    base: dict[str, object] = {"terminal_id": "GZ-TH-0042", "printed_at": "2026-11-24 09:30",
            "masked_name": "陈*明", "masked_id": "440106********123X", "service_name": "社保参保证明打印",
            "hall": "天河区政务服务中心", "hall_address": "广州市天河区示例路 1 号", "hotline": "12345"}
    extra: dict[str, dict[str, object]] = {
        "queue_ticket": {"number": "A023", "hall": "天河区政务服务中心", "waiting": 5,
                         "time": "2026-11-24 09:30"},
        "service_receipt": {"reference": "GZ20261124000123",
                            "progress_url": "https://zwfw.example.gov.cn/p/GZ20261124000123",
                            "lines": [["参保状态", "正常参保"], ["累计月数", "96"]],
                            "table": {"columns": ["月份", "险种", "金额"],
                                      "rows": [["2026-10", "养老", "412.80"],
                                               ["2026-09", "养老", "412.80"]],
                                      "align": ["left", "left", "right"]},
                            "period": "2026-09 至 2026-10", "total_rows": 14, "shown_rows": 2,
                            "more_a4": True, "totals": [["金额合计", "¥825.60"]]},
        "appointment": {"place": "天河区政务服务中心 3楼 12号窗口", "slot": "2026-11-25 10:00-10:30",
                        "booking_number": "YY20261125-0456"},
        "offline_receipt": {"local_reference": "LOCAL-0042-000017"},
    }
    return {**base, **extra.get(template, {})}


def receipt_files() -> list[Path]:
    return sorted(RECEIPTS_DIR.glob("*.toml"))
