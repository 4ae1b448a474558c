"""Receipt templates: every template in every language prints, through the driver and the
printer simulator, with its labels, the context values and the QR code readable."""

from __future__ import annotations

import re
import tomllib

import pytest

from drivers.escpos_elements import Logo, Pair, QrCode, Table
from drivers.receipt_printer import ReceiptPrinter, load_profile
from kiosk.documents.receipts import (
    RECEIPTS_DIR,
    ReceiptTemplateError,
    render_receipt,
    sample_context,
    template_names,
)

LANGS = ("zh_CN", "zh_HK", "en")
HEADINGS = {  # written out by hand, not read from the templates
    ("queue_ticket", "zh_CN"): "排队小票", ("queue_ticket", "zh_HK"): "排隊小票",
    ("queue_ticket", "en"): "Queue ticket",
    ("service_receipt", "zh_CN"): "业务办理回执", ("service_receipt", "zh_HK"): "業務辦理回執",
    ("service_receipt", "en"): "Service receipt",
    ("appointment", "zh_CN"): "预约确认单", ("appointment", "zh_HK"): "預約確認單",
    ("appointment", "en"): "Appointment confirmation",
    ("offline_receipt", "zh_CN"): "离线受理回执", ("offline_receipt", "zh_HK"): "離線受理回執",
    ("offline_receipt", "en"): "Offline submission receipt",
}


def squash(text: str) -> str:
    return "".join(text.split())


def test_the_four_templates_exist():
    assert set(template_names()) >= {"queue_ticket", "service_receipt", "appointment",
                                     "offline_receipt"}


@pytest.fixture
def printer(printer_sim):
    with ReceiptPrinter(printer_sim.uri, profile=load_profile("80mm-cjk")) as p:
        yield p


@pytest.mark.parametrize("template", sorted({t for t, _ in HEADINGS}))
def test_every_template_prints_in_all_three_languages(template, printer, printer_sim):
    context = sample_context(template)
    for lang in LANGS:
        printer.print_job(f"{template}-{lang}", render_receipt(template, context, lang))
    texts = printer_sim.wait_jobs(3)
    data = tomllib.loads((RECEIPTS_DIR / f"{template}.toml").read_text("utf-8"))
    # a label used only under a "when" the sample leaves false (or naming what the layout
    # fills in) is not expected on paper
    shown = {key for el in data["body"] if not el.get("when") or context.get(el["when"])
             for v in el.values() if isinstance(v, str) for key in re.findall(r"\{@(\w+)\}", v)}
    for lang, text in zip(LANGS, texts, strict=True):
        flat = squash(text)
        assert squash(HEADINGS[template, lang]) in flat
        for key, label in data["labels"].items():
            if key not in shown or "{columns}" in label[lang]:
                continue
            expect = re.sub(r"\{(\w+)\}", lambda m: str(context[m[1]]), label[lang])
            assert squash(expect) in flat, f"{template}/{lang}: label {key} missing"
        assert "陈*明" in text or template == "queue_ticket"
        assert text.rstrip().endswith("[CUT]")
        assert "\ufffd" not in text and "?" not in text.replace("[QR:", "")


def test_service_receipt_carries_lines_table_qr_and_masked_id(printer, printer_sim):
    ctx = sample_context("service_receipt")
    printer.print_job("r1", render_receipt("service_receipt", ctx, "zh_HK"))
    text = printer_sim.wait_jobs(1)[0]
    assert f"[QR:{ctx['progress_url']}]" in text
    assert "[BARCODE:GZ20261124000123]" in text
    assert "440106********123X" in text
    lines = text.splitlines()
    assert any(ln.startswith("参保状态") and ln.endswith("正常参保") for ln in lines)
    assert any(ln.startswith("2026-10") and ln.endswith("412.80") for ln in lines)


def test_optional_lines_and_table_may_be_left_out():
    ctx = {k: v for k, v in sample_context("service_receipt").items() if k not in ("lines", "table")}
    doc = render_receipt("service_receipt", ctx, "en")
    assert not any(isinstance(e, Table) for e in doc.elements)
    assert any(isinstance(e, QrCode) for e in doc.elements)
    assert any(isinstance(e, Logo) for e in doc.elements)


def test_an_unmasked_id_number_is_masked_before_printing():
    ctx = sample_context("service_receipt") | {"masked_id": "44010619900101001X"}
    ctx["masked_id"] = ctx["masked_id"][:17] + _check(ctx["masked_id"][:17])
    doc = render_receipt("service_receipt", ctx, "zh_CN")
    values = [e.value for e in doc.elements if isinstance(e, Pair)]
    assert ctx["masked_id"] not in values
    assert "440106********" + ctx["masked_id"][-4:] in values


def _check(first17: str) -> str:
    from drivers.identity import id_number_check_digit
    return id_number_check_digit(first17)


def test_missing_context_key_and_unknown_template_are_typed_errors():
    with pytest.raises(ReceiptTemplateError, match="number"):
        render_receipt("queue_ticket", {"hall": "x", "waiting": 1, "time": "t"}, "en")
    with pytest.raises(ReceiptTemplateError, match="queue_ticket"):
        render_receipt("no_such", {}, "en")
    with pytest.raises(ReceiptTemplateError, match="language"):
        render_receipt("queue_ticket", sample_context("queue_ticket"), "fr")
