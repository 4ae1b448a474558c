"""The simulator holds config/central-api.json from the document itself: requests generated
from the document's schemas go to the real simulator process over HTTP, signed as a terminal
signs them; what is valid must get a documented 2xx whose body matches the documented reply,
what breaks a schema a documented 4xx with the one Error body. No request or reply shape is
written here by hand: it all comes from the document.

The strategies are our own small builder over the document's JSON Schemas (``_strategy``):
hypothesis-jsonschema 0.23 does not run on this hypothesis (it calls a removed internal), and
schemathesis would pull a framework and its own HTTP stack for 13 operations.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
import socket
import tomllib
from typing import Any
from urllib.parse import urlencode

import jsonschema
import pytest
import requests
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from kiosk.central.contract import operations, validate_response
from kiosk.central.signing import load_key, sign_headers
from kiosk.paths import CONFIG_DIR, SERVICES_DIR
from tests.fixtures.central import DEMO_KEY_FILE, DEMO_TERMINAL, PENSIONER

DOC = json.loads((CONFIG_DIR / "central-api.json").read_text(encoding="utf-8"))
COMPONENTS = DOC["components"]
OPERATIONS = {op_id: (op.method, op.template, op_spec)
              for op_id, op in operations().items()
              for op_spec in [DOC["paths"][op.template][op.method.lower()]]}
SERVICE_IDS = sorted(s["id"] for f in SERVICES_DIR.glob("*.toml")
                     for s in tomllib.loads(f.read_text(encoding="utf-8")).get("services", []))
KEY = load_key(DEMO_KEY_FILE)
OFFSET_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
LOOKS_LIKE_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
# Refusals the schemas cannot express (they depend on the platform's records): a schema-valid
# request may get these documented 4xx, by error code, and nothing else but a 2xx.
SEMANTIC = {
    "queryService": {"identity_required", "not_eligible", "no_such_application"},
    "submitApplication": {"identity_required", "not_eligible", "no_such_application"},
    "fetchDocument": {"no_such_document"},
    "bookAppointment": {"no_such_slot", "slot_full"},
    "identifyByCode": {"code_unknown", "code_used", "code_expired"},
}
FORMATS = jsonschema.FormatChecker(())
FORMATS.checks("date-time")(lambda v: not isinstance(v, str) or bool(OFFSET_TIME.fullmatch(v)))
FORMATS.checks("date")(lambda v: not isinstance(v, str) or bool(re.fullmatch(r"\d{4}-\d\d-\d\d", v)))


def _jpeg(colour: tuple[int, int, int]) -> str:
    out = io.BytesIO()
    Image.new("RGB", (24, 24), colour).save(out, "JPEG")
    return base64.b64encode(out.getvalue()).decode()


JPEGS = [_jpeg((90, 90, 90)), _jpeg((250, 10, 10))]  # the card holder, and "not the card holder"


def _validator(schema: dict) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**schema, "components": COMPONENTS}, format_checker=FORMATS)


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = COMPONENTS["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


_ANY_JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=12),
                         lambda inner: st.lists(inner, max_size=3)
                         | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)


def _strategy(schema: dict) -> st.SearchStrategy[Any]:
    """Values a JSON Schema of the document allows (the subset the document uses)."""
    schema = _resolve(schema)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema.get("contentMediaType") == "image/jpeg":
        return st.sampled_from(JPEGS)  # the schema cannot say "a real JPEG"; the platform can
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return st.one_of([_strategy(s) for s in schema[combinator]])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        low = schema.get("minimum", -1000)
        return st.integers(low, schema.get("maximum", low + 2000))
    if kind == "number":
        low = schema.get("minimum", -1000.0)
        return st.floats(low, schema.get("maximum", low + 2000.0), allow_nan=False)
    if kind == "string":
        return _string(schema)
    if kind == "array":
        return st.lists(_strategy(schema.get("items", {})), max_size=min(schema.get("maxItems", 4), 4))
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        fixed = st.fixed_dictionaries({k: _strategy(v) for k, v in props.items() if k in required},
                                      optional={k: _strategy(v) for k, v in props.items() if k not in required})
        extra = schema.get("additionalProperties", True)
        if extra is False:
            return fixed
        values = _ANY_JSON if extra is True else _strategy(extra)
        more = st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k not in props), values, max_size=2)
        return st.tuples(fixed, more).map(lambda pair: {**pair[1], **pair[0]})
    return _ANY_JSON


def _string(schema: dict) -> st.SearchStrategy[str]:
    fmt = schema.get("format")
    if fmt == "date-time":
        zones = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8)), dt.timezone(dt.timedelta(hours=-5, minutes=-30))])
        return st.datetimes(timezones=zones).map(lambda t: t.isoformat())
    if fmt == "date":
        return st.dates().map(dt.date.isoformat)
    if fmt == "uri":
        return st.sampled_from(["https://central.example.gov.cn/repo/", "http://127.0.0.1:8700/"])
    low, high = schema.get("minLength", 0), schema.get("maxLength", 24)
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: low <= len(s) <= high)
    return st.text(min_size=low, max_size=max(high, low))


def _call(sim, method: str, target: str, body: Any = ..., *, raw: bytes | None = None,
          idempotency_key: str | None = None) -> requests.Response:
    data = raw if raw is not None else (b"" if body is ... else json.dumps(body, ensure_ascii=False).encode())
    headers = sign_headers(DEMO_TERMINAL, KEY, method, target, data, idempotency_key=idempotency_key)
    if data:
        headers["Content-Type"] = "application/json"
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return requests.request(method, sim.url + target, data=data or None, headers=headers, timeout=10)


def _body_schema(op: dict) -> dict | None:
    body = op.get("requestBody")
    return body["content"]["application/json"]["schema"] if body else None


def _target(template: str, path_values: dict[str, str], query: dict[str, str]) -> str:
    path = re.sub(r"\{(\w+)\}", lambda m: path_values[m.group(1)], template)
    return path + ("?" + urlencode(query) if query else "")


def _path_values(sim, operation_id: str) -> st.SearchStrategy[dict[str, str]]:
    """Path parameters that name something that exists (a catalog service, an issued document,
    this terminal); a made-up name is a lookup, not a schema question."""
    if operation_id in ("queryService", "submitApplication"):
        return st.fixed_dictionaries({"id": st.sampled_from(SERVICE_IDS)})
    if operation_id == "fetchDocument":
        reply = _call(sim, "POST", "/v1/services/hz_hjzm:query",
                      {"identity": {"id_number": PENSIONER.id_number}, "inputs": {}})
        known = reply.json()["document_id"]
        pattern = OPERATIONS[operation_id][2]["parameters"][0]["schema"]["pattern"]
        return st.fixed_dictionaries({"id": st.just(known) | st.from_regex(pattern, fullmatch=True)})
    return st.just({})


def _query_params(op: dict) -> st.SearchStrategy[dict[str, str]]:
    params = [p for p in op.get("parameters", []) if p["in"] == "query"]
    return st.fixed_dictionaries({p["name"]: _strategy(p["schema"]) for p in params if p.get("required")},
                                 optional={p["name"]: _strategy(p["schema"]) for p in params
                                           if not p.get("required")})


def _idempotency_keys(op: dict) -> st.SearchStrategy[str | None]:
    """Absent, or a key the header's schema allows (then signed, as the description says)."""
    for p in op.get("parameters", []):
        if p["in"] == "header" and p["name"] == "Idempotency-Key":
            return st.none() | _string(p["schema"])
    return st.none()


