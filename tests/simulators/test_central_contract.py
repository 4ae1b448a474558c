"""The simulator conforms to config/central-api.json: every operation is called (through the
real client where one exists) and each reply is validated against the document's schema."""

from __future__ import annotations

import base64
import io
import json

import jsonschema
import pytest
import requests
from PIL import Image

from kiosk.paths import CONFIG_DIR
from tests.fixtures.central import PENSIONER, next_weekday

DOC = json.loads((CONFIG_DIR / "central-api.json").read_text(encoding="utf-8"))
OPERATIONS = {op["operationId"]: (method.upper(), path, op)
              for path, item in DOC["paths"].items() for method, op in item.items()}


def validate(operation_id: str, status: int, body) -> None:
    _, _, op = OPERATIONS[operation_id]
    response = op["responses"][str(status)]
    schema = next(iter(response["content"].values()))["schema"]
    validator = jsonschema.Draft202012Validator({**schema, "components": DOC["components"]},
                                                format_checker=jsonschema.FormatChecker())
    validator.validate(body)


@pytest.fixture
def recorder(central_client, monkeypatch):
    """Capture every raw reply the client receives: (operationId, status, JSON body)."""
    seen: list[tuple[str, int, object]] = []
    original = central_client._send_once

    def send(method, target, data, timeout, extra):
        try:
            resp = original(method, target, data, timeout, extra)
        except Exception as exc:
            seen.append((_operation(method, target), getattr(exc, "status", None), None))
            raise
        body = resp.json() if resp.headers.get("Content-Type", "").startswith("application/json") else resp.content
        seen.append((_operation(method, target), resp.status_code, body))
        return resp

    monkeypatch.setattr(central_client, "_send_once", send)
    return seen


def _operation(method: str, target: str) -> str:
    import re

    path = target.split("?")[0]
    for op_id, (op_method, template, _) in OPERATIONS.items():
        pattern = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)) + "$"
        if op_method == method and re.match(pattern, path):
            return op_id
    raise AssertionError(f"{method} {path} is not in the contract")


def _jpeg() -> str:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (90, 90, 90)).save(out, "JPEG")
    return base64.b64encode(out.getvalue()).decode()


def test_contract_document_is_valid_openapi_31_schemas():
    assert DOC["openapi"].startswith("3.1")
    for name, schema in DOC["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema), name


def test_every_operation_conforms(central_sim, central_client, recorder):
    c = central_client
    central_sim.admin("/_admin/enrolment-codes", {"code": "E-1", "terminal_id": "GZ-NEW-0009"})
    c.enroll("E-1")
    c.verify_identity(PENSIONER, face_jpeg=base64.b64decode(_jpeg()))
    c.verify_identity(PENSIONER)
    c.verify_face(PENSIONER, base64.b64decode(_jpeg()))
    for sid, inputs in [("rs_jfmx", {}), ("rs_cbzm", {}), ("hall_bjjd", {"application_number": "GZ20261124000123"}),
                        ("hz_hjzm", {})]:
        reply = c.query(sid, PENSIONER, inputs)
    c.fetch_document(reply["document_id"])
    c.submit("rs_sbk_sl", PENSIONER, {"mobile": "13800138000"})
    c.queue_ticket("shebao")
    slots = c.appointment_slots("shebao", next_weekday())
    free = next(s for s in slots["slots"] if s["available"])
    c.book_appointment(free["slot_id"], PENSIONER, business="shebao", mobile="13800138000")
    c.evaluate({"rating": "satisfied", "service_id": "rs_jfmx"})
    c.upload_transactions([{"key": "t1", "stream": "audit", "created_at": "2026-11-24T10:00:00", "payload": {}}])
    c.heartbeat({"queue_depth": 0, "uptime_s": 12.5})
    c.update_metadata()

    called = {op for op, _, _ in recorder}
    assert called == set(OPERATIONS), set(OPERATIONS) - called
    for op, status, body in recorder:
        if op == "fetchDocument":
            assert body.startswith(b"%PDF-")
            continue
        validate(op, status, body)


def _raw(sim, method: str, target: str, body=None, *, sign: bool = True) -> requests.Response:
    from kiosk.central.signing import load_key, sign_headers
    from tests.fixtures.central import DEMO_KEY_FILE, DEMO_TERMINAL

    data = b"" if body is None else json.dumps(body).encode()
    headers = sign_headers(DEMO_TERMINAL, load_key(DEMO_KEY_FILE), method, target, data) if sign else {}
    return requests.request(method, sim.url + target, data=data or None, headers=headers, timeout=5)


@pytest.mark.parametrize("case,op,status", [
    ("unknown_service", "queryService", 404),
    ("not_eligible", "queryService", 403),
    ("bad_business", "takeTicket", 400),
    ("unsigned", "updateMetadata", 401),
    ("rate_limited", "queryService", 429),
    ("down", "updateMetadata", 503),
    ("no_document", "fetchDocument", 404),
    ("no_slot", "bookAppointment", 404),
])
def test_error_replies_conform(central_sim, central_client, case, op, status):
    from tests.fixtures.central import YOUNG

    young = {"identity": {"id_number": YOUNG.id_number, "name": YOUNG.name}, "inputs": {"year": "2025"}}
    me = {"identity": {"id_number": PENSIONER.id_number}, "inputs": {}}
    if case == "rate_limited":
        central_sim.faults(rate_limited=True)
    if case == "down":
        central_sim.faults(down=True)
    resp = {
        "unknown_service": lambda: _raw(central_sim, "POST", "/v1/services/nope:query", me),
        "not_eligible": lambda: _raw(central_sim, "POST", "/v1/services/rs_ylj_ff:query", young),
        "bad_business": lambda: _raw(central_sim, "POST", "/v1/queue/tickets", {"business": "casino"}),
        "unsigned": lambda: _raw(central_sim, "GET", "/v1/updates", sign=False),
        "rate_limited": lambda: _raw(central_sim, "POST", "/v1/services/rs_cbzm:query", me),
        "down": lambda: _raw(central_sim, "GET", "/v1/updates"),
        "no_document": lambda: _raw(central_sim, "GET", "/v1/documents/DNOPE"),
        "no_slot": lambda: _raw(central_sim, "POST", "/v1/appointments", {"slot_id": "x", "business": "shebao"}),
    }[case]()
    assert resp.status_code == status
    assert str(status) in OPERATIONS[op][2]["responses"], "the contract must declare this status"
    validate(op, status, resp.json())
    if case == "rate_limited":
        assert resp.headers["Retry-After"] == "2"
