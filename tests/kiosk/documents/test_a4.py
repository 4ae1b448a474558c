"""A4 documents: every template renders to a PDF whose text (pdftotext) carries the title,
masked ID, verification code, terminal, time, page numbers and the self-service marking;
long tables repeat their header on every page; printed through a real CUPS PDF queue."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from drivers.document_printer import DocumentPrinter
from kiosk.documents.a4 import render_a4, wrap_text
from kiosk.documents.a4_templates import A4TemplateError, a4_template_names, sample_a4_context

TITLES = {  # by hand, not from the templates
    ("social_insurance_certificate", "zh_CN"): "个人社会保险参保证明",
    ("social_insurance_certificate", "zh_HK"): "個人社會保險參保證明",
    ("social_insurance_payments", "zh_CN"): "个人社保缴费明细",
    ("social_insurance_payments", "zh_HK"): "個人社保繳費明細",
    ("tax_certificate", "zh_CN"): "个人完税证明", ("tax_certificate", "zh_HK"): "個人完稅證明",
    ("property_search", "zh_CN"): "不动产登记查册结果",
    ("property_search", "zh_HK"): "不動產登記查冊結果",
}
for (name, _), _title in list(TITLES.items()):
    TITLES[name, "en"] = TITLES[name, "zh_CN"]  # English documents keep the official title


def squash(text: str) -> str:
    """pdftotext drops or adds spaces between CJK and digits: compare without them."""
    return "".join(text.split())


def pdf_text(path_or_bytes: Path | bytes, tmp_path: Path, page: int | None = None) -> str:
    path = path_or_bytes
    if isinstance(path_or_bytes, bytes):
        path = tmp_path / "doc.pdf"
        path.write_bytes(path_or_bytes)
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", "-layout", *pages, str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def page_count(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "count.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True)
    return int(next(ln.split()[-1] for ln in info.stdout.splitlines() if ln.startswith("Pages:")))


@pytest.mark.parametrize(("template", "lang"), sorted(TITLES))
def test_document_text(template, lang, tmp_path):
    ctx = sample_a4_context(template)
    pdf = render_a4(template, ctx, lang)
    text = pdf_text(pdf, tmp_path)
    pages = page_count(pdf, tmp_path)
    assert TITLES[template, lang] in text
    assert "自助终端打印" in text or "自助終端列印" in text
    assert ctx["verification_code"] in text and "GZ-TH-0042" in text
    assert "2026-11-24 09:30:15" in text
    assert ctx["id_number"][:6] + "********" + ctx["id_number"][-4:] in text
    assert ctx["id_number"] not in text  # never the full ID number
    assert {"zh_CN": f"第1页/共{pages}页", "zh_HK": f"第1頁/共{pages}頁",
            "en": f"Page1of{pages}"}[lang] in squash(text)


def test_long_table_spans_pages_and_repeats_its_header(tmp_path):
    pdf = render_a4("social_insurance_payments", sample_a4_context("social_insurance_payments",
                                                                   rows=70), "zh_CN")
    pages = page_count(pdf, tmp_path)
    assert pages >= 3
    for n in range(1, pages + 1):
        text = pdf_text(pdf, tmp_path, n)
        assert "费款所属期" in text and "个人缴费" in text, f"page {n} lacks the table header"
        assert f"第{n}页/共{pages}页" in squash(text)
        assert "8K3Q-7Z2M-XP41" in text
    assert "（续）" in pdf_text(pdf, tmp_path, 2)
    last = pdf_text(pdf, tmp_path, pages)
    assert "合计" in last and "以上信息来源于社会保险信息系统" in last


def test_totals_are_summed(tmp_path):
    ctx = sample_a4_context("tax_certificate", rows=2)  # 120.00 + 123.50
    assert "243.50" in pdf_text(render_a4("tax_certificate", ctx, "zh_CN"), tmp_path)


def test_every_template_renders_in_every_language():
    for name in a4_template_names():
        for lang in ("zh_CN", "zh_HK", "en"):
            ctx = sample_a4_context(name) | {"queue": "q"}
            assert render_a4(name, ctx, lang).startswith(b"%PDF-")


def test_missing_verification_code_is_refused():
    ctx = sample_a4_context("tax_certificate")
    del ctx["verification_code"]
    with pytest.raises(A4TemplateError, match="verification_code"):
        render_a4("tax_certificate", ctx, "zh_CN")
    with pytest.raises(A4TemplateError, match="tax_certificate"):
        render_a4("no_such_document", ctx, "zh_CN")


def test_wrapping_breaks_between_cjk_and_at_latin_spaces():
    lines = wrap_text("粤(2019)广州市不动产权第12345670号", 9, 60)
    assert len(lines) > 1 and "".join(lines) == "粤(2019)广州市不动产权第12345670号"
    assert wrap_text("The quick brown fox", 9, 45) == ["The quick", "brown fox"]


def test_printed_through_the_cups_pdf_queue(cups_pdf_queue, tmp_path):
    ctx = sample_a4_context("social_insurance_payments", rows=40)
    pdf = render_a4("social_insurance_payments", ctx, "zh_HK")
    printer = DocumentPrinter(cups_pdf_queue.uri)
    printer.open()
    try:
        assert printer.print_job("a4-payments-1", pdf).status == "ok"
    finally:
        printer.close()
    out = cups_pdf_queue.wait_for_pdf(timeout=60)
    text = pdf_text(out, tmp_path)
    assert "個人社保繳費明細" in text and "8K3Q-7Z2M-XP41" in text and "第2頁/共2頁" in squash(text)
    # what came out of the queue looks like what went in
    source = tmp_path / "source.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(source),
                    str(tmp_path / "src")], check=True)
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(out),
                    str(tmp_path / "cups")], check=True)
    src = Image.open(next(tmp_path.glob("src*.png"))).convert("L")
    got = Image.open(next(tmp_path.glob("cups*.png"))).convert("L").resize(src.size)
    assert ImageStat.Stat(ImageChops.difference(src, got)).mean[0] < 8
    assert ImageStat.Stat(got).mean[0] < 250  # not a blank page
