"""The terminal takes from central only what config/central-api.json promises: a reply that
breaks the document is a BadResponse before any screen or receipt sees it. The "central" here
is a real HTTP server on 127.0.0.1 that answers the wrong shapes a faulty platform (or a proxy
in between) might send; the client is the real CentralClient."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kiosk.central.client import CentralClient
from kiosk.central.contract import document, operations, validate_response
from kiosk.central.errors import BadResponse
from kiosk.paths import ROOT
from tests.fixtures.central import PENSIONER

KEY = b"k" * 32
GOOD_TICKET = {"ticket_number": "A001", "business": "shebao", "window": "03", "waiting": 2,
               "issued_at": "2026-12-01T08:01:24+08:00", "hall": "越秀区政务服务中心"}
GOOD_QUERY = {"service_id": "rs_jfmx", "kind": "table", "reference": "Q20261201ABCDEF01",
              "generated_at": "2026-12-01T08:01:24+08:00", "rows": [], "total_rows": 0, "page": 1,
              "page_size": 50, "fields": {}, "document_id": None}


class FaultyCentral:
    """Answers every request with ``self.reply`` (status, JSON body); records the paths asked."""

    def __init__(self) -> None:
        self.reply: tuple[int, Any] = (200, {})
        self.paths: list[str] = []
        central = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                central.paths.append(self.path)
                status, body = central.reply
                payload = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _any

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def central() -> Iterator[tuple[FaultyCentral, CentralClient]]:
    fake = FaultyCentral()
    fake.thread.start()
    client = CentralClient(fake.url, "GZ-DEMO-0001", KEY, timeout=(2.0, 5.0), retries=0)
    try:
        yield fake, client
    finally:
        client.close()
        fake.server.shutdown()
        fake.server.server_close()


def _bad(central, reply: tuple[int, Any], call) -> BadResponse:
    fake, client = central
    fake.reply = reply
    with pytest.raises(BadResponse) as info:
        call(client)
    assert fake.paths, "the client never asked"
    assert info.value.message_key == "central.bad_response"
    return info.value


def test_a_time_without_its_offset_is_refused_not_guessed(central):
    """Before: "2026-12-01T08:01:24" was taken as is and printed in whatever zone the terminal had."""
    err = _bad(central, (200, {**GOOD_TICKET, "issued_at": "2026-12-01T08:01:24"}),
               lambda c: c.queue_ticket("shebao"))
    assert err.code == "contract_violation"
    assert "issued_at" in err.detail and "date-time" in err.detail
    assert "08:01:24" not in err.detail  # names the rule, not the value


def test_a_fleet_heartbeat_reply_with_a_local_server_time_is_refused(central):
    """The fleet's document goes through the same loader: its replies are checked alike."""
    from kiosk.central.fleet_client import FleetBadResponse, FleetClient

    fake, client = central
    fake.reply = (200, {"server_time": "2026-12-01 08:01:24", "commands": [], "targets": {},
                        "next_heartbeat_s": 60})
    with pytest.raises(FleetBadResponse) as info:
        FleetClient(client).heartbeat({"terminal_id": "GZ-DEMO-0001"})
    assert fake.paths == ["/v1/terminals/GZ-DEMO-0001/heartbeat"]
    assert info.value.code == "contract_violation" and "server_time" in info.value.detail
    assert "08:01:24" not in info.value.detail and info.value.detail.startswith("fleet ")


@pytest.mark.parametrize("change,where", [
    ({"kind": "document", "document_id": None}, "document_id"),   # nothing to print
    ({"reference": ""}, "reference"),                             # an empty receipt reference
    ({"kind": "spreadsheet"}, "kind"),                            # a kind no screen can show
    ({"page": 0}, "page"),
    ({"kind": "timeline", "rows": [{"time": "2026-11-03T09:00:00", "step": "submitted"}]}, "time"),
    ({"rows": [["陈测试", "440104195803152012"]]}, "rows"),        # rows must be objects
])
def test_a_query_reply_the_document_forbids_is_a_bad_response(central, change, where):
    err = _bad(central, (200, {**GOOD_QUERY, **change}),
               lambda c: c.query("rs_jfmx", PENSIONER, {}))
    assert where in err.detail
    assert "陈测试" not in err.detail and "440104195803152012" not in err.detail


