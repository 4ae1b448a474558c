"""Every catalog service runs end to end against the simulator process: valid inputs, the
central call, the result model in three languages, and a print request the printer can use."""

from __future__ import annotations

import pytest

from kiosk.catalog.services import LANGS, Catalog
from kiosk.visit.service_run import ServiceRun
from tests.fixtures.central import PENSIONER, valid_inputs

CATALOG = Catalog.load()
RECEIPT_KEYS = {"service_name", "masked_name", "masked_id", "reference", "terminal_id", "printed_at",
                "progress_url", "lines", "table"}


@pytest.mark.parametrize("service_id", [s.id for s in CATALOG.services])
def test_service_runs(central_client, service_id):
    service = CATALOG.get(service_id)
    run = ServiceRun(service, central_client)
    inputs = valid_inputs(service)
    assert run.validate(inputs) == {}
    identity = None if service.auth == "none" else PENSIONER
    result = run.execute(identity, inputs)

    assert result.kind == service.result.kind
    assert result.reference
    for lang in LANGS:
        sentence = result.summary(lang)
        assert sentence and "{" not in sentence
        headers, rows = result.table(lang)
        assert headers == [c.title(lang) for c in service.result.columns]
        assert all(len(r) == len(headers) for r in rows)
    if result.kind == "table":
        assert len(result.rows) == min(result.total_rows, 500)
    if result.kind in ("key_value", "document", "ticket"):
        assert result.key_values("zh_CN"), "a key-value result shows something"
    if result.kind == "timeline":
        steps = result.timeline("en")
        assert steps and all(len(step) == 3 for step in steps)
    if result.kind == "document":
        assert result.document_pdf.startswith(b"%PDF-")

    request = result.print_request("zh_CN", identity, "GZ-DEMO-0001")
    if service.print_receipt is None and service.print_a4 is None:
        assert request is None
        return
    assert request is not None
    if service.print_receipt:
        assert (request.kind, request.template) == ("receipt", service.print_receipt)
        assert RECEIPT_KEYS <= set(request.context)
        assert request.context["reference"] == result.reference
        if identity:
            assert request.context["masked_id"] == PENSIONER.masked_id
            assert PENSIONER.id_number not in str(request.context)  # receipts never carry the full number
        if request.context["table"]:
            assert len(request.context["table"]["rows"]) <= 12
        from kiosk.documents.receipts import render_receipt

        assert render_receipt(request.template, request.context, "zh_CN").elements  # no missing key
    if service.print_a4:
        a4 = result.print_request("en", identity, "GZ-DEMO-0001", kind="a4")
        assert (a4.kind, a4.template) == ("a4", service.print_a4)
        if service.print_a4 == "central_pdf":
            assert a4.context["pdf"].startswith(b"%PDF-")
