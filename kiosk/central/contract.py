"""The terminal's reading of its counterparts' OpenAPI documents — the government platform's
``config/central-api.json`` and the fleet service's ``fleet/fleet-api.json`` — one loader for
both (:class:`Contract`): every reply it accepts is checked against its document before any
screen, receipt, outbox or command runner sees it.

A reply that breaks the document (a missing key, a wrong type, an empty reference, a time
without its offset) is a :class:`~kiosk.central.errors.BadResponse`: the terminal says
"central answered something we cannot use" instead of printing a half-empty receipt or
guessing which zone a time is in. The document and ``jsonschema`` load on the first check,
not at start-up (cold start paints the attract screen first). Messages name the field and
the rule, never the value: replies carry residents' names and numbers.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.central.errors import BadResponse
from kiosk.paths import CONFIG_DIR

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

DOC_FILE = CONFIG_DIR / "central-api.json"
_METHODS = ("get", "put", "post", "delete", "patch")
# RFC 3339 §5.6 date-time with the offset required ("2026-12-01T08:01:24+08:00" or "…Z"): a
# time without one is refused, never read as the terminal's own zone.
_DATE_TIME = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]"
                        r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
                        r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])")
_DATE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    responses: dict[str, Any]  # Any: the document's response objects, as JSON


def _format_checker() -> Any:  # Any: jsonschema.FormatChecker, imported lazily
    import jsonschema

    checker = jsonschema.FormatChecker(())
    checker.checks("date-time")(lambda v: not isinstance(v, str) or bool(_DATE_TIME.fullmatch(v)))
    checker.checks("date")(lambda v: not isinstance(v, str) or bool(_DATE.fullmatch(v)))
    return checker


def _describe(error: Any) -> str:  # Any: a jsonschema ValidationError
    """``$.where: rule`` for a technician, without the offending value."""
    if error.context:  # anyOf [string, null]: name the branch the value was meant for
        from jsonschema.exceptions import best_match

        meant = [e for e in error.context if e.validator != "type"] or list(error.context)
        error = best_match(meant) or error
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [k for k in error.validator_value if k not in error.instance]
        return f"{error.json_path}: missing {', '.join(missing)}"
    rule = json.dumps(error.validator_value, ensure_ascii=False)[:60]
    return f"{error.json_path}: breaks {error.validator} {rule}"


class Contract:
    """One OpenAPI document, read and compiled on first use: its operations, and a check of
    each reply. ``error`` is the BadResponse kind a breach raises (the fleet's is its own),
    ``name`` prefixes the messages ("fleet ")."""

    def __init__(self, path: Path, *, error: type[BadResponse] = BadResponse,
                 name: str = "") -> None:
        self.path = path
        self.error = error
        self.name = name
        self._lock = threading.Lock()
        self._document: dict[str, Any] | None = None
        self._operations: dict[str, Operation] | None = None
        self._validators: dict[tuple[str, str], Validator | None] = {}

    def document(self) -> dict[str, Any]:
        """The document as JSON (read once). (Any: a JSON document checked by the tests.)"""
        with self._lock:
            if self._document is None:
                self._document = json.loads(self.path.read_text(encoding="utf-8"))
            return self._document

    def operations(self) -> dict[str, Operation]:
        """operationId -> where and how it is called, and what it may answer."""
        if self._operations is None:
            out = {}
            for template, item in self.document()["paths"].items():
                regex = "".join("[^/]+" if part.startswith("{") else re.escape(part)
                                for part in re.split(r"(\{[^}]+\})", template))
                for method, op in item.items():
                    if method in _METHODS:
                        out[op["operationId"]] = Operation(op["operationId"], method.upper(),
                                                           template, re.compile(regex),
                                                           op["responses"])
            self._operations = out
        return self._operations

    def operation_for(self, method: str, path: str) -> Operation:
        """The operation a client call is, from its method and path (without the query)."""
        for op in self.operations().values():
            if op.method == method.upper() and op.pattern.fullmatch(path):
                return op
        raise self.error(f"{self.name}{method} {path}: not an operation of the contract",
                         code="not_in_contract")

    def _validator(self, op: Operation, status: str) -> Validator | None:
        """The compiled schema of this operation's JSON reply for ``status`` (None: not JSON)."""
        key = (op.operation_id, status)
        with self._lock:
            if key in self._validators:
                return self._validators[key]
        import jsonschema

        content = op.responses[status].get("content", {})
        schema = content.get("application/json", {}).get("schema")
        validator = None
        if schema is not None:
            validator = jsonschema.Draft202012Validator(
                {**schema, "components": self.document()["components"]},
                format_checker=_format_checker())
        with self._lock:
            return self._validators.setdefault(key, validator)

    def validate(self, operation: str | tuple[str, str], status: int, body: object) -> None:
        """Raise ``error`` unless ``body`` is what the document says ``operation`` answers
        with ``status``. ``operation`` is an operationId or ``(method, path)`` as called."""
        op = (self.operations().get(operation) if isinstance(operation, str)
              else self.operation_for(*operation))
        if op is None:
            raise self.error(f"{self.name}{operation}: not an operation of the contract",
                             code="not_in_contract")
        if str(status) not in op.responses:
            raise self.error(f"{self.name}{op.operation_id}: HTTP {status} is not a documented "
                             "answer", status=status, code="undocumented_status")
        validator = self._validator(op, str(status))
        if validator is None:
            return
        errors = sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            raise self.error(f"{self.name}{op.operation_id} HTTP {status}: reply breaks the "
                             f"contract: {_describe(errors[0])}{more}", status=status,
                             code="contract_violation")


CENTRAL = Contract(DOC_FILE)


def document() -> dict[str, Any]:
    """The government platform's document as JSON (read once)."""
    return CENTRAL.document()


def operations() -> dict[str, Operation]:
    """The government platform's operations by operationId."""
    return CENTRAL.operations()


def operation_for(method: str, path: str) -> Operation:
    return CENTRAL.operation_for(method, path)


def validate_response(operation: str | tuple[str, str], status: int, body: object) -> None:
    """Raise BadResponse unless ``body`` is what the platform's document says ``operation``
    answers with ``status`` (an operationId, or ``(method, path)`` as the client called it)."""
    CENTRAL.validate(operation, status, body)
