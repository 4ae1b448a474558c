"""Honest receipts: a value is never split or cut, columns that do not fit are left off and
named, the receipt says when it lists fewer records than were found, and it carries the
query period, the totals over every record, the hall, the terminal and the 12345 hotline."""

from __future__ import annotations

import datetime as dt
import re
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.escpos_elements import Table
from drivers.escpos_layout import PrintLine, fit_table, layout, text_cells, wrap
from drivers.receipt_printer import ReceiptPrinter, load_profile
from kiosk.catalog.services import Catalog, CatalogError, Column, Service, load_department_file
from kiosk.documents.receipts import RECEIPTS_DIR, render_receipt
from kiosk.paths import CONFIG_DIR
from kiosk.visit.effects import VisitEffects
from kiosk.visit.service_result import ServiceResult

LANGS = ("zh_CN", "zh_HK", "en")
HALL = {"hall": "越秀区政务服务中心", "hall_address": "广州市越秀区示例大道 100 号", "hotline": "12345"}
CATALOG = Catalog.load()
TABLE_SERVICES = sorted((s for s in CATALOG.services if s.result.kind == "table" and s.print_receipt),
                        key=lambda s: s.id)
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
WORD = st.text(st.characters(min_codepoint=ord("a"), max_codepoint=ord("z")), min_size=1, max_size=12)


def squash(text: str) -> str:
    return "".join(text.split())


def cell_value(column: Column) -> st.SearchStrategy[object]:
    """Synthetic values as central might send them, long ones included."""
    fmt = column.format
    if fmt == "money":
        return st.floats(min_value=0, max_value=99_999_999.99, allow_nan=False)
    if fmt == "number":
        return st.integers(min_value=0, max_value=999_999_999)
    if fmt == "percent":
        return st.floats(min_value=0, max_value=100, allow_nan=False)
    if fmt == "month":
        return st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)).map(lambda d: d.strftime("%Y-%m"))
    if fmt == "date":
        return st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)).map(dt.date.isoformat)
    if fmt == "datetime":
        return st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2030, 12, 31)).map(
            lambda d: d.isoformat(timespec="seconds"))
    if fmt == "status":
        return st.sampled_from(sorted(column.values))
    # text: long names of hospitals, employers, places; Chinese or words with spaces
    return st.one_of(st.text(CJK, min_size=1, max_size=22),
                     st.lists(WORD, min_size=1, max_size=6).map(" ".join))


def result_for(service: Service, rows: list[dict], inputs: dict[str, str] | None = None,
               total: int | None = None) -> ServiceResult:
    return ServiceResult(service, "table", "GZ20261201000777", rows,
                         len(rows) if total is None else total, {}, None, None,
                         dt.datetime(2026, 12, 1, 9, 30), inputs=inputs or {})


def receipt_lines(result: ServiceResult, lang: str, columns: int) -> tuple[list[str], Table]:
    request = result.print_request(lang, None, "GZ-DEMO-0001", kind="receipt")
    assert request is not None
    doc = render_receipt(request.template, {**HALL, **request.context}, lang)
    table = next(e for e in doc.elements if isinstance(e, Table))
    return [b.text for b in layout(doc, columns) if isinstance(b, PrintLine)], table


@pytest.mark.parametrize("service", TABLE_SERVICES, ids=lambda s: s.id)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), lang=st.sampled_from(LANGS), paper=st.sampled_from([32, 48]))
def test_every_value_of_every_catalog_table_prints_whole_on_one_line(service, data, lang, paper):
    cols = service.result.columns
    rows = data.draw(st.lists(st.fixed_dictionaries({c.key: cell_value(c) for c in cols}),
                              min_size=1, max_size=16))
    lines, table = receipt_lines(result_for(service, rows), lang, paper)
    for line in lines:
        assert text_cells(line) <= paper, f"line wider than the paper: {line!r}"
    fit = fit_table(table, paper)
    first = min(range(len(cols)), key=lambda i: (table.priority[i], i))
    assert first in fit.shown, "the most important column is always on the receipt"
    for i in fit.shown:
        for row in table.rows:
            value = row[i]
            if cols[i].format == "text":  # free text may wrap, at spaces or between CJK only
                for word in value.split():
                    if word.isascii():
                        assert any(word in line for line in lines), (cols[i].key, word, lines)
            else:
                assert any(value in line for line in lines), (cols[i].key, value, lines)
    if fit.left_off:
        note = squash("".join(lines))
        for i in fit.left_off:
            assert squash(table.columns[i]) in note, f"left-off column {cols[i].key} not named"


