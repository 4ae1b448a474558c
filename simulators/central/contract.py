"""The document the simulator implements (``config/central-api.json``), read once at start.

Requests are checked against it before a handler runs, so the simulator refuses exactly what
the document forbids and a technician reading the document knows what the platform accepts.
Its own reading of the document (no kiosk code): the simulator is the other side of the wire.
Refusal messages name the field and the rule, never the value (an ID number must not travel
back into the terminal's logs).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DOC_FILE = Path(__file__).resolve().parents[2] / "config" / "central-api.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

# RFC 3339 §5.6 with the offset required: "2026-12-01T08:01:24+08:00" or "...Z".
_DATE_TIME = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]"
                        r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
                        r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])")
_DATE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    template: str
    spec: dict[str, Any]


def format_checker() -> Any:
    """date-time needs its offset; jsonschema alone would not check it without rfc3339-validator."""
    import jsonschema

    checker = jsonschema.FormatChecker(())
    checker.checks("date-time")(lambda value: not isinstance(value, str) or bool(_DATE_TIME.fullmatch(value)))
    checker.checks("date")(lambda value: not isinstance(value, str) or bool(_DATE.fullmatch(value)))
    return checker


@cache
def document() -> dict[str, Any]:
    return json.loads(DOC_FILE.read_text(encoding="utf-8"))


@cache
def operations() -> dict[str, Operation]:
    return {op["operationId"]: Operation(op["operationId"], method.upper(), path, op)
            for path, item in document()["paths"].items()
            for method, op in item.items() if method in METHODS}


@cache
def _validator(schema_json: str) -> Any:
    import jsonschema

    schema = json.loads(schema_json)
    return jsonschema.Draft202012Validator({**schema, "components": document()["components"]},
                                           format_checker=format_checker())


def violation(schema: dict[str, Any], value: Any) -> str | None:
    """The first rule ``value`` breaks, as ``$.where: rule`` without the value; None if none."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    error = next(iter(sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))), None)
    if error is None:
        return None
    if error.context:  # anyOf [string, null] and the like: name the branch the value was meant for
        from jsonschema.exceptions import best_match

        meant = [e for e in error.context if e.validator != "type"] or list(error.context)
        error = best_match(meant) or error
    rule = error.validator
    if rule == "required":
        missing = [k for k in error.validator_value if isinstance(error.instance, dict) and k not in error.instance]
        return f"{error.json_path}: {', '.join(missing)} required"
    if rule == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in known)
        return f"{error.json_path}: {', '.join(extra)} not allowed"
    return f"{error.json_path}: breaks {rule} {json.dumps(error.validator_value, ensure_ascii=False)[:80]}"


def component(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def request_refusal(operation_id: str, query: dict[str, str], headers: Any, body: Any,
                    has_body: bool) -> str | None:
    """Why this request breaks the document (query and header parameters, then the body), or
    None. ``headers`` is the request's (case-insensitive) header mapping."""
    spec = operations()[operation_id].spec
    for param in spec.get("parameters", []):
        if param["in"] not in ("query", "header"):
            continue
        value = query.get(param["name"]) if param["in"] == "query" else headers.get(param["name"])
        what = f"{param['in']} parameter {param['name']}"
        if value is None:
            if param.get("required"):
                return f"{what} required"
            continue
        problem = violation(param["schema"], value)
        if problem:
            return f"{what}: {problem.split(': ', 1)[1]}"
    request_body = spec.get("requestBody")
    if request_body is None:
        return None
    if not has_body:
        return "a JSON body is required" if request_body.get("required") else None
    schema = request_body["content"]["application/json"]["schema"]
    return violation(schema, body)
