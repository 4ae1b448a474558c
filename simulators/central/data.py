"""Deterministic synthetic records: the same ID number always gets the same history.

Every value comes from a ``random.Random`` seeded with a SHA-256 of (ID number, service, …), so
tests can rely on a person's records without storing any. About one person in ten has no
records for a given table service, one in five has several pages of them. Rules residents can
trip over on purpose: application numbers ending in ``999`` do not exist (404); pension
services refuse people born after 1966 (403 not_eligible).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from typing import Any

from simulators.central.catalog import SimService

CST = dt.timezone(dt.timedelta(hours=8), "CST")  # the platform's zone: China Standard Time
ELDER_ONLY = {"rs_ylj_ff", "rs_zgrz"}
TIMELINE_STEPS = ["submitted", "accepted", "reviewing", "approved", "making", "ready", "done"]
STEP_NOTES = {
    "submitted": "自助终端已提交申请", "accepted": "窗口已受理", "reviewing": "业务科室审核中",
    "approved": "审核通过", "making": "证件制作中", "mailed": "已交寄 EMS", "ready": "可到窗口领取",
    "done": "已办结", "rejected": "材料不齐，请补充后重新申请",
}
TEXTS = {
    "bank": ["中国工商银行广州分行", "中国建设银行广州分行", "广州农村商业银行", "中国银行广州分行"],
    "employer": ["广州市示例科技有限公司", "广州市越秀区某某贸易有限公司", "灵活就业人员", "广州某某物业管理有限公司"],
    "business": ["社保业务", "公积金业务", "不动产登记", "户政业务", "综合受理"],
    "hall": ["越秀区政务服务中心", "天河区政务服务中心", "海珠区政务服务中心"],
    "issuer": ["广州市公安局", "广州市民政局", "广州市人力资源和社会保障局", "广州市市场监督管理局"],
    "hospital": ["广州市第一人民医院", "中山大学附属第一医院", "广东省人民医院", "广州市妇女儿童医疗中心"],
    "location": ["环市东路与先烈路交界", "广州大道中", "东风中路", "中山五路"],
}
INSURANCE_RATES = {  # personal %, employer % of the contribution base
    "pension": (0.08, 0.14), "medical": (0.02, 0.055), "unemployment": (0.002, 0.0032),
    "injury": (0.0, 0.002),
}


def rng_for(*parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def birth_year(id_number: str | None) -> int | None:
    if id_number and len(id_number) == 18 and id_number[6:10].isdigit():
        return int(id_number[6:10])
    return None


def _months_back(count: int, today: dt.date) -> list[str]:
    year, month = today.year, today.month
    out = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        out.append(f"{year:04d}-{month:02d}")
    return out


def _row_count(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.1:
        return 0
    if r < 0.8:
        return rng.randint(3, 30)
    return rng.randint(60, 150)


def _value(col: dict, rng: random.Random, *, when: dt.datetime, identity: dict | None) -> Any:
    fmt, key = col.get("format", "text"), col["key"]
    if fmt == "month":
        return when.strftime("%Y-%m")
    if fmt == "date":
        return when.date().isoformat()
    if fmt == "datetime":
        return when.replace(microsecond=0, tzinfo=CST).isoformat()
    if fmt == "money":
        return round(rng.uniform(10, 5000), 2)
    if fmt == "number":
        return rng.randint(1, 360)
    if fmt == "percent":
        return round(rng.uniform(0, 100), 1)
    if fmt == "status":
        codes = list(col.get("values", {})) or ["normal"]
        return codes[0] if rng.random() < 0.85 else rng.choice(codes)
    if key in ("insured_name", "name", "holder") and identity:
        return identity.get("name") or "—"
    if key in ("ss_number", "social_security_number", "id_number") and identity:
        number = identity.get("id_number", "")
        return number[:6] + "*" * 8 + number[-4:] if len(number) == 18 else "—"
    if key in TEXTS:
        return rng.choice(TEXTS[key])
    if key.endswith("_number") or key.endswith("_id"):
        return f"{rng.randint(10**11, 10**12 - 1)}"
    title = col.get("titles", {}).get("zh_CN", key)
    return f"{title}{rng.randint(1, 99):02d}"


def _in_period(month: str, inputs: dict) -> bool:
    period = inputs.get("period")
    if isinstance(period, str) and "/" in period:
        start, end = period.split("/", 1)
        return start[:7] <= month <= end[:7]
    year = inputs.get("year")
    if isinstance(year, str) and year.isdigit():
        return month.startswith(year)
    return True


def contribution_rows(person: str, inputs: dict, today: dt.date) -> list[dict]:
    """rs_jfmx: four insurances a month, the base changing each July as in Guangzhou."""
    rng = rng_for(person, "rs_jfmx")
    months = _months_back(0 if rng.random() < 0.1 else rng.randint(6, 48), today)
    rows = []
    for month in months:
        if not _in_period(month, inputs):
            continue
        year_rng = rng_for(person, "base", month[:4] if month[5:] >= "07" else int(month[:4]) - 1)
        base = year_rng.choice([4588.0, 5284.0, 6200.0, 8000.0, 12000.0, 24930.0])
        state = "paid" if rng.random() < 0.92 else rng.choice(["unpaid", "arrears", "makeup"])
        for insurance, (p_rate, e_rate) in INSURANCE_RATES.items():
            rows.append({"month": month, "insurance": insurance, "base": base,
                         "personal_part": round(base * p_rate, 2),
                         "employer_part": round(base * e_rate, 2), "paid": state})
    return rows


def table_rows(service: SimService, person: str, identity: dict | None, inputs: dict,
               today: dt.date) -> list[dict]:
    if service.id == "rs_jfmx":
        return contribution_rows(person, inputs, today)
    rng = rng_for(person, service.id)
    count = _row_count(rng)
    has_month = any(c.get("format") == "month" for c in service.columns)
    rows = []
    when = dt.datetime.combine(today, dt.time(9, 30))
    for month in (_months_back(count, today) if has_month else [None] * count):
        if month is not None:
            when = dt.datetime(int(month[:4]), int(month[5:]), 15, 10, 0)
            if not _in_period(month, inputs):
                continue
        else:
            when -= dt.timedelta(days=rng.randint(2, 40), minutes=rng.randint(0, 600))
            if not _in_period(when.strftime("%Y-%m"), inputs):
                continue
        rows.append({c["key"]: _value(c, rng, when=when, identity=identity) for c in service.columns})
    return rows


def fields(service: SimService, person: str, identity: dict | None, inputs: dict,
           today: dt.date) -> dict[str, Any]:
    rng = rng_for(person, service.id, "fields")
    when = dt.datetime.combine(today, dt.time(10, 0)) - dt.timedelta(days=rng.randint(30, 900))
    out = {c["key"]: _value(c, rng, when=when, identity=identity) for c in service.columns}
    for c in service.columns:  # a field the resident chose (year, plate …) is echoed back
        if isinstance(inputs.get(c["key"]), str):
            out[c["key"]] = inputs[c["key"]]
        elif c["key"].startswith("first_") and c.get("format") == "month":
            out[c["key"]] = (when - dt.timedelta(days=365 * rng.randint(3, 25))).strftime("%Y-%m")
    return out


def timeline_rows(service: SimService, seed: str, today: dt.date) -> list[dict]:
    rng = rng_for(seed, service.id, "timeline")
    steps = TIMELINE_STEPS[:rng.randint(1, len(TIMELINE_STEPS))]
    if rng.random() < 0.05:
        steps = ["submitted", "rejected"]
    when = dt.datetime.combine(today, dt.time(9, 0)) - dt.timedelta(days=rng.randint(5, 40))
    rows = []
    for step in steps:
        rows.append({"time": when.replace(tzinfo=CST).isoformat(), "step": step, "note": STEP_NOTES[step]})
        when += dt.timedelta(hours=rng.randint(2, 72), minutes=rng.randint(0, 59))
    return rows