def test_a_long_amount_is_never_split_across_lines():
    """The fault residents saw: "¥24,93 / 0.00" read as ¥24.93."""
    service = CATALOG.get("rs_jfmx")
    rows = [{"month": "2026-10", "insurance": "unemployment", "base": 24930.0,
             "personal_part": 12345678.9, "employer_part": 23456789.01, "paid": "makeup"}]
    whole = {"¥24,930.00", "¥12,345,678.90", "¥23,456,789.01"}
    for paper in (32, 48):
        for lang in LANGS:
            lines, _ = receipt_lines(result_for(service, rows), lang, paper)
            start = next(k for k, ln in enumerate(lines) if ln.startswith(("2026年10月", "Oct 2026")))
            table_text = "\n".join(lines[start:start + 3])  # the record and what may wrap below it
            amounts = set(re.findall(r"¥[\d,.]*|\b[\d,]+\.\d\d\b", table_text))
            assert amounts <= whole, (lang, paper, table_text)
            if paper == 48:
                assert "¥12,345,678.90" in lines[start], "the personal part is on the record's line"


def payments(months: int) -> list[dict]:
    """rs_jfmx rows: four insurances a month, newest month first, as central sends them."""
    rates = {"pension": (0.08, 0.14), "medical": (0.02, 0.055), "unemployment": (0.002, 0.0032),
             "injury": (0.0, 0.002)}
    rows = []
    for k in range(months):
        month = dt.date(2026, 10, 1) - dt.timedelta(days=28 * k)
        for ins, (p, e) in rates.items():
            rows.append({"month": month.strftime("%Y-%m"), "insurance": ins, "base": 24930.0,
                         "personal_part": round(24930 * p, 2), "employer_part": round(24930 * e, 2),
                         "paid": "paid"})
    return rows


LEFT_OFF = {  # written out by hand, not read from the template
    "zh_CN": "共 40 条，本凭条列出最近 12 条，完整记录请选择 A4 打印",
    "zh_HK": "共 40 條，本回執列出最近 12 條，完整記錄請選擇 A4 列印",
    "en": "Showing the latest 12 of 40 records. Print on A4 for all.",
}
PERIOD = {"zh_CN": "2025年1月 至 2026年10月", "zh_HK": "2025年1月 至 2026年10月",
          "en": "Jan 2025 to Oct 2026"}
SCAN = {"zh_CN": "扫码验真", "zh_HK": "掃碼驗證", "en": "Scan to verify"}


@pytest.fixture
def printer(printer_sim):
    with ReceiptPrinter(printer_sim.uri, profile=load_profile("80mm-cjk")) as p:
        yield p


