"""``fleet/fleet-api.json`` is exact: a valid OpenAPI 3.1 document with the one Error body,
times with offsets, examples that keep their own schemas — and what the real service answers
(on SQLite and PostgreSQL) is what the document says, status and body, for successes and
refusals alike."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import jsonschema
import pytest
import requests

from fleet.api import API_DOC, TerminalApi
from fleet.settings import Settings

from .conftest import healthy

DOC = json.loads(API_DOC.read_text(encoding="utf-8"))
COMPONENTS = DOC["components"]
OFFSET_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
FORMATS = jsonschema.FormatChecker(())
FORMATS.checks("date-time")(lambda v: not isinstance(v, str) or bool(OFFSET_TIME.fullmatch(v)))
OPERATIONS = {op["operationId"]: (method.upper(), path, op)
              for path, item in DOC["paths"].items()
              for method, op in item.items() if method != "parameters"}


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**schema, "components": COMPONENTS},
                                           format_checker=FORMATS)


def test_the_document_is_openapi_31_with_one_error_body_and_the_app_serves_exactly_it():
    assert DOC["openapi"].startswith("3.1")
    for name, schema in COMPONENTS["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)
        for example in schema.get("examples", []):
            _validator(schema).validate(example), name
    for op_id, (method, _, op) in OPERATIONS.items():
        allow = op["responses"]["405"]["headers"]["Allow"]
        assert allow["required"] and allow["schema"]["const"] == method, op_id
        for status, response in op["responses"].items():
            if status[0] in "45":
                assert response["content"] == {"application/json": {"schema": {
                    "$ref": "#/components/schemas/Error"}}}, (op_id, status)
    served = {(route.path, method) for route in TerminalApi(None, Settings()).routes()  # type: ignore[arg-type]
              for method in route.methods or () if method != "HEAD"}
    assert served == {(path, method) for method, path, _ in OPERATIONS.values()}


def test_every_time_field_is_a_date_time_with_offset_and_examples_keep_their_schemas():
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, sub in (node.get("properties") or {}).items():
                if key.endswith("_at") or key.endswith("_time"):
                    assert sub.get("format") == "date-time", f"{where}.{key}"
            for key, sub in node.items():
                walk(sub, f"{where}.{key}")
        elif isinstance(node, list):
            for sub in node:
                walk(sub, where)

    walk(COMPONENTS["schemas"], "schemas")
    for op_id, (_, _, op) in OPERATIONS.items():
        for media in op["requestBody"]["content"].values():
            if "example" in media:
                _validator(media["schema"]).validate(media["example"]), op_id
        for status, response in op["responses"].items():
            for media in (response.get("content") or {}).values():
                if "example" in media:
                    _validator(media["schema"]).validate(media["example"]), (op_id, status)
    with pytest.raises(jsonschema.ValidationError):  # a time without its offset is refused
        _validator({"$ref": "#/components/schemas/TelemetryItem"}).validate(
            {"kind": "visit", "service": "hukou-cert", "at": "2026-12-01T09:12:00"})


def _documented(op_id: str, reply: requests.Response) -> None:
    _, _, op = OPERATIONS[op_id]
    status = str(reply.status_code)
    assert status in op["responses"], (op_id, status, reply.text)
    schema = op["responses"][status]["content"]["application/json"]["schema"]
    _validator(schema).validate(reply.json())


def test_what_the_service_answers_is_what_the_document_says(fleet):
    enrol = requests.post(fleet.url + "/v1/enroll", json={"code": fleet.code(group="canary")},
                          timeout=30)
    _documented("enroll", enrol)
    _documented("enroll", requests.post(fleet.url + "/v1/enroll", json={"code": "NOPE"},
                                        timeout=30))
    _documented("enroll", requests.post(fleet.url + "/v1/enroll", json={"code": 1}, timeout=30))
    _documented("enroll", requests.post(fleet.url + "/v1/enroll", data=b"x" * 5000,
                                        headers={"Content-Type": "application/json"},
                                        timeout=30))
    from .conftest import Terminal

    t = Terminal(fleet.url, enrol.json()["terminal_id"], bytes.fromhex(enrol.json()["key"]))
    other = fleet.enrol()
    cid = fleet.queue(t.id, "take_screenshot")
    from fleet import store

    with fleet.engine.begin() as conn:
        rid = store.create_rollout(conn, "software", "0.2.0", [("canary", {"group": "canary"})],
                                   actor="a", now=time.time())
        store.advance_rollout(conn, rid, actor="a", now=time.time())
    beat = t.beat()
    _documented("heartbeat", beat)
    assert beat.json()["commands"][0]["id"] == cid and beat.json()["targets"]
    _documented("heartbeat", t.beat({**healthy(), "uptime_s": -1}))
    _documented("heartbeat", t.beat(nonce="same-nonce-01"))
    _documented("heartbeat", t.beat(nonce="same-nonce-01"))
    _documented("heartbeat", other.post(f"/v1/terminals/{t.id}/heartbeat", b"{}"))
    _documented("heartbeat", t.beat({**healthy(), "acks": [{"id": "0" * 32, "ok": True}]}))
    _documented("ackCommand", t.ack(cid, ok=True))
    _documented("ackCommand", t.ack("f" * 32, ok=True))
    _documented("ackCommand", t.post(f"/v1/terminals/{t.id}/commands/{cid}/ack", b"{}"))
    batch = {"batch_id": "b1", "items": [{"kind": "rating", "service": "hukou-cert",
                                          "at": "2026-12-01T09:12:00+08:00", "rating": 4}]}
    _documented("telemetry", t.post(f"/v1/terminals/{t.id}/telemetry", json.dumps(batch).encode()))
    _documented("telemetry", t.post(f"/v1/terminals/{t.id}/telemetry", json.dumps(
        {"batch_id": "b2", "items": [{"kind": "rating", "service": "x",
                                      "at": "2026-12-01T09:12:00+08:00"}]}).encode()))
    _documented("diagnostics", t.post(f"/v1/terminals/{t.id}/diagnostics",
                                      json.dumps({"logs": ["ok"]}).encode()))
    _documented("diagnostics", t.post(f"/v1/terminals/{t.id}/diagnostics",
                                      json.dumps({"logs": "not a list"}).encode()))
    _documented("screenshot", t.post(f"/v1/terminals/{t.id}/screenshot",
                                     b"\x89PNG\r\n\x1a\n" + b"\0" * 8, content_type="image/png"))
    _documented("screenshot", t.post(f"/v1/terminals/{t.id}/screenshot", b"\0" * 8,
                                     content_type="image/jpeg"))
    _documented("screenshot", t.post(f"/v1/terminals/{t.id}/screenshot",
                                     b"\x89PNG\r\n\x1a\n" + b"\0" * (4 * 1024 * 1024),
                                     content_type="image/png"))
    _documented("heartbeat", requests.get(fleet.url + f"/v1/terminals/{t.id}/heartbeat",
                                          timeout=30))


def test_the_heartbeat_the_kiosk_builds_today_is_accepted(fleet):
    """The terminal's own payload (kiosk.ops.heartbeat), device statuses as drivers report
    them, signed by the kiosk's signer: the fleet must take it as it is."""
    from drivers.base import DeviceState, DeviceStatus
    from kiosk.ops.heartbeat import Heartbeat, TerminalFacts

    class Printer:  # only its status() is read by the heartbeat
        def status(self) -> DeviceStatus:
            return DeviceStatus(DeviceState.ERROR, "paper_out", "纸仓空")

    t = fleet.enrol()
    facts = TerminalFacts(devices={"receipt_printer": Printer()},  # type: ignore[dict-item]
                          versions=lambda: {"catalog": "12", "config": "/etc/kiosk/kiosk.toml"},
                          counters=lambda: {"visits": 3}, left_behind=lambda: ["id_card"])
    payload = Heartbeat(None, facts, terminal_id=t.id).payload()  # type: ignore[arg-type]
    reply = t.beat(payload)
    assert reply.status_code == 200, reply.text
    assert [a["code"] for a in fleet.alerts(terminal_id=t.id)] == ["paper_out"]