def _example(op: dict) -> tuple[dict[str, str], dict[str, str], Any]:
    """The document's own example request: path values, query, body."""
    params = op.get("parameters", [])
    path = {p["name"]: p["example"] for p in params if p["in"] == "path"}
    query = {p["name"]: p["example"] for p in params if p["in"] == "query"}
    body = op["requestBody"]["content"]["application/json"]["example"] if "requestBody" in op else ...
    return path, query, body


def _assert_documented(operation_id: str, resp: requests.Response, *, valid: bool) -> None:
    """A documented status; a body that matches it (PDF or JSON); JSON errors in the one shape."""
    op = OPERATIONS[operation_id][2]
    status = str(resp.status_code)
    assert status in op["responses"], f"{operation_id}: HTTP {status} is not documented: {resp.text[:200]}"
    ctype = resp.headers.get("Content-Type", "")
    if operation_id == "fetchDocument" and resp.status_code == 200:
        assert ctype == "application/pdf" and resp.content.startswith(b"%PDF-")
        return
    assert ctype.startswith("application/json"), f"{operation_id}: {ctype} answer, not JSON"
    validate_response(operation_id, resp.status_code, resp.json())  # raises BadResponse
    if resp.status_code >= 400:
        code = resp.json()["error"]["code"]
        if valid:
            assert code in SEMANTIC.get(operation_id, set()), \
                f"{operation_id}: a schema-valid request was refused: {resp.text[:300]}"
        else:
            assert resp.status_code == 400 and code == "bad_request", resp.text[:300]
    else:
        assert valid, f"{operation_id}: a request that breaks the schema got {status}: {resp.text[:200]}"


