"""CentralClient against the real simulator process: typed errors, retries only where a
repeat is harmless, connection reuse, transactions, faces. (Heartbeats, commands and
enrolment are the fleet's: tests/kiosk/central/test_fleet_client.py.)"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from kiosk.central.client import CentralClient
from kiosk.central.errors import (
    BadResponse,
    CentralError,
    CentralTimeout,
    CentralUnavailable,
    NotFound,
    RateLimited,
    Rejected,
    Unauthorized,
)
from tests.fixtures.central import DEMO_TERMINAL, PENSIONER


def received(sim, path: str) -> list[dict]:
    return sim.admin(f"/_admin/received?path={path}")["requests"]


def test_platform_down_is_unavailable_and_retried(central_sim, central_client):
    central_sim.faults(down=True)
    with pytest.raises(CentralUnavailable) as info:
        central_client.query("rs_cbzm", PENSIONER, {})
    assert info.value.status == 503 and info.value.message_key == "central.unavailable"
    assert len(received(central_sim, "rs_cbzm:query")) == 3  # 1 + 2 retries: a query is harmless to repeat


def test_a_single_use_write_is_not_retried(central_sim, central_client):
    central_sim.faults(down=True)
    with pytest.raises(CentralUnavailable):
        central_client.identify_by_code("NOT-A-REAL-CODE")
    assert len(received(central_sim, "/identity/code")) == 1


def test_transient_500s_are_ridden_out_for_idempotent_calls(central_sim, central_client):
    central_sim.faults(error_rate=0.5)  # every second call fails
    reply = central_client.query("rs_cbzm", PENSIONER, {})
    assert reply["service_id"] == "rs_cbzm"
    statuses = [r["status"] for r in received(central_sim, "rs_cbzm:query")]
    assert statuses[-1] == 200 and 500 in statuses


def test_one_service_down(central_sim, central_client):
    central_sim.faults(services_down=["rs_jfmx"])
    with pytest.raises(CentralUnavailable) as info:
        central_client.query("rs_jfmx", PENSIONER, {})
    assert info.value.code == "service_down"
    assert central_client.query("rs_cbzm", PENSIONER, {})["kind"] == "key_value"


def test_slow_platform_times_out_without_retrying(central_sim, central_sim_url_client):
    central_sim.faults(latency=1.5)
    with pytest.raises(CentralTimeout) as info:
        central_sim_url_client.query("rs_cbzm", PENSIONER, {})
    assert isinstance(info.value, CentralUnavailable)
    assert (info.value.message_key, info.value.phase) == ("central.timeout", "read")
    central_sim.faults(latency=0)
    assert len(received(central_sim, "rs_cbzm:query")) == 1  # slow, not down: no second try


@pytest.fixture
def central_sim_url_client(central_sim, central_client):
    """A client with a 0.5 s read timeout (timeouts tested without waiting long)."""
    from kiosk.central.signing import load_key
    from tests.fixtures.central import DEMO_KEY_FILE

    client = CentralClient(central_sim.url, DEMO_TERMINAL, load_key(DEMO_KEY_FILE),
                           timeout=(1.0, 0.5), retries=2, backoff=0.01)
    yield client
    client.close()


def test_dropped_connection_is_unavailable(central_sim, central_client):
    central_sim.faults(drop=True)
    with pytest.raises(CentralUnavailable):
        central_client.update_metadata()


def test_nothing_listening_is_unavailable():
    client = CentralClient("http://127.0.0.1:9", DEMO_TERMINAL, b"k" * 32, retries=1, backoff=0.01)
    with pytest.raises(CentralUnavailable):
        client.query("rs_cbzm", PENSIONER, {})


def test_unknown_service_is_not_found(central_client):
    with pytest.raises(NotFound) as info:
        central_client.query("no_such_service", PENSIONER, {})
    assert info.value.status == 404 and info.value.code == "unknown_service"


def test_rate_limited_carries_retry_after(central_sim, central_client):
    central_sim.faults(rate_limited=True)
    with pytest.raises(RateLimited) as info:
        central_client.query("rs_cbzm", PENSIONER, {})
    assert info.value.retry_after == 2.0
    assert len(received(central_sim, "rs_cbzm:query")) == 1  # a 429 is not hammered


def test_wrong_key_is_unauthorized(central_sim):
    client = CentralClient(central_sim.url, DEMO_TERMINAL, b"\x00" * 32, retries=0)
    with pytest.raises(Unauthorized) as info:
        client.update_metadata()
    assert info.value.code == "bad_signature" and info.value.message_key == "central.unauthorized"


def test_unknown_terminal_is_unauthorized(central_sim):
    from kiosk.central.signing import load_key
    from tests.fixtures.central import DEMO_KEY_FILE

    client = CentralClient(central_sim.url, "GZ-NOT-ENROLLED", load_key(DEMO_KEY_FILE), retries=0)
    with pytest.raises(Unauthorized, match="unknown_terminal"):
        client.update_metadata()


def test_full_slot_is_rejected(central_client):
    day = "2030-01-07"  # a Monday
    slots = central_client.appointment_slots("shebao", day)["slots"]
    full = [s for s in slots if s["available"] == 0]
    target = full[0] if full else slots[0]
    for _ in range(target["available"]):
        central_client.book_appointment(target["slot_id"], PENSIONER, business="shebao")
    with pytest.raises(Rejected) as info:
        central_client.book_appointment(target["slot_id"], PENSIONER, business="shebao")
    assert info.value.status == 409 and info.value.code == "slot_full"


def test_submit_with_same_idempotency_key_files_once(central_sim, central_client):
    first = central_client.submit("rs_sbk_sl", PENSIONER, {"mobile": "13800138000"}, idempotency_key="abc")
    again = central_client.submit("rs_sbk_sl", PENSIONER, {"mobile": "13800138000"}, idempotency_key="abc")
    other = central_client.submit("rs_sbk_sl", PENSIONER, {"mobile": "13800138000"})
    assert first["application_number"] == again["application_number"] != other["application_number"]


def test_transactions_dedup_by_key(central_sim, central_client):
    batch = [{"key": f"k{i}", "stream": "evaluations", "created_at": "2026-11-24T10:00:00+08:00",
              "payload": {"rating": "satisfied", "n": i}} for i in range(3)]
    assert central_client.upload_transactions(batch) == {"accepted": ["k0", "k1", "k2"], "rejected": []}
    again = batch[1:] + [{"key": "k3", "stream": "audit", "created_at": "2026-11-24T02:05:00Z", "payload": {}},
                         {"key": "k4", "created_at": "2026-11-24T02:05:00Z", "payload": {}}]
    reply = central_client.upload_transactions(again)
    assert reply["accepted"] == ["k1", "k2", "k3"]
    assert reply["rejected"] == [{"key": "k4", "reason": "$: stream required"}]
    stored = central_sim.admin("/_admin/transactions")["transactions"]
    assert [t["key"] for t in stored] == ["k0", "k1", "k2", "k3"]
    assert stored[1]["payload"]["n"] == 1 and stored[0]["terminal"] == DEMO_TERMINAL


def _jpeg(top_left: tuple[int, int, int]) -> bytes:
    image = Image.new("RGB", (64, 48), (120, 110, 100))
    image.paste(top_left, (0, 0, 16, 16))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def test_face_match_and_mismatch(central_client):
    assert central_client.verify_face(PENSIONER, _jpeg((128, 128, 128)))["match"] is True
    assert central_client.verify_face(PENSIONER, _jpeg((255, 0, 0)))["match"] is False
    reply = central_client.verify_identity(PENSIONER, face_jpeg=_jpeg((255, 0, 0)))
    assert (reply["verified"], reply["reason"]) == (False, "face_mismatch")
    assert central_client.verify_identity(PENSIONER)["verified"] is True


def test_bad_jpeg_is_rejected(central_client):
    with pytest.raises(Rejected, match="bad_image"):
        central_client.verify_face(PENSIONER, b"not a jpeg")


def test_document_is_a_pdf(central_client):
    reply = central_client.query("hz_hjzm", PENSIONER, {})
    pdf = central_client.fetch_document(reply["document_id"])
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    with pytest.raises(NotFound):
        central_client.fetch_document("DNOPE")


def test_connection_is_reused(central_client):
    central_client.update_metadata()
    pool = next(iter(central_client._session.adapters["http://"].poolmanager.pools._container.values()))
    before = pool.num_connections
    for _ in range(5):
        central_client.update_metadata()
    assert pool.num_connections == before == 1


def test_wrong_shaped_reply_is_bad_response(central_sim, central_client):
    # the update metadata endpoint answers, but not with what the caller needs
    with pytest.raises(BadResponse):
        central_client._json("GET", "/v1/updates", {"commands": list}, idempotent=True)


def test_every_error_has_a_message_key():
    keys = {cls.message_key for cls in (CentralError, CentralUnavailable, CentralTimeout, NotFound,
                                        RateLimited, Unauthorized, Rejected, BadResponse)}
    assert len(keys) == 8 and all(k.startswith("central.") for k in keys)


def test_the_platform_has_no_heartbeat_nor_enrolment(central_client):
    """They are the fleet service's: the government platform answers 404 for both."""
    assert not hasattr(central_client, "heartbeat") and not hasattr(central_client, "enroll")
    for path in (f"/v1/terminals/{DEMO_TERMINAL}/heartbeat", "/v1/terminals:enroll"):
        with pytest.raises(NotFound):
            central_client._request("POST", path, body={}, idempotent=False)
