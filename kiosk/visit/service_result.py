"""A service's answer as the resident sees and prints it: formatted, in their language.

Formats come from the catalog's column ``format``: money ``¥1,234.50``, month ``2026年10月``
(``2026-10`` in English), date ``2026-10-15``, datetime ``2026-10-15 09:30``, status codes
through the column's own ``values`` texts. Receipts get a short table (≤ 12 rows); A4 gets all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from drivers.identity import Identity, mask_id_number, mask_name
from kiosk.catalog.services import Column, Service

if TYPE_CHECKING:
    from kiosk.json_types import JSON

RECEIPT_ROWS = 12
PROGRESS_URL = "https://zwfw.example.gz.cn/v/{reference}"  # demo verification/progress page

_SUMMARY = {
    "none": {"zh_CN": "没有查询到记录", "zh_HK": "沒有查詢到記錄", "en": "No records found"},
    "rows": {"zh_CN": "共 {n} 条记录", "zh_HK": "共 {n} 條記錄", "en": "{n} records"},
    "latest": {"zh_CN": "，最近一次 {when}", "zh_HK": "，最近一次 {when}", "en": ", latest {when}"},
    "progress": {"zh_CN": "当前进度：{step}（{when}）", "zh_HK": "當前進度：{step}（{when}）",
                 "en": "Current step: {step} ({when})"},
    "document": {"zh_CN": "{name}：文件已生成，可以打印", "zh_HK": "{name}：文件已生成，可以打印",
                 "en": "{name}: your document is ready to print"},
    "ticket": {"zh_CN": "您的号码是 {number}，前面还有 {waiting} 人",
               "zh_HK": "您的號碼是 {number}，前面還有 {waiting} 人",
               "en": "Your number is {number}; people ahead of you: {waiting}"},
    "queued": {"zh_CN": "网络暂时中断，申请已保存，恢复后自动提交（编号 {ref}）",
               "zh_HK": "網絡暫時中斷，申請已保存，恢復後自動提交（編號 {ref}）",
               "en": "The network is down; your request is saved and will be sent (ref {ref})"},
}
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _a4_cell(value: object, column: Column, lang: str) -> str:
    text = format_value(value, column, lang)
    return text[1:] if column.format == "money" and text.startswith("¥") else text


def _cell(row: JSON, key: str) -> Any:
    """A row's value (Any: a JSON scalar that the caller converts and may fail on)."""
    return row.get(key) if isinstance(row, dict) else None


def _short_time(value: object) -> str:
    try:
        return dt.datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(value or "")


@dataclass(frozen=True)
class PrintRequest:
    kind: str  # "receipt" | "a4"
    template: str
    context: dict[str, object]  # what the template's placeholders and elements read


def format_value(value: Any, column: Column, lang: str) -> str:
    """One cell as printed: never raises, an odd value is shown as it came.
    (Any: a JSON value from central; ``float``/``int`` are tried on it and may fail.)"""
    if value is None or value == "":
        return "—"
    fmt = column.format
    try:
        if fmt == "money":
            return f"¥{float(value):,.2f}"
        if fmt == "number":
            return f"{int(value):,}"
        if fmt == "percent":
            return f"{float(value):.1f}%"
        if fmt == "month":
            year, month = str(value)[:4], int(str(value)[5:7])
            return f"{_EN_MONTHS[month - 1]} {year}" if lang == "en" else f"{year}年{month}月"
        if fmt == "date":
            return dt.date.fromisoformat(str(value)[:10]).isoformat()
        if fmt == "datetime":
            return dt.datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M")
        if fmt == "status":
            texts = column.values.get(str(value))
            return texts.get(lang) or texts["zh_CN"] if texts else str(value)
    except (ValueError, TypeError, IndexError):
        return str(value)
    return str(value)


