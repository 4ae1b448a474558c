"""The visit's state machine, without Qt: steps, session wipe, idle timeout, late answers.

Effects here is a recorder (the flow's port to the world); the real effects are exercised by
tests/e2e against the simulator processes.
"""

from __future__ import annotations

import pytest

from drivers.identity import Identity
from kiosk.catalog.services import Catalog
from kiosk.visit.flow import Flow, Step


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Result:
    kind = "table"

    def print_request(self, *args):
        return None


class RecordingEffects:
    def __init__(self):
        self.calls = []
        self.fail_with: Exception | None = None

    def run_service(self, service, identity, inputs, attempt=None):
        self.calls.append(("run", service.id, identity))
        if self.fail_with:
            raise self.fail_with
        return Result()

    def print_result(self, service, result, identity, lang, job_id):
        self.calls.append(("print", job_id))

    def record_evaluation(self, payload):
        self.calls.append(("rate", payload["level"]))


class Deferred:
    """run_async that holds the work until the test releases it (a slow platform)."""

    def __init__(self):
        self.pending = []

    def __call__(self, fn, on_done, on_error):
        self.pending.append((fn, on_done, on_error))

    def release(self):
        fn, on_done, on_error = self.pending.pop(0)
        try:
            value = fn()
        except Exception as exc:
            on_error(exc)
        else:
            on_done(value)


RESIDENT = Identity(card_type="resident", name="林晓测", id_number="44010619850101001X",
                    sex="female", birth_date="1985-01-01")


@pytest.fixture(scope="module")
def catalog():
    return Catalog.load()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def effects():
    return RecordingEffects()


@pytest.fixture
def flow(catalog, effects, clock):
    return Flow(catalog, effects, clock=clock, idle_timeout=60, countdown=20,
                take_documents_timeout=30)


def card_service(catalog):
    return next(s for s in catalog.services if s.auth == "id_card" and not s.inputs
                and (s.print_receipt or s.print_a4))


def test_a_whole_visit_walks_the_steps_and_wipes_the_session(flow, effects, catalog):
    service = card_service(catalog)
    steps = []
    flow.on_change(lambda f: steps.append(f.step))
    flow.start()
    flow.choose_service(service.id)
    flow.confirm_intro()
    assert flow.step is Step.PLACE_CARD
    flow.card_read(RESIDENT)
    assert flow.step is Step.RESULT
    session = flow.session
    flow.print_result()
    assert flow.step is Step.TAKE_DOCUMENTS
    flow.documents_taken()  # the card still lies on the reader: reminded, not believed
    assert flow.step is Step.TAKE_DOCUMENTS and flow.take_reminders == 1
    flow.card_removed("id_card")
    assert flow.step is Step.RATING
    flow.rate("very_satisfied")
    assert flow.step is Step.GOODBYE and flow.left_behind == set()
    assert flow.session is None and session.identity is None and session.result is None
    assert [c[0] for c in effects.calls] == ["run", "print", "rate"]
    assert steps[:4] == [Step.HOME, Step.INTRO, Step.PLACE_CARD, Step.PROCESSING]


def test_goodbye_returns_to_attract_and_resets_the_language(flow, clock, catalog):
    flow.start()
    flow.set_language("en")
    flow.cancel()
    assert flow.step is Step.GOODBYE
    clock.now += 5
    flow.tick()
    assert flow.step is Step.ATTRACT and flow.language == "zh_CN"


def test_idle_countdown_then_timeout_ends_the_session(flow, clock, catalog):
    flow.start()
    flow.choose_service(card_service(catalog).id)
    clock.now += 61
    flow.tick()
    assert flow.step is Step.INTRO and flow.countdown_remaining == pytest.approx(19)
    flow.more_time()
    assert flow.countdown_remaining is None
    clock.now += 81
    flow.tick()
    assert flow.step is Step.ATTRACT and flow.session is None


def test_no_countdown_while_the_kiosk_is_working(catalog, effects, clock):
    slow = Deferred()
    flow = Flow(catalog, effects, run_async=slow, clock=clock, idle_timeout=60, countdown=20,
                processing_timeout=1000)  # its own deadline: tests/kiosk/visit/test_central_deadline.py
    flow.start()
    flow.choose_service(card_service(catalog).id)
    flow.confirm_intro()
    flow.card_read(RESIDENT)
    assert flow.step is Step.PROCESSING
    clock.now += 500
    flow.tick()
    assert flow.step is Step.PROCESSING and flow.countdown_remaining is None


