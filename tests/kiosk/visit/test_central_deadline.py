"""A visit whose service waits on a central that never finishes answering — a real server on
127.0.0.1 dripping its reply a byte at a time (tests/fixtures/hostile_http.py): the resident
is told central did not answer, and the session ends like any other, identity wiped."""

from __future__ import annotations

import json
import queue
import threading

import pytest

from drivers.identity import Identity
from kiosk.catalog.services import Catalog
from kiosk.central.client import CentralClient
from kiosk.visit import service_run
from kiosk.visit.effects import VisitEffects
from kiosk.visit.flow import Flow, Step
from tests.fixtures.hostile_http import drip

RESIDENT = Identity(card_type="resident", name="林晓测", id_number="44010619850101001X",
                    sex="female", birth_date="1985-01-01", source="id_card")
# a valid reply to the service below: only its speed is wrong (about 12 s at 0.1 s a byte)
REPLY = json.dumps({"service_id": "rs_cbzm", "kind": "key_value", "reference": "R-0001",
                    "rows": [], "total_rows": 0, "fields": {"status": "insured"}}).encode()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Worker:
    """run_async on a real thread; answers come back on the test's thread, as the bridge
    brings them to the GUI thread."""

    def __init__(self):
        self.answers: queue.Queue = queue.Queue()
        self.threads: list[threading.Thread] = []

    def __call__(self, fn, on_done, on_error):
        def work():
            try:
                value = fn()
            except Exception as exc:  # noqa: BLE001 - handed to the flow, as the bridge does
                self.answers.put((on_error, exc))
            else:
                self.answers.put((on_done, value))
        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        self.threads.append(thread)

    def deliver(self, timeout: float = 30.0) -> None:
        callback, value = self.answers.get(timeout=timeout)
        callback(value)


@pytest.fixture(scope="module")
def catalog():
    return Catalog.load()


def client_for(url: str, **kw) -> CentralClient:
    return CentralClient(url, "GZ-TEST-0001", b"k" * 32, timeout=(1.0, 2.0), **kw)


def walk_to_processing(flow: Flow) -> None:
    flow.start()
    flow.choose_service("rs_cbzm")
    flow.confirm_intro()
    flow.card_read(RESIDENT)


@pytest.mark.expected_errors(r"visit error central\.timeout")
def test_a_dripping_central_gets_try_later_within_the_runs_deadline(hostile, catalog, monkeypatch):
    server = hostile(drip(REPLY, every=0.1))
    monkeypatch.setattr(service_run, "RUN_DEADLINE", 1.0)  # the whole run's budget, all calls
    clock = Clock()
    with client_for(server.url) as client:  # the default per-call deadline is longer
        flow = Flow(catalog, VisitEffects(client, terminal_id="GZ-TEST-0001"), clock=clock,
                    idle_timeout=60, countdown=20)
        ended: list[str] = []
        flow.on_session_end(ended.append)
        walk_to_processing(flow)  # the call runs inline: this returns when it has ended
        assert not server.finished.is_set(), "the visit waited as long as the server dripped"
        assert flow.step is Step.ERROR and flow.error_key == "central.timeout"
        assert flow.network_down  # the banner says what still works
        session = flow.session
        clock.now += 61
        flow.tick()
        assert flow.countdown_remaining is not None  # the error step counts down like any step
        clock.now += 20
        flow.tick()
    assert flow.session is None and session.identity is None and ended == ["idle_timeout"]
    assert flow.step is Step.ATTRACT


@pytest.mark.expected_errors(r"visit error central\.timeout")
def test_a_call_stuck_past_the_processing_deadline_cannot_hold_the_session_open(hostile, catalog):
    server = hostile(drip(REPLY, every=0.1))
    worker, clock = Worker(), Clock()
    with client_for(server.url) as client:
        flow = Flow(catalog, VisitEffects(client, terminal_id="GZ-TEST-0001"), run_async=worker,
                    clock=clock, idle_timeout=60, countdown=20)
        walk_to_processing(flow)
        assert flow.step is Step.PROCESSING
        session = flow.session
        clock.now += flow.processing_timeout - 1
        flow.tick()
        assert flow.step is Step.PROCESSING  # still within the deadline: still waiting
        clock.now += 1
        flow.tick()
        assert flow.step is Step.ERROR and flow.error_key == "central.timeout"
        clock.now += 81
        flow.tick()
        assert flow.session is None and session.identity is None
        assert flow.step is Step.ATTRACT
        server.stop.set()  # the server gives up at last; the stuck call ends
        worker.deliver()  # its late answer ...
        assert flow.step is Step.ATTRACT and flow.session is None  # ... is dropped
        assert session.result is None