def test_forty_records_print_twelve_and_say_so_with_period_totals_and_hall(printer, printer_sim):
    service = CATALOG.get("rs_jfmx")
    rows = payments(10)  # 40 records
    personal = sum(r["personal_part"] for r in rows)
    effects = VisitEffects(None, terminal_id="GZ-DEMO-0001", receipt_printer=printer,  # type: ignore[arg-type]
                           hall=HALL)
    for n, lang in enumerate(LANGS):
        result = result_for(service, rows, inputs={"period": "2025-01/2026-10"})
        effects.print_result(service, result, None, lang, f"job-{n}")
    texts = printer_sim.wait_jobs(3)
    for lang, text in zip(LANGS, texts, strict=True):
        flat = squash(text)
        assert squash(LEFT_OFF[lang]) in flat, text
        assert squash(PERIOD[lang]) in flat
        assert f"¥{personal:,.2f}" in text, "the total is over all 40 records, not the 12 listed"
        for value in (*HALL.values(), "GZ-DEMO-0001", "GZ20261201000777", SCAN[lang]):
            assert squash(value) in flat, (lang, value)
        assert re.search(r"2\d{3}-\d\d-\d\d \d\d:\d\d", text), "print time with its date"
        listed = [ln for ln in text.splitlines() if re.match(r"(\d{4}年\d+月|[A-Z][a-z]{2} \d{4}) ", ln)]
        assert len(listed) == 12
        assert listed[0].startswith(("2026年10月", "Oct 2026")), "the latest records are listed"
        qr = text.index("[QR:")
        assert squash(SCAN[lang]) in squash(text[qr:qr + 200]), "the caption is under the QR"


def test_a_short_result_has_no_left_off_line_and_its_period_comes_from_the_rows():
    service = CATALOG.get("rs_jfmx")
    rows = payments(3)  # 12 records: all listed
    for lang in LANGS:
        lines, _ = receipt_lines(result_for(service, rows), lang, 48)
        flat = squash("".join(lines))
        assert "最近" not in flat and "latest" not in flat
        assert squash({"zh_CN": "2026年8月 至 2026年10月", "zh_HK": "2026年8月 至 2026年10月",
                       "en": "Aug 2026 to Oct 2026"}[lang]) in flat
        assert f"¥{sum(r['employer_part'] for r in rows):,.2f}" in flat


def test_a_total_on_a_text_column_is_refused_with_the_field_named(tmp_path):
    text = (CONFIG_DIR / "services" / "rs.toml").read_text("utf-8")
    bad = tmp_path / "rs.toml"
    bad.write_text(text.replace('format = "month"\npriority = 1', 'format = "month"\ntotal = true', 1),
                   encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_department_file(bad)
    assert "rs_jfmx" in str(err.value) and "only a money or number column" in str(err.value)
    _, services = load_department_file(CONFIG_DIR / "services" / "rs.toml")
    jfmx = next(s for s in services if s.id == "rs_jfmx")
    assert [c.key for c in jfmx.result.columns if c.total] == ["personal_part", "employer_part"]


def test_hong_kong_documents_say_lie_yin_never_da_yin():
    """zh_HK in one written Hong Kong usage: 列印, never the mainland 打印."""
    found = []
    for path in sorted((CONFIG_DIR / "templates").glob("*/*.toml")):
        for m in re.finditer(r'zh_HK = "([^"]*)"', path.read_text("utf-8")):
            if "打印" in m[1]:
                found.append(f"{path.name}: {m[1]}")
        data = tomllib.loads(path.read_text("utf-8"))
        for key, texts in data.get("labels", {}).items():
            if "打印" in texts.get("zh_HK", ""):
                found.append(f"{path.name}: {key}")
    for line in (CONFIG_DIR / "i18n" / "zh_HK.toml").read_text("utf-8").splitlines():
        if "打印" in line:
            found.append(f"zh_HK.toml: {line}")
    assert not found, found
    assert RECEIPTS_DIR.is_dir()


@pytest.mark.parametrize("text", ["本凭条未列出：缴费基数、单位缴费、缴费状态",
                                  "共 40 条，本凭条列出最近 12 条，完整记录请选择 A4 打印",
                                  "請攜帶本人身份證件按時到場。請攜帶本人身份證件按時到場。"])
def test_no_printed_line_starts_with_closing_punctuation(text):
    for paper in range(20, 49):
        lines = wrap(text, paper)
        assert "".join(lines).replace(" ", "") == text.replace(" ", ""), "nothing lost"
        assert not any(ln[:1] in "、，。：；！？）" for ln in lines), (paper, lines)
        assert all(text_cells(ln) <= paper for ln in lines)
