"""ServiceRun behaviour a resident notices: their own field's message, formatted money and
months, the spoken summary, what the receipt and the A4 page carry, and the refusals."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.catalog.services import Catalog
from kiosk.central.errors import NotEligible, NotFound
from kiosk.visit.service_result import format_value
from kiosk.visit.service_run import IdentityRequired, InputErrors, NoSlotAvailable, ServiceRun
from tests.fixtures.central import PENSIONER, YOUNG, synthetic_id, valid_inputs

CATALOG = Catalog.load()


def run(service_id: str, client) -> ServiceRun:
    return ServiceRun(CATALOG.get(service_id), client)


@pytest.mark.parametrize("service_id,field_name,bad", [
    ("jy_xjxx", "child_id", "440106201509014012"),       # wrong check digit
    ("jy_xjxx", "child_id", synthetic_id("44010620151341401")),  # valid check digit, 13th month
    ("rs_sbk_sl", "mobile", "1380013800"),
    ("jg_wfcx", "plate", "粤I12345"),                    # I is never used on plates
    ("hall_bjjd", "application_number", "GZ2026112400012"),
    ("rs_jfmx", "period", "2025-01/2024-12"),            # end before start
    ("rs_jfmx", "period", "2020-01/2024-12"),            # longer than 36 months
    ("rs_ylj_ff", "year", "1999"),
    ("crj_jl", "period", "2025-02-30/2025-03-01"),
    ("hall_yy", "date", (dt.date.today() - dt.timedelta(days=1)).isoformat()),
    ("hall_qh", "business", "casino"),
    ("sj_yyzz", "credit_code", "91440101MA5CUJ8T3"),
])
def test_invalid_input_gets_the_fields_own_message(service_id, field_name, bad):
    service = CATALOG.get(service_id)
    inputs = valid_inputs(service) | {field_name: bad}
    errors = ServiceRun(service, client=None).validate(inputs)
    field = next(f for f in service.inputs if f.name == field_name)
    assert errors == {field_name: field.errors}
    assert set(errors[field_name]) == {"zh_CN", "zh_HK", "en"}


def test_missing_required_field_and_optional_left_empty():
    service = CATALOG.get("rs_sbk_bh")
    errors = ServiceRun(service, None).validate({"reason": "lost"})
    assert list(errors) == ["mobile"]
    assert ServiceRun(CATALOG.get("rs_jfmx"), None).validate({}) == {}  # period is optional


def test_input_is_normalised_before_checking():
    service = CATALOG.get("jg_wfcx")
    assert ServiceRun(service, None).validate({"plate": " 粤a 12345 "}) == {}
    assert ServiceRun(service, None).clean({"plate": " 粤a 12345 "}) == {"plate": "粤A12345"}


def test_invalid_inputs_never_reach_central(central_client, central_sim):
    with pytest.raises(InputErrors) as info:
        run("rs_sbk_sl", central_client).execute(PENSIONER, {"mobile": "12"})
    assert list(info.value.errors) == ["mobile"]
    assert central_sim.admin("/_admin/received")["requests"] == []


def test_identity_required_for_a_carded_service(central_client):
    with pytest.raises(IdentityRequired):
        run("rs_cbzm", central_client).execute(None, {})


def test_contribution_details_formatted_and_summarised(central_client):
    year = dt.date.today().year - 1
    result = run("rs_jfmx", central_client).execute(PENSIONER, {"period": f"{year}-01/{year}-12"})
    headers, rows = result.table("zh_CN")
    assert headers == ["年月", "险种", "缴费基数", "个人缴费", "单位缴费", "缴费状态"]
    assert result.total_rows == len(rows) > 0
    assert all(r[0].startswith(f"{year}年") for r in rows)
    assert all(r[2].startswith("¥") and "." in r[2] for r in rows)
    assert {r[1] for r in rows} <= {"养老保险", "医疗保险", "失业保险", "工伤保险"}
    latest = max(row["month"] for row in result.rows)
    assert result.summary("zh_CN") == f"共 {result.total_rows} 条记录，最近一次 {latest[:4]}年{int(latest[5:])}月"
    assert result.summary("zh_HK").startswith(f"共 {result.total_rows} 條記錄")
    en_headers, en_rows = result.table("en")
    assert en_headers[0] == "Month" and en_rows[0][1] in {"Pension", "Medical", "Unemployment", "Work injury"}

    receipt = result.print_request("zh_CN", PENSIONER, "GZ-DEMO-0001")
    assert (receipt.kind, receipt.template) == ("receipt", "service_receipt")
    ctx = receipt.context
    assert ctx["masked_name"] == "陈**" and ctx["masked_id"] == PENSIONER.masked_id
    assert ctx["table"]["columns"] == headers and ctx["table"]["rows"] == rows[:12]
    assert ctx["table"]["more"] == max(len(rows) - 12, 0)
    assert ctx["progress_url"].endswith(result.reference)
    a4 = result.print_request("zh_CN", PENSIONER, "GZ-DEMO-0001", kind="a4")
    assert (a4.kind, a4.template) == ("a4", "social_insurance_payments")
    assert a4.context["table"]["rows"] == rows and a4.context["holder_id"] == PENSIONER.id_number


def test_many_pages_are_fetched(central_client, central_sim):
    # find a synthetic person with more than one page (100 rows) of contribution records
    for n in range(200):
        person = PENSIONER.__class__("resident", "测试", synthetic_id(f"440103196001{n:03d}01"[:17]))
        result = run("rs_jfmx", central_client).execute(person, {})
        if result.total_rows > 100:
            break
    else:
        pytest.fail("no synthetic person with two pages")
    assert len(result.rows) == result.total_rows
    pages = [r["body"]["page"] for r in central_sim.admin("/_admin/received?path=rs_jfmx")["requests"]]
    assert pages[-2:] == [1, 2]


def test_person_without_records_gets_a_plain_sentence(central_client):
    for n in range(300):
        person = PENSIONER.__class__("resident", "测试", synthetic_id(f"4401051970{n:05d}01"[:17]))
        result = run("rs_jfmx", central_client).execute(person, {})
        if result.total_rows == 0:
            break
    else:
        pytest.fail("no synthetic person without records")
    assert result.summary("zh_CN") == "没有查询到记录"
    assert result.summary("en") == "No records found"
    assert result.table("zh_CN")[1] == []


def test_not_a_pensioner_is_not_eligible(central_client):
    with pytest.raises(NotEligible) as info:
        run("rs_ylj_ff", central_client).execute(YOUNG, {"year": "2025"})
    assert info.value.message_key == "central.not_eligible"


def test_unknown_application_number(central_client):
    with pytest.raises(NotFound):
        run("hall_bjjd", central_client).execute(None, {"application_number": "GZ20261124000999"})


def test_no_slot_on_sunday(central_client):
    day = dt.date.today() + dt.timedelta(days=1)
    while day.weekday() != 6:
        day += dt.timedelta(days=1)
    service = CATALOG.get("hall_yy")
    inputs = valid_inputs(service) | {"date": day.isoformat()}
    with pytest.raises(NoSlotAvailable):
        ServiceRun(service, central_client).execute(PENSIONER, inputs)


def test_queue_ticket_print_context(central_client):
    result = run("hall_qh", central_client).execute(None, {"business": "shebao"})
    request = result.print_request("zh_CN", None, "GZ-DEMO-0001")
    assert request.template == "queue_ticket"
    assert request.context["ticket_number"].startswith("A") and "window" in request.context
    assert result.summary("zh_CN").startswith(f"您的号码是 {request.context['ticket_number']}")


def test_offline_queued_result_prints_offline_receipt():
    service = CATALOG.get("rs_sbk_sl")
    result = ServiceRun(service, None).queued_result({"mobile": "13800138000"}, "k-123")
    request = result.print_request("zh_CN", PENSIONER, "GZ-DEMO-0001")
    assert (request.kind, request.template) == ("receipt", "offline_receipt")
    assert request.context["reference"] == request.context["local_reference"] == "k-123"
    assert "k-123" in result.summary("zh_CN")
    from kiosk.documents.receipts import render_receipt

    assert render_receipt(request.template, request.context, "zh_CN").elements


@pytest.mark.parametrize("fmt,value,lang,shown", [
    ("money", 1234.5, "zh_CN", "¥1,234.50"),
    ("money", "0", "en", "¥0.00"),
    ("month", "2026-10", "zh_CN", "2026年10月"),
    ("month", "2026-03", "en", "Mar 2026"),
    ("date", "2026-10-05", "zh_HK", "2026-10-05"),
    ("datetime", "2026-10-05T09:30:12", "en", "2026-10-05 09:30"),
    ("number", 12345, "zh_CN", "12,345"),
    ("money", "abc", "zh_CN", "abc"),   # an odd value is shown as it came, never a crash
    ("month", None, "zh_CN", "—"),
])
def test_cell_formats(fmt, value, lang, shown):
    from kiosk.catalog.services import Column

    column = Column("x", {"zh_CN": "x", "zh_HK": "x", "en": "x"}, fmt)
    assert format_value(value, column, lang) == shown