@dataclass
class ServiceResult:
    service: Service
    kind: str  # the catalog's result kind: table | key_value | timeline | document | ticket
    reference: str  # central's reference / application / ticket / booking number
    rows: list[JSON]
    total_rows: int
    fields: Mapping[str, object]
    document_id: str | None
    document_pdf: bytes | None
    created_at: dt.datetime
    raw: Mapping[str, object] = field(default_factory=dict, repr=False)
    queued: bool = False  # saved in the outbox while central was down
    inputs: dict[str, str] = field(default_factory=dict, repr=False)  # what the resident chose

    @property
    def columns(self) -> list[Column]:
        return self.service.result.columns

    def table(self, lang: str) -> tuple[list[str], list[list[str]]]:
        headers = [c.title(lang) for c in self.columns]
        rows = [[format_value(row.get(c.key), c, lang) for c in self.columns] for row in self.rows]
        return headers, rows

    def key_values(self, lang: str) -> list[tuple[str, str]]:
        return [(c.title(lang), format_value(self.fields.get(c.key), c, lang))
                for c in self.columns if c.key in self.fields]

    def timeline(self, lang: str) -> list[tuple[str, str, str]]:
        """(time, step, detail) oldest first; the last entry is where the application is now."""
        cols = self.columns
        out = []
        for row in self.rows:
            cells = [format_value(row.get(c.key), c, lang) for c in cols[:3]]
            out.append((cells + ["", "", ""])[:3])
        return [tuple(cells) for cells in out]  # type: ignore[misc]

    def summary(self, lang: str) -> str:
        """The one sentence spoken and printed at the top."""
        def text(key: str, **kw: object) -> str:
            return _SUMMARY[key].get(lang, _SUMMARY[key]["zh_CN"]).format(**kw)

        if self.queued:
            return text("queued", ref=self.reference)
        if self.kind == "table":
            if not self.total_rows:
                return text("none")
            sentence = text("rows", n=self.total_rows)
            months = [c for c in self.columns if c.format in ("month", "date")]
            if months and self.rows:
                latest = max(str(r.get(months[0].key, "")) for r in self.rows)
                sentence += text("latest", when=format_value(latest, months[0], lang))
            return sentence
        if self.kind == "timeline":
            if not self.rows:
                return text("none")
            when, step, _ = self.timeline(lang)[-1]
            return text("progress", step=step, when=when)
        if self.kind == "document":
            return text("document", name=self.service.name(lang))
        if self.kind == "ticket":
            return text("ticket", number=self.fields.get("ticket_number", self.reference),
                        waiting=self.fields.get("waiting", "?"))
        pairs = self.key_values(lang)[:2]
        sep = "; " if lang == "en" else "；"
        colon = ": " if lang == "en" else "："
        return sep.join(f"{k}{colon}{v}" for k, v in pairs) or self.service.name(lang)

    # -- printing ------------------------------------------------------------------------
    def _base_context(self, lang: str, identity: Identity | None,
                      terminal_id: str) -> dict[str, object]:
        return {
            "service_id": self.service.id,
            "service_name": self.service.name(lang),
            "masked_name": mask_name(identity.name) if identity else "",
            "masked_id": mask_id_number(identity.id_number) if identity else "",
            "reference": self.reference,
            "terminal_id": terminal_id,
            "printed_at": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            # the QR a resident brings back to check progress: the application number when
            # central gave one (a submission), else the reference
            "progress_url": PROGRESS_URL.format(
                reference=self.fields.get("application_number") or self.reference),
            "summary": self.summary(lang),
            "lang": lang,
        }

    def _lines(self, lang: str) -> list[tuple[str, str]]:
        if self.kind == "timeline":
            return [(when, f"{step} {detail}".strip()) for when, step, detail in self.timeline(lang)]
        return self.key_values(lang)

    def print_request(self, lang: str, identity: Identity | None, terminal_id: str,
                      kind: str | None = None) -> PrintRequest | None:
        """What to print. ``kind`` "receipt" or "a4"; None picks the receipt when the service
        has one (every terminal has a receipt printer), else A4; None when nothing prints."""
        ctx = self._base_context(lang, identity, terminal_id)
        if self.queued:
            return PrintRequest("receipt", "offline_receipt",
                                {**ctx, "lines": [], "table": None, "local_reference": self.reference})
        receipt, a4 = self.service.print_receipt, self.service.print_a4
        if kind is None:
            kind = "receipt" if receipt else "a4" if a4 else None
        if kind == "receipt" and receipt:
            return PrintRequest("receipt", receipt, self._receipt_context(ctx, lang, receipt))
        if kind == "a4" and a4:
            return PrintRequest("a4", a4, self._a4_context(ctx, lang, identity))
        return None

    def _a4_context(self, ctx: dict[str, object], lang: str,
                    identity: Identity | None) -> dict[str, object]:
        """A certificate names its holder in full (the A4 template masks where it wants);
        ``records`` carries every row keyed by catalog column, money without ``¥`` so the
        page can total it; key-value fields are also top-level keys."""
        headers, rows = self.table(lang) if self.kind == "table" else ([], [])
        records = [{c.key: _a4_cell(row.get(c.key), c, lang) for c in self.columns} for row in self.rows]
        out = {
            **ctx, "lines": self._lines(lang),
            "table": {"columns": headers, "rows": rows, "total_rows": self.total_rows} if headers else None,
            "records": records,
            "name": identity.name if identity else "", "id_number": identity.id_number if identity else "",
            "holder_name": identity.name if identity else "",
            "holder_id": identity.id_number if identity else "",
            "verification_code": self.reference, "verify_url": ctx["progress_url"],
            "certificate_no": self.reference, "search_no": self.reference,
            "as_of": dt.date.today().isoformat(),
            "period": self.period(lang),
            "pdf": self.document_pdf, "document_id": self.document_id,
        }
        for c in self.columns:
            if c.key in self.fields:
                out.setdefault(c.key, _a4_cell(self.fields[c.key], c, lang))
        return out

    def _dated(self) -> Column | None:
        return next((c for c in self.columns if c.format in ("month", "date", "datetime")), None)

    def period(self, lang: str) -> str:
        """The period asked for (a month range or a year the resident chose), else the range
        of the rows' dates; "" when the result has neither."""
        sep = " to " if lang == "en" else " 至 "
        asked = self.inputs.get("period") or ""
        if "/" in asked:
            month = Column("period", {"zh_CN": ""}, "month")
            return sep.join(format_value(part, month, lang) for part in asked.split("/", 1))
        if self.inputs.get("year"):
            return str(self.inputs["year"])
        dated = self._dated()
        values = sorted(str(r.get(dated.key)) for r in self.rows if r.get(dated.key)) if dated else []
        if not values or dated is None:
            return ""
        first, last = (format_value(v, dated, lang) for v in (values[0], values[-1]))
        return first if first == last else f"{first}{sep}{last}"

    def totals(self, lang: str) -> list[tuple[str, str]]:
        """(label, sum) of every column the catalog marks ``total``, over all rows; none when
        central sent fewer rows than it counted (a partial sum would mislead)."""
        if self.kind != "table" or not self.rows or len(self.rows) < self.total_rows:
            return []
        word = {"zh_CN": "合计", "zh_HK": "合計", "en": "Total"}.get(lang, "合计")
        out = []
        for c in self.columns:
            if not c.total:
                continue
            try:
                amount = sum((float(_cell(r, c.key) or 0) for r in self.rows), 0.0)
            except (TypeError, ValueError):  # an odd cell: no total rather than a wrong one
                continue
            label = f"{word} {c.title(lang)}" if lang == "en" else f"{c.title(lang)}{word}"
            out.append((label, format_value(amount if c.format == "money" else int(amount), c, lang)))
        return out

    def receipt_table(self, lang: str, limit: int = RECEIPT_ROWS) -> dict[str, object]:
        """The latest ``limit`` rows (by the first date column) with what the receipt layout
        needs per column: alignment (numbers right), priority, and which may wrap (text)."""
        dated = self._dated()
        rows = list(self.rows)
        if dated is not None:
            rows.sort(key=lambda r: str(r.get(dated.key) or ""), reverse=True)
        shown = rows[:limit]
        cols = self.columns
        return {
            "columns": [c.title(lang) for c in cols],
            "rows": [[format_value(r.get(c.key), c, lang) for c in cols] for r in shown],
            "align": ["right" if c.format in ("money", "number", "percent") else "left" for c in cols],
            "priority": [c.priority if c.priority is not None else 100 + i for i, c in enumerate(cols)],
            "wrap": [c.format == "text" for c in cols],
            "total_rows": self.total_rows, "shown_rows": len(shown),
            "more": max(self.total_rows - len(shown), 0),  # records the receipt leaves off
        }

    def _receipt_context(self, ctx: dict[str, object], lang: str,
                         template: str) -> dict[str, object]:
        table = self.receipt_table(lang) if self.kind == "table" else None
        more = bool(table and table["more"])
        ctx = {**ctx, "lines": self._lines(lang), "table": table, "period": self.period(lang),
               "totals": self.totals(lang), "total_rows": self.total_rows,
               "shown_rows": table["shown_rows"] if table else 0,
               "more_a4": more and bool(self.service.print_a4),
               "more_counter": more and not self.service.print_a4}
        if template in ("queue_ticket", "appointment"):
            ctx.update({k: v for k, v in self.fields.items() if isinstance(v, (str, int, float))})
            f = self.fields
            if template == "queue_ticket":  # names the receipt template uses
                ctx.update(number=f.get("ticket_number", self.reference),
                           time=_short_time(f.get("issued_at")), hall=f.get("hall", ""),
                           waiting=f.get("waiting", ""))
            else:
                ctx.update(place=f.get("hall", ""), slot=f"{f.get('date', '')} {f.get('time', '')}".strip())
        return ctx