def test_a_late_answer_never_reaches_the_next_resident(catalog, effects, clock):
    slow = Deferred()
    flow = Flow(catalog, effects, run_async=slow, clock=clock)
    flow.start()
    flow.choose_service(card_service(catalog).id)
    flow.confirm_intro()
    flow.card_read(RESIDENT)
    flow.card_removed()  # the resident walked away while central was thinking
    assert flow.step is Step.GOODBYE and flow.session is None
    flow.start()
    slow.release()
    assert flow.step is Step.HOME and flow.result is None and flow.identity is None


def test_double_tap_on_print_prints_once(catalog, effects, clock):
    slow = Deferred()
    flow = Flow(catalog, effects, run_async=slow, clock=clock)
    flow.start()
    flow.choose_service(card_service(catalog).id)
    flow.confirm_intro()
    flow.card_read(RESIDENT)
    slow.release()
    flow.print_result()
    flow.print_result()
    assert len(slow.pending) == 1


def test_card_problem_stays_on_place_card_with_a_sentence(flow, catalog):
    flow.start()
    flow.choose_service(card_service(catalog).id)
    flow.confirm_intro()
    flow.card_error("card.expired", "valid until 2020-01-01")
    assert flow.step is Step.PLACE_CARD and flow.card_problem == "card.expired"


@pytest.mark.expected_errors(r"visit error central\.unavailable")
def test_central_failure_shows_the_errors_sentence(flow, effects, catalog):
    class Down(Exception):
        message_key = "central.unavailable"

    effects.fail_with = Down("connection refused")
    flow.start()
    flow.choose_service(card_service(catalog).id)
    flow.confirm_intro()
    flow.card_read(RESIDENT)
    assert flow.step is Step.ERROR and flow.error_key == "central.unavailable"
    flow.go_home()
    assert flow.step is Step.HOME and flow.identity is not None


def test_a_card_placed_early_skips_the_place_card_step(flow, catalog):
    flow.start()
    flow.choose_service(card_service(catalog).id)
    flow.card_read(RESIDENT)
    flow.confirm_intro()
    assert flow.step is Step.RESULT


def test_cards_outside_a_visit_are_ignored(flow):
    flow.card_read(RESIDENT)
    assert flow.step is Step.ATTRACT and flow.session is None


def test_a_visit_ended_with_the_card_on_the_reader_leaves_it_reported(flow, catalog):
    """Cancel (or walk away) with the card still on the reader: the terminal remembers it
    until the reader sees it taken, for the attract screen and the heartbeat."""
    flow.start()
    flow.choose_service(card_service(catalog).id)
    flow.confirm_intro()
    flow.card_read(RESIDENT)
    assert flow.step is Step.RESULT
    flow.cancel()
    assert flow.left_behind == {"id_card"}
    flow.card_removed("ss_card")  # the other reader's card: not this one
    assert flow.left_behind == {"id_card"}
    flow.card_removed("id_card")
    assert flow.left_behind == set()


@pytest.mark.expected_errors(r"visit error central\.unavailable")
def test_retry_after_a_network_blip_runs_the_same_attempt_again(flow, effects, catalog):
    """重试 where it helps: the service runs again (same idempotency key) and the result shows."""
    class Down(Exception):
        message_key = "central.unavailable"

    attempts = []
    run = effects.run_service
    effects.run_service = lambda s, i, inputs, attempt=None: (attempts.append(attempt),
                                                               run(s, i, inputs, attempt))[1]
    effects.fail_with = Down("connection refused")
    flow.start()
    flow.choose_service(card_service(catalog).id)
    flow.confirm_intro()
    flow.card_read(RESIDENT)
    assert flow.step is Step.ERROR and flow.error_retry == "service"
    effects.fail_with = None
    flow.retry()  # old code: no retry at all, only home or exit
    assert flow.step is Step.RESULT
    assert len(attempts) == 2 and attempts[0] == attempts[1]


@pytest.mark.expected_errors(r"visit error errors\.printer_paper_out")
def test_no_retry_where_it_cannot_help(flow, effects, catalog):
    class PaperOut(Exception):
        fault = "paper_out"

    flow.start()
    flow.choose_service(card_service(catalog).id)
    flow.confirm_intro()
    flow.card_read(RESIDENT)
    effects.print_result = lambda *a: (_ for _ in ()).throw(PaperOut("no paper"))
    flow.print_result()
    assert flow.step is Step.ERROR and flow.error_key == "errors.printer_paper_out"
    assert flow.error_retry is None
    flow.retry()
    assert flow.step is Step.ERROR
