"""Phone codes (网络身份码) end to end below the screens: the central simulator mints and
honours them once within 60 s, the terminal's client turns them into an identity or a typed
refusal, and a visit whose service accepts them is identified by one. Real HTTP on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from kiosk.catalog.services import Catalog, CatalogError, load_department_file
from kiosk.central.errors import AppCodeRefused, CentralUnavailable
from kiosk.visit.effects import VisitEffects
from kiosk.visit.flow import Flow, Step
from simulators.central import app_codes
from tests.fixtures.central import DEMO_TERMINAL


def _code(central_sim, **body) -> str:
    return central_sim.admin("/_admin/app-codes", body)["code"]


def test_a_fresh_code_names_the_resident_and_carries_no_id_number(central_sim, central_client):
    code = _code(central_sim)
    assert "440104198503120020" not in code and "林晓梅" not in code
    identity = central_client.identify_by_code(code, scanned_by="scanner")
    assert (identity.id_number, identity.name, identity.card_type, identity.source) == (
        "440104198503120020", "林晓梅", "resident", "app_code")


def test_a_2023_foreigners_card_holder_by_code(central_sim, central_client):
    identity = central_client.identify_by_code(_code(central_sim, person="foreign_permanent_2023"))
    assert (identity.card_type, identity.id_number) == ("foreign_permanent", "944124198807150023")


def test_a_code_works_once(central_sim, central_client):
    code = _code(central_sim)
    central_client.identify_by_code(code)
    with pytest.raises(AppCodeRefused) as info:
        central_client.identify_by_code(code)
    assert (info.value.reason, info.value.status, info.value.message_key) == (
        "code_used", 409, "app_code.code_used")


def test_two_terminals_racing_with_one_code_get_one_identity(central_sim, central_client):
    code, outcomes = _code(central_sim), []
    barrier = threading.Barrier(4)

    def use() -> None:
        barrier.wait()
        try:
            outcomes.append(central_client.identify_by_code(code).source)
        except AppCodeRefused as exc:
            outcomes.append(exc.reason)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(outcomes) == ["app_code", "code_used", "code_used", "code_used"]


def test_an_expired_code_is_refused_as_expired(central_sim, central_client):
    with pytest.raises(AppCodeRefused) as info:
        central_client.identify_by_code(_code(central_sim, lifetime=-1))
    assert (info.value.reason, info.value.status) == ("code_expired", 410)


def test_codes_live_sixty_seconds():
    code = app_codes.mint("resident", now=1000.0)
    assert app_codes.read(code, now=1059.0)[0] == "resident"
    with pytest.raises(app_codes.CodeRefused) as info:
        app_codes.read(code, now=1060.5)
    assert info.value.reason == "code_expired"


@pytest.mark.parametrize("forge", [
    lambda c: c[:-1] + ("0" if c[-1] != "0" else "1"),  # the MAC broken
    lambda c: "KSIM1.e30.0123456789abcdef01234567",       # made up
    lambda c: "https://example.invalid/not-a-code",       # someone else's QR
])
def test_a_forged_or_foreign_code_is_unknown(central_sim, central_client, forge):
    with pytest.raises(AppCodeRefused) as info:
        central_client.identify_by_code(forge(_code(central_sim)))
    assert (info.value.reason, info.value.status) == ("code_unknown", 404)


def test_a_code_is_never_retried_by_the_client(central_sim, central_client):
    """A retry after a lost answer would only be refused as used: one request, one error."""
    central_sim.faults(error_rate=1.0)
    with pytest.raises(CentralUnavailable):
        central_client.identify_by_code(_code(central_sim))
    central_sim.faults(error_rate=0.0)
    sent = central_sim.admin("/_admin/received?path=/v1/identity/code")["requests"]
    assert len(sent) == 1


def test_kiosk_sim_app_code_prints_a_code_and_its_qr(central_sim, central_client, tmp_path):
    import cv2

    png = tmp_path / "code.png"
    out = subprocess.run([sys.executable, "-m", "simulators.cli", "app-code", "--person",
                          "hmt_residence", "--png", str(png)], capture_output=True, text=True,
                         check=True, timeout=60)
    code = out.stdout.strip()
    text, _points, _ = cv2.QRCodeDetector().detectAndDecode(cv2.imread(str(png)))
    assert text == code
    assert central_client.identify_by_code(code).card_type == "hmt_residence"


def test_the_catalog_says_which_services_take_a_code_and_refuses_nonsense(tmp_path):
    catalog = Catalog.load()
    accepting = {s.id for s in catalog.services if s.accepts_app_code}
    assert {"rs_jfmx", "gjj_zh"} <= accepting
    assert not catalog.get("rs_sbk_sl").accepts_app_code
    bad = tmp_path / "bad.toml"
    text = (catalog_dir() / "rs.toml").read_text(encoding="utf-8")
    bad.write_text(text.replace('auth = "id_card+face"\n', 'auth = "id_card+face"\n', 1)
                   .replace('app_code = true', 'app_code = "yes"', 1), encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_department_file(bad)
    assert info.value.field == "app_code"


def catalog_dir():
    from kiosk.paths import CONFIG_DIR

    return CONFIG_DIR / "services"


def _visit(central_client, service_id: str) -> Flow:
    flow = Flow(Catalog.load(), VisitEffects(central_client, terminal_id=DEMO_TERMINAL))
    flow.can_scan_code = True
    flow.start()
    flow.choose_service(service_id)
    flow.confirm_intro()
    assert flow.step is Step.PLACE_CARD
    return flow


def test_a_visit_identified_by_a_scanned_code_gets_its_result(central_sim, central_client):
    flow = _visit(central_client, "gjj_zh")
    flow.code_scanned(_code(central_sim), "scanner")
    assert flow.step is Step.RESULT, (flow.step, flow.card_problem, flow.error_detail)
    assert flow.identity.source == "app_code" and flow.identity.id_number == "440104198503120020"


@pytest.mark.parametrize(("lifetime", "use_first", "problem"), [
    (-1, False, "app_code.code_expired"), (60, True, "app_code.code_used")])
def test_a_refused_code_is_said_and_the_visit_waits_for_another(central_sim, central_client,
                                                               lifetime, use_first, problem):
    code = _code(central_sim, lifetime=lifetime)
    if use_first:
        central_client.identify_by_code(code)
    flow = _visit(central_client, "gjj_zh")
    flow.code_scanned(code, "scanner")
    assert (flow.step, flow.card_problem, flow.identity) == (Step.PLACE_CARD, problem, None)
    flow.code_scanned(_code(central_sim), "scanner")  # refreshed in the app
    assert flow.step is Step.RESULT


def test_a_code_is_not_taken_where_the_service_does_not_accept_it(central_sim, central_client):
    flow = _visit(central_client, "rs_sbk_jd")
    code = _code(central_sim)
    flow.code_scanned(code, "scanner")
    assert flow.step is Step.PLACE_CARD and flow.identity is None
    assert central_sim.admin("/_admin/received?path=/v1/identity/code")["requests"] == []


def test_a_late_answer_for_a_resident_who_left_is_dropped(central_sim, central_client):
    held = []
    flow = _visit(central_client, "gjj_zh")
    flow.run_async = lambda fn, done, err: held.append((fn, done, err))
    flow.code_scanned(_code(central_sim), "scanner")
    flow.code_scanned(_code(central_sim), "scanner")  # a repeat while the first is checked
    assert len(held) == 1 and flow.card_problem == "app_code.checking"
    flow.cancel()
    fn, done, _err = held[0]
    done(fn())
    assert flow.session is None and flow.step is Step.GOODBYE
    time.sleep(0)  # nothing else runs: the answer changed nothing
