"""One idempotency key per attempt, end to end, inside the signature.

A submission whose answer is lost (central filed it, the reply never came back) goes to the
outbox; it must reach central under the key the online call used, or the resident's
application is filed twice. And the key picks central's cached reply, so a key changed on the
way must break the signature rather than hand one resident another's application.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
import requests

from kiosk.catalog.services import Catalog
from kiosk.central.client import CentralClient
from kiosk.central.errors import CentralUnavailable
from kiosk.central.signing import load_key, sign_headers
from kiosk.visit.effects import VisitEffects
from kiosk.visit.flow import Flow, Step
from kiosk.visit.service_run import attempt_key
from kiosk.visit.session import Session
from offline_queue import Outbox
from offline_queue.sync import SyncWorker
from tests.fixtures.central import DEMO_KEY_FILE, DEMO_TERMINAL

SLOW = 1.5  # seconds central takes before it files and answers
READ_TIMEOUT = 0.5  # the terminal gives up long before


def _wait_for(condition: Callable[[], object], what: str, timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def sim(central_sim):
    central_sim.reset()
    yield central_sim
    central_sim.reset()


def test_a_submission_that_timed_out_after_central_filed_it_is_filed_once(sim, tmp_path):
    catalog = Catalog.load()
    client = CentralClient(sim.url, DEMO_TERMINAL, load_key(DEMO_KEY_FILE),
                           timeout=(2.0, READ_TIMEOUT), retries=2, backoff=0.01)
    outbox = Outbox(tmp_path / "outbox.sqlite", key=b"k" * 32)
    try:
        flow = Flow(catalog, VisitEffects(client, terminal_id=DEMO_TERMINAL, outbox=outbox))
        flow.start()
        flow.choose_service("hall_12345")  # 12345 留言: a submission that may be queued
        flow.confirm_intro()
        assert flow.step is Step.INPUTS
        choice = flow.service.inputs[0].options["options"][0]["value"]
        inputs = {"category": choice, "content": "STREET LIGHT BROKEN", "mobile": "13800138000"}
        sim.faults(latency=SLOW)
        flow.submit_inputs(inputs)
        # The read timed out: the resident got the offline receipt, the request is queued ...
        assert flow.step is Step.RESULT and flow.result.queued
        queued_key = flow.result.reference
        # ... but central did the work: it filed the application after the terminal gave up.
        _wait_for(lambda: [r for r in sim.admin("/_admin/received?path=:submit")["requests"]
                           if r["status"] is not None], "central to file the slow submission")
        sim.faults(latency=0.0)

        report = SyncWorker(outbox, client.upload_transactions,
                            unavailable=(CentralUnavailable,)).sync_once(force=True)
        assert report.sent == 1 and outbox.stats()["pending"] == 0
        arrived = sim.admin("/_admin/transactions")["transactions"]
        assert [t["key"] for t in arrived] == [queued_key]

        # Central deduplicates by key: asked with the queued transaction's key, it answers with
        # the application it already filed (the simulator numbers them from 1 after a reset);
        # a key it has never seen would file a second application, number 2.
        again = client.submit("hall_12345", None, inputs,
                              idempotency_key=queued_key)
        assert again["application_number"].endswith("000001"), (
            f"the outbox's key {queued_key} is not the key central filed the application under; "
            f"it filed {again['application_number']}")
        submits = sim.admin("/_admin/received?path=:submit")["requests"]
        assert len(submits) == 2  # the timed-out call and this check: no retry filed another
    finally:
        client.close()
        outbox.close()


@pytest.mark.expected_errors(r"visit error central\.timeout")
def test_trying_again_after_a_lost_answer_gets_the_first_application(sim):
    """No outbox: the resident sees the error, goes back and sends the same form again. That
    is the same attempt (central has not answered it), so central answers with the application
    it filed from the lost call; a new attempt after an answer is filed anew."""
    catalog = Catalog.load()
    client = CentralClient(sim.url, DEMO_TERMINAL, load_key(DEMO_KEY_FILE),
                           timeout=(2.0, READ_TIMEOUT), retries=2, backoff=0.01)
    try:
        flow = Flow(catalog, VisitEffects(client, terminal_id=DEMO_TERMINAL, outbox=None))
        flow.start()
        choice = catalog.get("hall_12345").inputs[0].options["options"][0]["value"]
        inputs = {"category": choice, "content": "BENCH BROKEN", "mobile": "13800138000"}

        def send() -> None:
            flow.choose_service("hall_12345")
            flow.confirm_intro()
            flow.submit_inputs(dict(inputs))

        sim.faults(latency=SLOW)
        send()
        assert flow.step is Step.ERROR and flow.error_key == "central.timeout"
        _wait_for(lambda: [r for r in sim.admin("/_admin/received?path=:submit")["requests"]
                           if r["status"] is not None], "central to file the slow submission")
        sim.faults(latency=0.0)
        flow.back()
        send()  # the resident tries again
        assert flow.step is Step.RESULT
        assert flow.result.reference.endswith("000001"), flow.result.reference
        flow.back()
        send()  # a second application, deliberately, after seeing the first
        assert flow.step is Step.RESULT and flow.result.reference.endswith("000002")
    finally:
        client.close()


def _ticket_request(sim, key: str, business: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"business": business, "service_id": None, "identity": None}).encode()
    headers = sign_headers(DEMO_TERMINAL, load_key(DEMO_KEY_FILE), "POST", "/v1/queue/tickets",
                           body, idempotency_key=key)
    headers["Content-Type"] = "application/json"
    return body, headers


def test_an_idempotency_key_changed_after_signing_is_refused(sim):
    url = sim.url + "/v1/queue/tickets"
    # A first resident's ticket, cached by central under its key.
    body, headers = _ticket_request(sim, "attempt-of-resident-one", "shebao")
    first = requests.post(url, data=body, headers=headers, timeout=5)
    assert first.status_code == 200, first.text

    # Someone on the way re-keys a second resident's request with the first one's key: today
    # central would answer with the first resident's cached ticket.
    body, headers = _ticket_request(sim, "attempt-of-resident-two", "shebao")
    headers["Idempotency-Key"] = "attempt-of-resident-one"
    swapped = requests.post(url, data=body, headers=headers, timeout=5)
    assert swapped.status_code == 401, swapped.text
    assert swapped.json()["error"]["code"] == "bad_signature"
    assert swapped.json() != first.json()

    # Dropping the signed key is refused too (central would file it as a new request).
    body, headers = _ticket_request(sim, "attempt-of-resident-three", "shebao")
    del headers["Idempotency-Key"]
    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 401

    # The request as signed goes through, and a repeat of the first key gets the first ticket.
    body, headers = _ticket_request(sim, "attempt-of-resident-one", "shebao")
    repeat = requests.post(url, data=body, headers=headers, timeout=5)
    assert repeat.status_code == 200
    assert repeat.json()["ticket_number"] == first.json()["ticket_number"]


def test_an_attempt_keeps_its_key_until_central_answers_it():
    session = Session(started=0.0, last_activity=0.0)
    inputs = {"mobile": "13800138000"}
    first = attempt_key(session.attempt("rs_sydj"), "rs_sydj", inputs)
    assert attempt_key(session.attempt("rs_sydj"), "rs_sydj", dict(inputs)) == first  # a retry
    assert attempt_key(session.attempt("rs_sydj"), "rs_sydj", {"mobile": "13900139000"}) != first
    assert attempt_key(session.attempt("rs_syj"), "rs_syj", inputs) != first
    session.attempt_answered("rs_sydj")  # a new attempt after central answered the first
    assert attempt_key(session.attempt("rs_sydj"), "rs_sydj", inputs) != first
    other = Session(started=0.0, last_activity=0.0)
    assert attempt_key(other.attempt("rs_sydj"), "rs_sydj", inputs) != first
    assert "13800138000" not in first
