"""A4 document templates (``config/templates/a4/*.toml``): titles, fields, table, statement.

Loading checks that every text exists in zh_CN, zh_HK and en, so a missing translation is a
load error, not a blank on paper. Sample contexts (synthetic people only) feed the
technician's page test, the bench and the tests.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass

from drivers.identity import id_number_check_digit
from kiosk.paths import CONFIG_DIR

A4_DIR = CONFIG_DIR / "templates" / "a4"
LANGS = ("zh_CN", "zh_HK", "en")


class A4TemplateError(ValueError):
    """A template is broken or the context lacks a key the document cannot go without."""


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: float = 1.0
    align: str = "left"


@dataclass(frozen=True)
class A4Template:
    name: str
    title: str
    issuer: str
    fields: tuple[tuple[str, str, str | None], ...]  # (key, label, mask)
    intro: str
    columns: tuple[Column, ...]
    rows_key: str
    totals: tuple[str, ...]
    total_label: str
    statement: str
    common: dict[str, str]


def _text(value: object, lang: str, where: str) -> str:
    if not isinstance(value, dict) or lang not in value:
        raise A4TemplateError(f"{where}: needs a text for {lang}")
    return value[lang]


@functools.lru_cache(maxsize=64)
def load_a4_template(name: str, lang: str) -> A4Template:
    if lang not in LANGS:
        raise A4TemplateError(f"unsupported document language {lang!r} (use {LANGS})")
    path = A4_DIR / f"{name}.toml"
    if name == "common" or not path.exists():
        raise A4TemplateError(f"no A4 template {name!r} (known: {', '.join(a4_template_names())})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        common_raw = tomllib.loads((A4_DIR / "common.toml").read_text(encoding="utf-8"))["labels"]
    except (tomllib.TOMLDecodeError, KeyError) as exc:
        raise A4TemplateError(f"A4 template {name}: {exc}") from exc
    for other in LANGS:  # every language must be complete, not only the one asked for
        for key in ("title", "issuer"):
            _text(data.get(key), other, f"{name}.{key}")
    common = {k: _text(v, lang, f"common.{k}") for k, v in common_raw.items()}
    table = data.get("table", {})
    columns = tuple(Column(c["key"], _text(c.get("label"), lang, f"{name} column {c['key']}"),
                           float(c.get("width", 1.0)), c.get("align", "left"))
                    for c in table.get("columns", []))
    fields = tuple((f["key"], _text(f.get("label"), lang, f"{name} field {f['key']}"),
                    f.get("mask")) for f in data.get("fields", []))
    totals = tuple(table.get("total", ()))
    return A4Template(
        name=name, title=_text(data["title"], lang, name), issuer=_text(data["issuer"], lang, name),
        fields=fields, intro=_text(data["intro"], lang, name) if "intro" in data else "",
        columns=columns, rows_key=table.get("rows", "records"), totals=totals,
        total_label=_text(table["total_label"], lang, name) if totals else "",
        statement=_text(data["statement"], lang, name) if "statement" in data else "",
        common=common)


def a4_template_names() -> list[str]:
    return sorted(p.stem for p in A4_DIR.glob("*.toml") if p.stem != "common")


def synthetic_id(seed: int = 1) -> str:
    """An invented ID number with a valid check digit (Guangzhou Tianhe prefix)."""
    first17 = f"440106{1960 + seed % 40:04d}0{1 + seed % 9}{10 + seed % 18:02d}{100 + seed % 800:03d}"
    return first17 + id_number_check_digit(first17)


def sample_a4_context(template: str, rows: int = 0) -> dict[str, object]:
    """A synthetic document context; ``rows`` > 0 makes the table that long (multi-page)."""
    base: dict[str, object] = {
        "name": "陈晓明", "id_number": synthetic_id(7), "verification_code": "8K3Q-7Z2M-XP41",
        "verify_url": "https://zwfw.example.gov.cn/verify/8K3Q7Z2MXP41",
        "terminal_id": "GZ-TH-0042", "printed_at": "2026-11-24 09:30:15",
    }
    if template == "social_insurance_certificate":
        records = [{"insurance": i, "status": "正常参保", "since": "2012-07", "months": "172"}
                   for i in ("企业职工基本养老保险", "失业保险", "工伤保险", "职工基本医疗保险", "生育保险")]
        base |= {"social_security_number": synthetic_id(7), "employer": "广州市某某科技有限公司",
                 "first_insured": "2012-07", "status": "正常参保", "as_of": "2026-11-24",
                 "records": records}
    elif template == "social_insurance_payments":
        n = rows or 24
        kinds = ("养老保险", "医疗保险", "失业保险")
        records = [{"month": f"{2026 - (i // 3) // 12}-{12 - (i // 3) % 12:02d}",
                    "insurance": kinds[i % 3], "base": "8,200.00",
                    "employer_part": ("1,312.00", "451.00", "39.36")[i % 3],
                    "personal_part": ("656.00", "164.00", "16.40")[i % 3], "paid": "已到账"}
                   for i in range(n)]
        base |= {"period": "2024-01 至 2026-10", "employer": "广州市某某科技有限公司",
                 "records": records}
    elif template == "tax_certificate":
        n = rows or 12
        records = [{"tax_period": f"2026-{(i % 12) + 1:02d}", "tax_type": "个人所得税",
                    "item": "正常工资薪金所得", "withholder": "广州市某某科技有限公司",
                    "paid_on": f"2026-{(i % 12) + 1:02d}-15", "amount": f"{120 + i * 3.5:,.2f}"}
                   for i in range(n)]
        base |= {"period": "2026-01 至 2026-12", "certificate_no": "(2026)粤税证明 44010600123",
                 "records": records}
    elif template == "property_search":
        n = rows or 2
        records = [{"certificate": f"粤(2019)广州市不动产权第{12345670 + i}号",
                    "location": f"天河区某某路{100 + i}号{1 + i}栋{801 + i}房", "area": "89.50",
                    "use": "住宅", "registered": "2019-05-20",
                    "encumbrance": "抵押" if i % 2 == 0 else "无"} for i in range(n)]
        base |= {"search_no": "CC-2026-1124-0031", "purpose": "本人查询", "records": records}
    return base
