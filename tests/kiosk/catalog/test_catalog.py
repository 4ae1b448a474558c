"""The catalog as shipped, and what a technician sees when a candidate catalog is wrong."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.catalog.services import A4_TEMPLATES, LANGS, RECEIPT_TEMPLATES, Catalog, CatalogError
from kiosk.paths import SERVICES_DIR


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_shipped_catalog_is_big_enough(catalog):
    assert len(catalog.services) >= 100
    assert len(catalog.departments) >= 12
    assert len({s.id for s in catalog.services}) == len(catalog.services)
    assert 6 <= len(catalog.hot()) <= 10


def test_departments_are_ordered_and_named(catalog):
    orders = [d.order for d in catalog.departments]
    assert orders == sorted(orders)
    ids = {d.id for d in catalog.departments}
    assert {"rs", "yb", "gjj", "sw", "bdc", "jg", "crj", "hz", "mz", "wj", "cl", "jy", "sj", "hall"} <= ids
    for dep in catalog.departments:
        assert set(dep.names) == set(LANGS) and dep.icon
        assert catalog.in_department(dep.id), dep.id


def test_contribution_details_entry_matches_the_brief(catalog):
    s = catalog.get("rs_jfmx")
    assert s.names["zh_CN"] == "个人社保缴费明细查询"
    assert s.result.kind == "table"
    assert [c.title("zh_CN") for c in s.result.columns] == ["年月", "险种", "缴费基数", "个人缴费", "单位缴费", "缴费状态"]
    assert [c.format for c in s.result.columns] == ["month", "status", "money", "money", "money", "status"]
    assert (s.print_receipt, s.print_a4) == ("service_receipt", "social_insurance_payments")
    assert s.hot and s.department == "rs"


def test_every_service_is_complete_in_three_languages(catalog):
    for s in catalog.services:
        for lang in LANGS:
            assert s.name(lang).strip() and s.what_you_need[lang].strip(), s.id
            for f in s.inputs:
                assert f.label(lang) and f.error(lang), (s.id, f.name)
            for c in s.result.columns:
                assert c.title(lang), (s.id, c.key)
        assert s.print_receipt in (None, *RECEIPT_TEMPLATES)
        assert s.print_a4 in (None, *A4_TEMPLATES)
        assert s.minutes > 0


def test_catalog_names_the_hall_services(catalog):
    names = {s.name("zh_CN") for s in catalog.services}
    for expected in ("取号排队", "预约办事", "办件进度查询", "电子证照打印", "好差评", "12345热线留言"):
        assert expected in names


def test_a4_templates_of_the_brief_are_used(catalog):
    used = {s.print_a4 for s in catalog.services}
    assert {"social_insurance_certificate", "social_insurance_payments", "tax_certificate", "property_search"} <= used


def _candidate(tmp_path: Path) -> Path:
    target = tmp_path / "services"
    shutil.copytree(SERVICES_DIR, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("old,new,entry,field_name", [
    ('auth = "id_card"', 'auth = "password"', "rs_cbzm", "auth"),
    ('format = "month"', 'format = "lunar"', "rs_jfmx", "result.columns[0].format"),
    ('kind = "month_range"', 'kind = "month_ranges"', "rs_jfmx", "inputs[0].kind"),
    ('minutes = 3', 'minutes = "3"', "rs_jfmx", "minutes"),
    ('a4 = "social_insurance_payments"', 'a4 = "social_insurance_payments_v2"', "rs_jfmx", "print.a4"),
    ('en = "Social insurance contribution details"', 'fr = "x"', "rs_jfmx", "names.en"),
    ('hours = "00:00-24:00"', 'hours = "18:00-08:00"', "rs_cbzm", "hours"),
])
def test_bad_entry_names_file_entry_field(tmp_path, old, new, entry, field_name):
    directory = _candidate(tmp_path)
    rs = directory / "rs.toml"
    text = rs.read_text(encoding="utf-8")
    if entry == "rs_jfmx":  # edit inside the rs_jfmx entry, not the first match in the file
        head, tail = text.split('id = "rs_jfmx"', 1)
        assert old in tail
        rs.write_text(head + 'id = "rs_jfmx"' + tail.replace(old, new, 1), encoding="utf-8")
    else:
        _edit(rs, old, new)
    with pytest.raises(CatalogError) as info:
        Catalog.load(directory)
    err = info.value
    assert (err.file, err.entry, err.field) == ("rs.toml", entry, field_name)
    assert str(err).startswith(f"rs.toml: {entry}: {field_name}: ")


def test_duplicate_id_across_files_is_refused(tmp_path):
    directory = _candidate(tmp_path)
    _edit(directory / "yb.toml", 'id = "yb_cbzm"', 'id = "rs_cbzm"')
    with pytest.raises(CatalogError, match="duplicate id, first defined in rs.toml"):
        Catalog.load(directory)


def test_broken_toml_is_reported_with_the_file(tmp_path):
    directory = _candidate(tmp_path)
    (directory / "zz.toml").write_text("[department\nid = 1\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"^zz.toml: not valid TOML"):
        Catalog.load(directory)


def _kiosk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True,
                          text=True, timeout=60)


def test_cli_check_reports_every_bad_entry(tmp_path):
    directory = _candidate(tmp_path)
    _edit(directory / "rs.toml", 'auth = "id_card"', 'auth = "password"')
    _edit(directory / "jg.toml", 'kind = "plate"', 'kind = "plates"')
    bad = _kiosk("catalog", "check", str(directory))
    assert bad.returncode == 1
    assert "rs.toml: rs_cbzm: auth:" in bad.stderr
    assert "jg.toml: jg_wfcx: inputs[0].kind:" in bad.stderr
    good = _kiosk("catalog", "check")
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("ok: ")


def test_cli_json_lists_entries():
    out = _kiosk("catalog", "--json")
    assert out.returncode == 0, out.stderr
    entries = json.loads(out.stdout)
    assert len(entries) >= 100
    first = entries[0]
    for key in ("id", "department", "names", "auth", "inputs", "result", "print", "offline"):
        assert key in first
    assert set(first["names"]) == {"zh_CN", "zh_HK", "en"}
