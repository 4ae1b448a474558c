"""The service catalog: 100+ government services as data, one TOML file per department.

Services are data, not code (DESIGN.md): an entry says which authentication, which inputs,
which central call, how the result looks and what gets printed. Everything is checked at load
against the schema below, and a bad entry stops with a :class:`CatalogError` naming the file,
the entry and the field — a catalog update that breaks one service must not reach residents.

File layout (see ``config/services/rs.toml``)::

    [department]            id, names{zh_CN,zh_HK,en}, icon, order
    [[services]]            id, names, keywords, auth, call, offline, hours, minutes, hot,
                            what_you_need, print{receipt?, a4?}, app_code?
                            (auth "app_code": the phone's identity code only; app_code = true
                            beside auth "id_card"/"id_card+face": the code instead of the card)
    [[services.inputs]]     name, kind, labels, errors, required, + kind options
    [services.result]       kind, [[services.result.columns]] key, titles, format[, values,
                            total (an amount summed), priority (receipt order)]

Pinyin and initials for search are generated at load with ``pypinyin`` (not stored), so a
new entry only needs its Chinese name.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.catalog import validators
from kiosk.paths import CACHE_DIR as _VAR_CACHE

if TYPE_CHECKING:
    from kiosk.catalog.search import SearchIndex

log = logging.getLogger(__name__)
CACHE_DIR = _VAR_CACHE / "catalog"
LANGS = ("zh_CN", "zh_HK", "en")
AUTH_KINDS = ("none", "id_card", "id_card+face", "ss_card+pin", "app_code")
# ``app_code = true`` beside a card: the phone's code (网络身份码) is accepted instead of it
APP_CODE_BESIDE = ("id_card", "id_card+face")
CALL_KINDS = ("query", "submit", "document", "ticket", "appointment", "evaluation")
RESULT_KINDS = ("table", "key_value", "timeline", "document", "ticket")
COLUMN_FORMATS = ("text", "date", "datetime", "month", "money", "number", "status", "percent")
OFFLINE_KINDS = ("online_only", "may_queue")
RECEIPT_TEMPLATES = ("service_receipt", "queue_ticket", "appointment", "offline_receipt")
A4_TEMPLATES = ("social_insurance_certificate", "social_insurance_payments", "tax_certificate",
                "property_search", "central_pdf")  # config/templates/a4/*.toml, and central's own PDF
_ID = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
_HOURS = re.compile(r"^([01]\d|2[0-4]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")
_DAYS = ("mon-sun", "mon-fri", "mon-sat")
_FIELD_OPTIONS = ("min", "max", "pattern", "max_days", "max_months", "min_len", "max_len",
                  "options", "past_only", "future_only", "placeholder", "script")
SCRIPTS = ("chinese", "latin")  # what a text field takes: Chinese gets handwriting and pinyin


class CatalogError(Exception):
    """A catalog that cannot be served; ``str()`` is the one line a technician reads."""

    def __init__(self, file: str, entry: str | None, field_name: str | None, reason: str):
        self.file, self.entry, self.field, self.reason = file, entry, field_name, reason
        where = file + (f": {entry}" if entry else "") + (f": {field_name}" if field_name else "")
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Department:
    id: str
    names: dict[str, str]
    icon: str
    order: int

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names["zh_CN"]


@dataclass(frozen=True)
class Column:
    key: str
    titles: dict[str, str]
    format: str
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # status code -> texts
    total: bool = False  # an amount summed on screen and paper ("合计")
    priority: int | None = None  # receipt order of importance (lower first); None: its position

    def title(self, lang: str) -> str:
        return self.titles.get(lang) or self.titles["zh_CN"]


@dataclass(frozen=True)
class ResultSpec:
    kind: str
    columns: list[Column]


@dataclass(frozen=True)
class InputField:
    name: str
    kind: str
    labels: dict[str, str]
    errors: dict[str, str]
    required: bool = True
    options: dict[str, object] = field(default_factory=dict)  # kind options: min, max, pattern …

    @property
    def script(self) -> str:
        """``chinese`` for text a resident writes in characters (留言内容), else ``latin``."""
        return str(self.options.get("script", "latin"))

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels["zh_CN"]

    def error(self, lang: str) -> str:
        return self.errors.get(lang) or self.errors["zh_CN"]


@dataclass(frozen=True)
class Hours:
    """When the service can be used; ``00:00-24:00`` with ``mon-sun`` means always."""

    open: str = "00:00"
    close: str = "24:00"
    days: str = "mon-sun"

    def is_open(self, weekday: int, hhmm: str) -> bool:
        """``weekday`` 0 = Monday as in ``datetime.weekday()``; ``hhmm`` like ``"09:30"``."""
        last = {"mon-sun": 6, "mon-sat": 5, "mon-fri": 4}[self.days]
        return weekday <= last and self.open <= hhmm < self.close

    def __str__(self) -> str:
        return f"{self.days} {self.open}-{self.close}"


@dataclass(frozen=True)
class Service:
    id: str
    department: str
    names: dict[str, str]
    keywords: list[str]
    auth: str
    inputs: list[InputField]
    call: str
    result: ResultSpec
    print_receipt: str | None
    print_a4: str | None
    offline: str
    hours: Hours
    what_you_need: dict[str, str]
    minutes: int
    hot: bool = False
    app_code: bool = False  # the phone's code is accepted beside the card (auth id_card…)
    order: int = 0  # position in the department file: the order tiles are shown

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names["zh_CN"]

    @property
    def accepts_app_code(self) -> bool:
        """May the resident identify with the code their phone shows?"""
        return self.auth == "app_code" or self.app_code

    def to_json(self) -> dict[str, object]:
        """The ``kiosk catalog --json`` form (also what technicians diff between versions)."""
        return {
            "id": self.id, "department": self.department, "names": self.names,
            "keywords": self.keywords, "auth": self.auth, "call": self.call,
            "inputs": [{"name": f.name, "kind": f.kind, "labels": f.labels, "errors": f.errors,
                        "required": f.required, **f.options} for f in self.inputs],
            "result": {"kind": self.result.kind,
                       "columns": [{"key": c.key, "titles": c.titles, "format": c.format}
                                   for c in self.result.columns]},
            "print": {"receipt": self.print_receipt, "a4": self.print_a4},
            "offline": self.offline, "hours": str(self.hours), "minutes": self.minutes,
            "what_you_need": self.what_you_need, "hot": self.hot, "app_code": self.app_code,
        }


class _Checker:
    """Reads one raw TOML table and raises CatalogError with file/entry/field on the first fault."""

    def __init__(self, file: str, entry: str | None = None):
        self.file, self.entry = file, entry

    def fail(self, field_name: str | None, reason: str) -> CatalogError:
        return CatalogError(self.file, self.entry, field_name, reason)

    def get(self, table: dict, key: str, kind: type | tuple, *, path: str = "",
            default: Any = ..., allowed: tuple | None = None) -> Any:
        """``table[key]`` checked to be ``kind`` (and one of ``allowed``). Any: a TOML value,
        of the type just checked, that the caller takes as such."""
        name = path + key
        if key not in table:
            if default is ...:
                raise self.fail(name, "missing")
            return default
        value = table[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            want = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(name, f"must be {want}, got {type(value).__name__}")
        if allowed is not None and value not in allowed:
            raise self.fail(name, f"{value!r} is not one of {', '.join(map(str, allowed))}")
        return value

    def texts(self, table: dict, key: str, *, path: str = "") -> dict[str, str]:
        value = self.get(table, key, dict, path=path)
        for lang in LANGS:
            text = value.get(lang)
            if not isinstance(text, str) or not text.strip():
                raise self.fail(f"{path}{key}.{lang}", "missing text in this language")
        extra = set(value) - set(LANGS)
        if extra:
            raise self.fail(f"{path}{key}", f"unknown languages {sorted(extra)}")
        return {lang: value[lang] for lang in LANGS}

    def no_unknown(self, table: dict, known: tuple[str, ...], path: str = "") -> None:
        for key in table:
            if key not in known:
                raise self.fail(path + key, f"unknown key (allowed: {', '.join(known)})")


_SERVICE_KEYS = ("id", "names", "keywords", "auth", "inputs", "call", "result", "print",
                 "offline", "hours", "days", "what_you_need", "minutes", "hot", "app_code")


def _parse_input(chk: _Checker, raw: object, index: int) -> InputField:
    path = f"inputs[{index}]."
    if not isinstance(raw, dict):
        raise chk.fail(f"inputs[{index}]", "must be a table")
    chk.no_unknown(raw, ("name", "kind", "labels", "errors", "required", *_FIELD_OPTIONS), path)
    name = chk.get(raw, "name", str, path=path)
    if not _ID.match(name):
        raise chk.fail(path + "name", "must be lower_snake_case")
    kind = chk.get(raw, "kind", str, path=path, allowed=validators.KINDS)
    options = {k: raw[k] for k in _FIELD_OPTIONS if k in raw}
    if kind == "choice":
        opts = options.get("options")
        if not isinstance(opts, list) or not opts:
            raise chk.fail(path + "options", "a choice needs a non-empty list of options")
        for i, opt in enumerate(opts):
            if not isinstance(opt, dict) or not isinstance(opt.get("value"), str):
                raise chk.fail(f"{path}options[{i}].value", "missing")
            chk.texts(opt, "labels", path=f"{path}options[{i}].")
    if "script" in options and (kind != "text" or options["script"] not in SCRIPTS):
        raise chk.fail(path + "script", f"a text field's script is one of {', '.join(SCRIPTS)}")
    if "pattern" in options:
        try:
            re.compile(options["pattern"])
        except re.error as exc:
            raise chk.fail(path + "pattern", f"bad regular expression: {exc}") from exc
    return InputField(name=name, kind=kind, labels=chk.texts(raw, "labels", path=path),
                      errors=chk.texts(raw, "errors", path=path),
                      required=chk.get(raw, "required", bool, path=path, default=True),
                      options=options)


def _parse_result(chk: _Checker, raw: object) -> ResultSpec:
    if not isinstance(raw, dict):
        raise chk.fail("result", "must be a table")
    chk.no_unknown(raw, ("kind", "columns"), "result.")
    kind = chk.get(raw, "kind", str, path="result.", allowed=RESULT_KINDS)
    columns = []
    for i, col in enumerate(chk.get(raw, "columns", list, path="result.", default=[])):
        path = f"result.columns[{i}]."
        if not isinstance(col, dict):
            raise chk.fail(path[:-1], "must be a table")
        chk.no_unknown(col, ("key", "titles", "format", "values", "total", "priority"), path)
        fmt = chk.get(col, "format", str, path=path, allowed=COLUMN_FORMATS)
        values: dict[str, dict[str, str]] = {}
        if fmt == "status":
            raw_values = chk.get(col, "values", dict, path=path)
            values = {code: chk.texts(raw_values, code, path=path + "values.") for code in raw_values}
        total = chk.get(col, "total", bool, path=path, default=False)
        if total and fmt not in ("money", "number"):
            raise chk.fail(path + "total", "only a money or number column can be totalled")
        priority = chk.get(col, "priority", int, path=path, default=None)
        columns.append(Column(key=chk.get(col, "key", str, path=path),
                              titles=chk.texts(col, "titles", path=path), format=fmt, values=values,
                              total=total, priority=priority))
    if kind in ("table", "key_value", "timeline") and not columns:
        raise chk.fail("result.columns", f"a {kind} result needs columns")
    if kind == "timeline" and len(columns) < 2:
        raise chk.fail("result.columns", "a timeline needs time and step columns")
    if len({c.key for c in columns}) != len(columns):
        raise chk.fail("result.columns", "duplicate column key")
    return ResultSpec(kind=kind, columns=columns)


def _parse_service(file: str, raw: object, department: str, order: int) -> Service:
    entry = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
    chk = _Checker(file, entry or f"services[{order}]")
    if not isinstance(raw, dict):
        raise chk.fail(None, "must be a table")
    chk.no_unknown(raw, _SERVICE_KEYS)
    sid = chk.get(raw, "id", str)
    if not _ID.match(sid):
        raise chk.fail("id", "must be lower_snake_case, 2-41 characters")
    keywords = chk.get(raw, "keywords", list, default=[])
    if not all(isinstance(k, str) and k for k in keywords):
        raise chk.fail("keywords", "must be a list of non-empty strings")
    inputs = [_parse_input(chk, item, i) for i, item in enumerate(chk.get(raw, "inputs", list, default=[]))]
    if len({f.name for f in inputs}) != len(inputs):
        raise chk.fail("inputs", "duplicate input name")
    printing = chk.get(raw, "print", dict, default={})
    chk.no_unknown(printing, ("receipt", "a4"), "print.")
    receipt = chk.get(printing, "receipt", str, path="print.", default=None, allowed=RECEIPT_TEMPLATES)
    a4 = chk.get(printing, "a4", str, path="print.", default=None, allowed=A4_TEMPLATES)
    hours_text = chk.get(raw, "hours", str, default="00:00-24:00")
    if not _HOURS.match(hours_text) or hours_text[:5] >= hours_text[6:]:
        raise chk.fail("hours", f"{hours_text!r} is not HH:MM-HH:MM with open before close")
    minutes = chk.get(raw, "minutes", int)
    if not 0 < minutes <= 120:
        raise chk.fail("minutes", "must be 1-120")
    result = _parse_result(chk, chk.get(raw, "result", dict))
    call = chk.get(raw, "call", str, allowed=CALL_KINDS)
    if result.kind == "document" and not a4:
        raise chk.fail("print.a4", "a document result needs an A4 template")
    auth = chk.get(raw, "auth", str, allowed=AUTH_KINDS)
    app_code = chk.get(raw, "app_code", bool, default=False)
    if app_code and auth not in APP_CODE_BESIDE:
        raise chk.fail("app_code", f"the phone's code stands in for an ID card: auth must be "
                       f"{' or '.join(APP_CODE_BESIDE)}, not {auth}")
    return Service(
        id=sid, department=department, names=chk.texts(raw, "names"), keywords=list(keywords),
        auth=auth, app_code=app_code, inputs=inputs, call=call,
        result=result, print_receipt=receipt, print_a4=a4,
        offline=chk.get(raw, "offline", str, allowed=OFFLINE_KINDS),
        hours=Hours(hours_text[:5], hours_text[6:], chk.get(raw, "days", str, default="mon-sun",
                                                            allowed=_DAYS)),
        what_you_need=chk.texts(raw, "what_you_need"), minutes=minutes,
        hot=chk.get(raw, "hot", bool, default=False), order=order)


def _read_toml(path: Path) -> dict[str, Any]:
    """A department file, parsed. Parsing TOML is most of a catalog's load time, so the parse
    is kept in ``var/cache/catalog/`` under the hash of the file's bytes: a changed file is
    parsed anew, and an unreadable or foreign cache entry is ignored and replaced."""
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    cached = CACHE_DIR / f"{digest}.marshal"
    try:
        data = marshal.loads(cached.read_bytes())
        if isinstance(data, dict):
            return data
    except (OSError, EOFError, ValueError, TypeError):
        pass
    data = tomllib.loads(raw.decode("utf-8"))
    try:
        blob = marshal.dumps(data)  # ValueError for TOML dates: such a file is not cached
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
        tmp.write_bytes(blob)
        os.replace(tmp, cached)
    except (OSError, ValueError) as exc:
        log.debug("catalog parse of %s not cached: %s", path.name, exc)
    return data


def load_department_file(path: Path, errors: list[CatalogError] | None = None
                         ) -> tuple[Department, list[Service]]:
    """Parse and check one department file; raises CatalogError on the first fault, or with
    ``errors`` given, collects one error per bad service entry and returns the good ones."""
    file = path.name
    try:
        data = _read_toml(path)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(file, None, None, f"not valid TOML: {exc}") from exc
    except OSError as exc:
        raise CatalogError(file, None, None, f"cannot read: {exc.strerror}") from exc
    chk = _Checker(file, "department")
    chk.no_unknown(data, ("department", "services"))
    raw_dep = data.get("department")
    if not isinstance(raw_dep, dict):
        raise chk.fail(None, "missing [department] table")
    chk.no_unknown(raw_dep, ("id", "names", "icon", "order"))
    dep = Department(id=chk.get(raw_dep, "id", str), names=chk.texts(raw_dep, "names"),
                     icon=chk.get(raw_dep, "icon", str), order=chk.get(raw_dep, "order", int))
    raw_services = data.get("services", [])
    if not isinstance(raw_services, list) or not raw_services:
        raise CatalogError(file, None, "services", "a department needs at least one [[services]]")
    services = []
    for i, raw in enumerate(raw_services):
        try:
            services.append(_parse_service(file, raw, dep.id, i))
        except CatalogError as exc:
            if errors is None:
                raise
            errors.append(exc)
    return dep, services


class Catalog:
    """All departments and services, checked; search is built on first use."""

    def __init__(self, departments: list[Department], services: list[Service]):
        self.departments = sorted(departments, key=lambda d: (d.order, d.id))
        rank = {d.id: i for i, d in enumerate(self.departments)}
        self.services = sorted(services, key=lambda s: (rank[s.department], s.order))
        self._by_id = {s.id: s for s in self.services}
        self._index: SearchIndex | None = None

    @classmethod
    def load(cls, path: Path | None = None) -> Catalog:
        """Load every ``*.toml`` in ``path`` (default ``kiosk.paths.SERVICES_DIR``)."""
        from kiosk.paths import SERVICES_DIR

        directory = Path(path) if path is not None else SERVICES_DIR
        files = sorted(directory.glob("*.toml"))
        if not files:
            raise CatalogError(str(directory), None, None, "no department files (*.toml)")
        departments: list[Department] = []
        services: list[Service] = []
        seen_services: dict[str, str] = {}
        seen_departments: dict[str, str] = {}
        for file in files:
            dep, entries = load_department_file(file)
            if dep.id in seen_departments:
                raise CatalogError(file.name, "department", "id",
                                   f"{dep.id!r} already defined in {seen_departments[dep.id]}")
            seen_departments[dep.id] = file.name
            departments.append(dep)
            for service in entries:
                if service.id in seen_services:
                    raise CatalogError(file.name, service.id, "id",
                                       f"duplicate id, first defined in {seen_services[service.id]}")
                seen_services[service.id] = file.name
                services.append(service)
        return cls(departments, services)

    @classmethod
    def check(cls, path: Path | None = None) -> list[CatalogError]:
        """Every fault in a candidate catalog (one per bad entry), for ``kiosk catalog check``."""
        from kiosk.paths import SERVICES_DIR

        directory = Path(path) if path is not None else SERVICES_DIR
        errors: list[CatalogError] = []
        files = sorted(directory.glob("*.toml"))
        if not files:
            return [CatalogError(str(directory), None, None, "no department files (*.toml)")]
        seen: dict[str, str] = {}
        deps: dict[str, str] = {}
        for file in files:
            try:
                dep, services = load_department_file(file, errors)
            except CatalogError as exc:
                errors.append(exc)
                continue
            if dep.id in deps:
                errors.append(CatalogError(file.name, "department", "id",
                                           f"{dep.id!r} already defined in {deps[dep.id]}"))
            deps.setdefault(dep.id, file.name)
            for service in services:
                if service.id in seen:
                    errors.append(CatalogError(file.name, service.id, "id",
                                               f"duplicate id, first defined in {seen[service.id]}"))
                seen.setdefault(service.id, file.name)
        return errors

    def get(self, service_id: str) -> Service:
        """The service with this id; KeyError names it when absent."""
        try:
            return self._by_id[service_id]
        except KeyError:
            raise KeyError(f"no service {service_id!r} in the catalog") from None

    def department(self, dep_id: str) -> Department:
        for dep in self.departments:
            if dep.id == dep_id:
                return dep
        raise KeyError(f"no department {dep_id!r} in the catalog")

    def in_department(self, dep_id: str) -> list[Service]:
        return [s for s in self.services if s.department == dep_id]

    def hot(self) -> list[Service]:
        return [s for s in self.services if s.hot]

    def search(self, text: str, lang: str = "zh_CN", limit: int = 20) -> list[Service]:
        """Services matching what the resident has typed so far, best first."""
        if self._index is None:
            from kiosk.catalog.search import SearchIndex

            self._index = SearchIndex(self.services)
        return self._index.search(text, lang, limit)

    def __len__(self) -> int:
        return len(self.services)