def _settings(n: int):
    return settings(max_examples=n, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def test_the_document_is_valid_openapi_31_with_one_error_body_everywhere():
    assert DOC["openapi"].startswith("3.1")
    for name, schema in COMPONENTS["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)
        for example in schema.get("examples", []):
            _validator(schema).validate(example), name
    assert len({op["operationId"] for _, _, op in OPERATIONS.values()}) == len(OPERATIONS) == 12  # heartbeat and enrolment are the fleet's
    from simulators.central.server import API_ROUTES

    # the simulator serves exactly the documented operations, no more, no fewer
    assert {(r[4], r[0]) for r in API_ROUTES} == {(op_id, m) for op_id, (m, _, _) in OPERATIONS.items()}
    for op_id, (method, _, op) in OPERATIONS.items():
        for media in ([op["requestBody"]["content"]] if "requestBody" in op else []):
            jsonschema.Draft202012Validator.check_schema(media["application/json"]["schema"])
        assert "405" in op["responses"], op_id
        allow = op["responses"]["405"]["headers"]["Allow"]
        assert allow["required"] and method in allow["schema"]["const"], op_id
        for status, response in op["responses"].items():
            if status[0] in "45":
                assert response["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}, \
                    (op_id, status)


def test_every_time_field_in_the_document_is_a_date_time_with_offset():
    """*_at, server_time and date fields are typed, so an offset-less time fails validation."""
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, sub in (node.get("properties") or {}).items():
                if key.endswith("_at") or key.endswith("_time"):
                    assert sub.get("format") == "date-time", f"{where}.{key}"
                if key == "date":
                    assert sub.get("format") == "date", f"{where}.{key}"
            for key, sub in node.items():
                walk(sub, f"{where}.{key}")
        elif isinstance(node, list):
            for sub in node:
                walk(sub, where)

    walk(COMPONENTS["schemas"], "schemas")
    with pytest.raises(jsonschema.ValidationError):
        _validator({"$ref": "#/components/schemas/Ticket"}).validate(
            {"ticket_number": "A001", "business": "shebao", "window": "03", "waiting": 1,
             "issued_at": "2026-12-01T08:01:24", "hall": "越秀区政务服务中心"})


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_valid_requests_generated_from_the_document_get_a_documented_2xx(central_sim, operation_id):
    central_sim.reset()
    method, template, op = OPERATIONS[operation_id]
    path, query, body = _example(op)
    if operation_id == "fetchDocument":  # the example names a document; issue a real one
        path = {"id": _call(central_sim, "POST", "/v1/services/hz_hjzm:query", {
            "identity": {"id_number": PENSIONER.id_number}, "inputs": {}}).json()["document_id"]}
    if operation_id == "identifyByCode":  # the example's code is a shape; a phone shows a live one
        body = {**body, "code": central_sim.admin("/_admin/app-codes", {})["code"]}
    resp = _call(central_sim, method, _target(template, path, query), body)
    assert resp.status_code == 200, f"the document's own example: {resp.text[:300]}"
    _assert_documented(operation_id, resp, valid=True)

    schema = _body_schema(op)
    bodies = _strategy(schema).filter(_validator(schema).is_valid) if schema else st.just(...)
    if operation_id == "uploadTransactions":  # items are checked one by one: mix good and bad
        items = _strategy({"$ref": "#/components/schemas/Transaction"}) | _ANY_JSON
        bodies = st.fixed_dictionaries({"transactions": st.lists(items, max_size=4)})

    @_settings(8)
    @given(path=_path_values(central_sim, operation_id), query=_query_params(op), body=bodies,
           key=_idempotency_keys(op))
    def check(path, query, body, key):
        resp = _call(central_sim, method, _target(template, path, query), body, idempotency_key=key)
        _assert_documented(operation_id, resp, valid=True)
        if operation_id == "uploadTransactions" and resp.status_code == 200:
            reply, each = resp.json(), _validator({"$ref": "#/components/schemas/Transaction"})
            for item in body["transactions"]:
                if each.is_valid(item):
                    assert item["key"] in reply["accepted"]
                else:
                    assert not isinstance(item, dict) or item.get("key") not in reply["accepted"]

    check()


def _break(data: st.DataObject, value: Any) -> Any:
    """One change that may break a schema: not an object, a key dropped, retyped or added."""
    how = data.draw(st.sampled_from(["not_an_object", "drop", "retype", "add"]))
    if how == "not_an_object" or not isinstance(value, dict):
        return data.draw(st.sampled_from([[], "identity", 3, None, True]))
    objects = [value]
    for node in objects:
        objects.extend(v for v in node.values() if isinstance(v, dict))
    target = data.draw(st.sampled_from(objects))
    if how == "add" or not target:
        target["zz_unknown"] = 1
    elif how == "drop":
        del target[data.draw(st.sampled_from(sorted(target)))]
    else:
        target[data.draw(st.sampled_from(sorted(target)))] = data.draw(
            st.sampled_from([None, 0, -1, True, "", "x", [], {}, "2026-12-01T08:01:24"]))
    return value


WITH_BODY = sorted(op_id for op_id, (_, _, op) in OPERATIONS.items() if "requestBody" in op)


@pytest.mark.parametrize("operation_id", WITH_BODY)
def test_bodies_that_break_the_document_get_400_with_the_error_body(central_sim, operation_id):
    central_sim.reset()
    method, template, op = OPERATIONS[operation_id]
    path, query, example = _example(op)
    schema = _body_schema(op)
    valid = _validator(schema)

    @_settings(6)
    @given(data=st.data(), body=_strategy(schema))
    def check(data, body):
        broken = _break(data, json.loads(json.dumps(body)))
        assume(not valid.is_valid(broken))
        resp = _call(central_sim, method, _target(template, path, query), broken)
        _assert_documented(operation_id, resp, valid=False)

    check()
    for raw in (b"{not json", b"[1, 2"):  # not JSON at all
        resp = _call(central_sim, method, _target(template, path, query), raw=raw)
        _assert_documented(operation_id, resp, valid=False)


def test_query_parameters_that_break_the_document_get_400(central_sim):
    central_sim.reset()
    method, template, op = OPERATIONS["appointmentSlots"]
    for query in ({"business": "shebao"}, {"date": "2026-12-02"}, {"business": "casino", "date": "2026-12-02"},
                  {"business": "shebao", "date": "2026-13-45"}, {"business": "shebao", "date": "tomorrow"}):
        resp = _call(central_sim, method, _target(template, {}, query))
        _assert_documented("appointmentSlots", resp, valid=False)


@pytest.mark.parametrize("identity", [{"id_number": ""}, {"id_number": "12345"}, {},
                                      {"id_number": PENSIONER.id_number, "address": "越秀区某路1号"}])
def test_an_identity_the_document_forbids_is_refused_without_echoing_it(central_sim, identity):
    """Before: an empty id_number got 200 verified=false; an address rode along unnoticed."""
    central_sim.reset()
    resp = _call(central_sim, "POST", "/v1/identity:verify", {"identity": identity})
    assert resp.status_code == 400
    _assert_documented("verifyIdentity", resp, valid=False)
    assert "id_number" in resp.text or "address" in resp.text
    assert "越秀区某路" not in resp.text and "12345" not in resp.text


def test_an_empty_face_image_is_refused_as_the_document_says(central_sim):
    """The server was right to refuse an empty jpeg (nothing to match): the document now says so."""
    central_sim.reset()
    me = {"id_number": PENSIONER.id_number}
    for op_id, target, body in [("verifyFace", "/v1/identity:verifyFace", {"identity": me, "jpeg": ""}),
                                ("verifyIdentity", "/v1/identity:verify", {"identity": me, "face_jpeg": ""})]:
        assert not _validator(_body_schema(OPERATIONS[op_id][2])).is_valid(body)
        resp = _call(central_sim, "POST", target, body)
        assert resp.status_code == 400, resp.text
        _assert_documented(op_id, resp, valid=False)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "PROPFIND"])
def test_an_undeclared_method_on_a_known_path_is_a_json_405_with_allow(central_sim, method):
    """Before: 501 and an HTML page from the stdlib."""
    for op_id, (_, template, op) in OPERATIONS.items():
        path = _target(template, {k: str(v) for k, v in _example(op)[0].items()}, {})
        resp = requests.request(method, central_sim.url + path, timeout=5)
        assert resp.status_code == 405, (op_id, resp.status_code, resp.text[:100])
        assert resp.headers["Allow"] == op["responses"]["405"]["headers"]["Allow"]["schema"]["const"]
        assert resp.headers["Content-Type"].startswith("application/json")
        if method != "HEAD":
            validate_response(op_id, 405, resp.json())
            assert resp.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/v1/nowhere", "/", "/v1/services/rs_jfmx:delete", "/favicon.ico"])
def test_an_unknown_path_is_a_json_404(central_sim, path):
    """Signed or not: before, an unsigned probe of a path that does not exist got 401."""
    for method in ("GET", "POST"):
        resp = _call(central_sim, method, path, {} if method == "POST" else ...)
        assert resp.status_code == 404
        unsigned = requests.request(method, central_sim.url + path, timeout=5)
        assert unsigned.status_code == 404 and unsigned.json()["error"]["code"] == "no_such_operation"
        assert resp.headers["Content-Type"].startswith("application/json")
        assert resp.json()["error"]["code"] == "no_such_operation"


def test_a_request_the_http_layer_refuses_gets_json_not_html(central_sim):
    """Before: the stdlib's HTML error page (here: 431, more than 100 header lines)."""
    host, port = central_sim.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(b"GET /v1/updates HTTP/1.1\r\n" + b"".join(b"X-Pad-%d: 1\r\n" % i for i in range(120))
                     + b"\r\n")
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 431 " in head.split(b"\r\n")[0]
    assert b"application/json" in head and b"<html" not in reply.lower()
    assert json.loads(body)["error"]["code"] == "bad_http"


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_every_time_the_simulator_sends_carries_its_offset(central_sim):
    """Before: "2026-12-01T08:01:24" everywhere (replies, timeline rows, datetime columns): the
    terminal had to guess the zone. Now every time-looking string names its offset."""
    central_sim.reset()
    seen = 0
    me = {"id_number": PENSIONER.id_number}
    calls = [(op, *_example(spec)) for op, (_, _, spec) in OPERATIONS.items() if op != "fetchDocument"]
    calls += [("queryService", {"id": sid}, {}, {"identity": me, "inputs": {"application_number": "GZ20261124000123"}})
              for sid in SERVICE_IDS]
    for op_id, path, query, body in calls:
        method, template, _ = OPERATIONS[op_id]
        resp = _call(central_sim, method, _target(template, path, query), body)
        if resp.status_code != 200:
            continue
        for text in _strings(resp.json()):
            if LOOKS_LIKE_TIME.match(text):
                seen += 1
                assert OFFSET_TIME.fullmatch(text), f"{op_id} {path}: {text!r} has no offset"
    assert seen > 50  # replies, timeline steps and datetime columns were all looked at


@pytest.mark.parametrize("case,op,status", [
    ("unknown_service", "queryService", 404),
    ("not_eligible", "queryService", 403),
    ("unsigned", "updateMetadata", 401),
    ("rate_limited", "queryService", 429),
    ("down", "updateMetadata", 503),
    ("no_document", "fetchDocument", 404),
    ("no_slot", "bookAppointment", 404),
])
def test_refusals_the_schemas_cannot_see_are_documented_with_the_error_body(central_sim, case, op, status):
    from tests.fixtures.central import YOUNG

    central_sim.reset()
    young = {"identity": {"id_number": YOUNG.id_number, "name": YOUNG.name}, "inputs": {"year": "2025"}}
    me = {"identity": {"id_number": PENSIONER.id_number}, "inputs": {}}
    if case in ("rate_limited", "down"):
        central_sim.faults(**{case: True})
    resp = {
        "unknown_service": lambda: _call(central_sim, "POST", "/v1/services/nope:query", me),
        "not_eligible": lambda: _call(central_sim, "POST", "/v1/services/rs_ylj_ff:query", young),
        "unsigned": lambda: requests.get(central_sim.url + "/v1/updates", timeout=5),
        "rate_limited": lambda: _call(central_sim, "POST", "/v1/services/rs_cbzm:query", me),
        "down": lambda: _call(central_sim, "GET", "/v1/updates"),
        "no_document": lambda: _call(central_sim, "GET", "/v1/documents/DNOPE"),
        "no_slot": lambda: _call(central_sim, "POST", "/v1/appointments", {"slot_id": "x", "business": "shebao"}),
    }[case]()
    central_sim.reset()
    assert resp.status_code == status, resp.text
    validate_response(op, status, resp.json())
    if case == "rate_limited":
        assert resp.headers["Retry-After"] == "2"