def test_an_unknown_verification_reason_is_a_bad_response(central):
    err = _bad(central, (200, {"verified": False, "reason": "maybe", "face": None, "person_token": "t1"}),
               lambda c: c.verify_identity(PENSIONER))
    assert "reason" in err.detail


def test_a_status_the_document_does_not_name_is_a_bad_response(central):
    """Before: any 2xx with the keys _require checks was accepted."""
    err = _bad(central, (201, GOOD_TICKET), lambda c: c.queue_ticket("shebao"))
    assert err.code == "undocumented_status" and err.status == 201


def test_a_reply_that_keeps_the_contract_is_taken(central):
    fake, client = central
    fake.reply = (200, {**GOOD_TICKET, "extra_central_field": 1})  # replies are open for growth
    assert client.queue_ticket("shebao")["ticket_number"] == "A001"


def test_every_example_reply_in_the_document_keeps_the_document():
    seen = 0
    for op_id, op in operations().items():
        for status, response in op.responses.items():
            for media in response.get("content", {}).values():
                examples = [media["example"]] if "example" in media else []
                examples += [e["value"] for e in media.get("examples", {}).values()]
                for example in examples:
                    validate_response(op_id, int(status), example)
                    seen += 1
    for example in document()["components"]["schemas"]["Error"]["examples"]:
        validate_response("queryService", 400, example)
    assert seen == 11  # one documented reply per JSON operation


def test_operations_are_found_by_operation_id_or_by_method_and_path():
    validate_response(("POST", "/v1/services/rs_jfmx:query"), 200, GOOD_QUERY)
    validate_response("takeTicket", 200, GOOD_TICKET)
    with pytest.raises(BadResponse):
        validate_response(("DELETE", "/v1/services/rs_jfmx:query"), 200, GOOD_QUERY)
    with pytest.raises(BadResponse):
        validate_response(("POST", "/v1/queue/tickets"), 200, {**GOOD_TICKET, "waiting": -1})


def test_the_client_loads_neither_the_document_nor_jsonschema_at_import():
    """Cold start: the attract screen comes first; the contract loads on the first reply."""
    code = ("import sys, kiosk.central.client, kiosk.central.contract as c; "
            "assert 'jsonschema' not in sys.modules, 'jsonschema imported'; "
            "assert c.CENTRAL._document is None, 'document read'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


OFFSET_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"


def test_the_times_the_terminal_sends_carry_their_offset(central_sim, central_client, tmp_path):
    """Outbox ``created_at`` and a queued request's ``queued_at`` reach the real simulator,
    which refuses an offset-less date-time (the heartbeat's ``sent_at`` goes to the fleet,
    whose document requires the offset too). Before: ``queued_at`` was a bare float of
    seconds, the one time on the wire without a zone written on it."""
    import re

    from kiosk.catalog.services import Catalog
    from kiosk.ops.heartbeat import TerminalFacts
    from offline_queue import Outbox
    from offline_queue.sync import SyncWorker
    from tests.fixtures.central import DEMO_TERMINAL, valid_inputs

    assert re.fullmatch(OFFSET_TIME, TerminalFacts().snapshot()["sent_at"])

    from kiosk.visit.effects import VisitEffects

    service = Catalog.load().get("hall_12345")  # 12345 留言: may wait in the outbox
    outbox = Outbox(tmp_path / "outbox.sqlite", key=b"k" * 32)
    try:
        central_sim.faults(down=True)
        result = VisitEffects(central_client, terminal_id=DEMO_TERMINAL, outbox=outbox).run_service(
            service, PENSIONER, valid_inputs(service))
        assert result.queued
        central_sim.faults(down=False)
        report = SyncWorker(outbox, central_client.upload_transactions).sync_once(force=True)
        stored = central_sim.admin("/_admin/transactions")["transactions"]
        assert len(stored) == 1, report  # accepted, not rejected for its times
        assert re.fullmatch(OFFSET_TIME, stored[0]["created_at"])
        assert re.fullmatch(OFFSET_TIME, stored[0]["payload"]["queued_at"])
    finally:
        outbox.close()
