"""A4 the receipt's way: column widths from the content so no figure is ever wrapped or cut,
every record on as many pages as it takes (header repeated, "第 n 页 / 共 m 页"), the
period and totals, and the hall, 12345 and "扫码验真" under the QR on every page."""

from __future__ import annotations

import subprocess

import pytest

from kiosk.catalog.services import Catalog
from kiosk.documents.a4 import render_a4
from kiosk.documents.a4_templates import sample_a4_context

HALL = {"hall": "越秀区政务服务中心", "hall_address": "广州市越秀区示例大道 100 号", "hotline": "12345"}
PAGE = {"zh_CN": "第 {n} 页 / 共 {m} 页", "zh_HK": "第 {n} 頁 / 共 {m} 頁", "en": "Page {n} of {m}"}
SCAN = {"zh_CN": "扫码验真", "zh_HK": "掃碼驗證", "en": "Scan to verify"}
HEAD = {"zh_CN": "个人缴费", "zh_HK": "個人繳費", "en": "Personal"}


def squash(text: str) -> str:
    return "".join(text.split())


def pages_text(pdf: bytes, tmp_path) -> list[str]:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    return [p for p in out.split("\f") if p.strip()]


def long_payments(n: int) -> dict[str, object]:
    ctx = sample_a4_context("social_insurance_payments", rows=n)
    for i, rec in enumerate(ctx["records"]):  # type: ignore[attr-defined]
        rec["base"] = f"{9_876_543_210.98 - i:,.2f}"
        rec["employer_part"] = f"{1_234_567_890.12 + i:,.2f}"
        rec["personal_part"] = f"{987_654_321.09 + i:,.2f}"
    return {**ctx, **HALL}


@pytest.mark.parametrize("lang", ["zh_CN", "zh_HK", "en"])
def test_every_figure_prints_whole_on_every_page_with_hall_and_page_numbers(lang, tmp_path):
    ctx = long_payments(120)
    pages = pages_text(render_a4("social_insurance_payments", ctx, lang), tmp_path)
    assert len(pages) >= 3, "120 records take several pages"
    text = "\n".join(pages)
    for rec in ctx["records"]:  # type: ignore[attr-defined]
        for key in ("base", "employer_part", "personal_part"):
            assert rec[key] in text, f"{rec[key]} split or cut"
    employer = sum(float(r["employer_part"].replace(",", "")) for r in ctx["records"])  # type: ignore[attr-defined]
    assert f"{employer:,.2f}" in text, "the total over all records, whole"
    assert squash(str(ctx["period"])) in squash(pages[0])
    for n, page in enumerate(pages, start=1):
        flat = squash(page)
        assert squash(PAGE[lang].format(n=n, m=len(pages))) in flat
        assert squash(HEAD[lang]) in flat, f"page {n} repeats the table header"
        for value in (*HALL.values(), SCAN[lang]):
            assert squash(value) in flat, (n, value)


def test_english_documents_use_english_punctuation(tmp_path):
    """"Terminal：GZ-…" and "Name：" took the Chinese full-width colon into English; the
    Chinese documents keep it."""
    for lang in ("en", "zh_CN"):
        ctx = {**sample_a4_context("social_insurance_certificate"), **HALL}
        text = "\n".join(pages_text(render_a4("social_insurance_certificate", ctx, lang), tmp_path))
        if lang == "en":
            assert "：" not in text, [ln for ln in text.splitlines() if "：" in ln]
            assert "Terminal: " in text and "Service hotline: 12345" in text
        else:
            assert "终端编号：" in squash(text) and "政务服务热线：12345" in squash(text)


@pytest.mark.parametrize("lang", ["zh_CN", "zh_HK", "en"])
def test_the_a4_names_amounts_and_status_as_the_screen_and_receipt_do(lang, tmp_path):
    """The screen's 个人缴费 / 单位缴费 / 缴费状态 were 个人缴纳 / 单位缴纳 / 到账情况 on A4, over
    values that read 已缴费: one document, two vocabularies."""
    screen = {c.key: c.title(lang) for c in Catalog.load().get("rs_jfmx").result.columns}
    ctx = {**sample_a4_context("social_insurance_payments", rows=3), **HALL}
    header = next(p for p in pages_text(render_a4("social_insurance_payments", ctx, lang), tmp_path))
    for key in ("employer_part", "personal_part", "paid"):
        assert screen[key] in header, (key, screen[key])
