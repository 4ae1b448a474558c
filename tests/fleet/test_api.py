"""The terminal-facing API against a real server, on SQLite and on a real PostgreSQL
(tests/fleet/conftest.py): what a terminal and an operator would see."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests
import sqlalchemy as sa

from fleet import schema, store
from fleet.app import housekeeping

from .conftest import healthy

ERROR_KEYS = {"error"}


def _code(reply: requests.Response) -> str:
    body = reply.json()
    assert set(body) == ERROR_KEYS and set(body["error"]) == {"code", "message"}
    return str(body["error"]["code"])


def test_an_enrolment_code_works_once(fleet):
    code = fleet.code(district="天河区", hall="石牌街")
    first = requests.post(fleet.url + "/v1/enroll", json={"code": code}, timeout=30)
    again = requests.post(fleet.url + "/v1/enroll", json={"code": code}, timeout=30)
    assert first.status_code == 200 and len(first.json()["key"]) == 64
    assert again.status_code == 403 and _code(again) == "bad_code"
    terminal = fleet.terminal(first.json()["terminal_id"])
    assert (terminal["district"], terminal["hall"], terminal["status"]) == ("天河区", "石牌街", "new")
    with fleet.engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.terminals)
                            ).scalar_one() == 1


def test_a_code_raced_by_several_machines_enrols_exactly_one(fleet):
    code = fleet.code()
    barrier = threading.Barrier(6)
    replies: list[int] = []

    def enrol() -> None:
        barrier.wait(timeout=60)
        replies.append(requests.post(fleet.url + "/v1/enroll", json={"code": code},
                                     timeout=30).status_code)

    threads = [threading.Thread(target=enrol) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(replies) == [200, 403, 403, 403, 403, 403]
    with fleet.engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.terminals)
                            ).scalar_one() == 1


def test_an_expired_or_unknown_code_is_refused(fleet):
    with fleet.engine.begin() as conn:
        stale = store.create_enrol_code(conn, actor="t", now=time.time() - 7200, ttl_s=3600)
    for code in (stale, "AAAA-BBBB-CCCC"):
        reply = requests.post(fleet.url + "/v1/enroll", json={"code": code}, timeout=30)
        assert reply.status_code == 403 and _code(reply) == "bad_code"


def test_heartbeat_is_stored_and_a_fault_opens_an_alert_that_resolves_itself(fleet):
    t = fleet.enrol(district="越秀区")
    beat = healthy(receipt_printer={"state": "error", "fault": "paper_out", "detail": "缺纸"})
    beat["outbox"] = {"pending": 7, "oldest_ready_age_s": 300.0}
    reply = t.beat(beat)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["commands"] == [] and body["next_heartbeat_s"] == 60
    assert body["server_time"].endswith("+08:00")
    seen = fleet.terminal(t.id)
    assert (seen["status"], seen["outbox_depth"], seen["outbox_oldest_s"], seen["software_version"],
            seen["screen"]) == ("online", 7, 300.0, "0.1.0", "attract")
    (alert,) = fleet.alerts(terminal_id=t.id)
    assert (alert["kind"], alert["device"], alert["code"], alert["state"]) == (
        "device", "receipt_printer", "paper_out", "open")
    # the same fault again does not open a second alert
    assert t.beat(beat).status_code == 200
    assert len(fleet.alerts(terminal_id=t.id)) == 1
    assert t.beat(healthy()).status_code == 200
    (alert,) = fleet.alerts(terminal_id=t.id)
    assert (alert["state"], alert["resolved_by"]) == ("resolved", "auto")
    with fleet.engine.begin() as conn:
        assert store.list_terminals(conn, now=time.time(), fault="paper_out")[0] == []
        rows, counts = store.list_terminals(conn, now=time.time())
    assert [r["id"] for r in rows] == [t.id] and counts["online"] == 1 and counts["faulty"] == 0


def test_a_command_is_delivered_once_and_acknowledged_once(fleet):
    t = fleet.enrol()
    cid = fleet.queue(t.id, "maintenance_on")
    first = t.beat().json()["commands"]
    assert [(c["id"], c["command"]) for c in first] == [(cid, "maintenance_on")]
    assert t.beat().json()["commands"] == []
    assert t.ack(cid, ok=True, detail="out of service shown").json() == {"recorded": True}
    assert t.ack(cid, ok=False).json() == {"recorded": False}  # a retry keeps the first
    (cmd,) = fleet.terminal(t.id)["commands"]
    assert (cmd["status"], cmd["ok"], cmd["result"]) == ("done", True,
                                                         {"detail": "out of service shown"})


def test_acks_ride_in_the_heartbeat_too(fleet):
    t = fleet.enrol()
    cid = fleet.queue(t.id)
    assert t.beat().json()["commands"][0]["id"] == cid
    beat = healthy()
    beat["acks"] = [{"id": cid, "ok": False, "detail": "printer busy"}]
    assert t.beat(beat).status_code == 200
    (cmd,) = fleet.terminal(t.id)["commands"]
    assert (cmd["status"], cmd["result"]) == ("failed", {"detail": "printer busy"})


def test_a_stale_command_expires_instead_of_running_in_the_morning(fleet):
    t = fleet.enrol()
    fleet.queue(t.id, "restart_app", ttl_s=8 * 3600, now=time.time() - 9 * 3600)
    fresh = fleet.queue(t.id, "sync_outbox", ttl_s=3600)
    assert [c["id"] for c in t.beat().json()["commands"]] == [fresh]
    states = {c["command"]: c["status"] for c in fleet.terminal(t.id)["commands"]}
    assert states == {"restart_app": "expired", "sync_outbox": "delivered"}


def test_commands_survive_a_server_restart(fleet):
    t = fleet.enrol()
    cid = fleet.queue(t.id, "reload_config")
    fleet.restart()
    t.base = fleet.url
    assert [c["id"] for c in t.beat().json()["commands"]] == [cid]


def _unchanged(fleet, terminal_id):
    seen = fleet.terminal(terminal_id)
    return seen["last_heartbeat_at"] is None and seen["devices"] is None


@pytest.mark.parametrize("attack, status, code", [
    ("unknown terminal", 401, "unknown_terminal"),
    ("wrong key", 401, "bad_signature"),
    ("stale timestamp", 401, "stale_timestamp"),
    ("body swapped", 401, "body_mismatch"),
    ("unsigned", 401, "unsigned"),
    ("acts for another terminal", 403, "terminal_mismatch"),
])
def test_a_forged_heartbeat_is_refused_and_changes_nothing(fleet, attack, status, code,
                                                          caplog):
    t = fleet.enrol()
    other = fleet.enrol()
    body = json.dumps(healthy()).encode()
    path = f"/v1/terminals/{t.id}/heartbeat"
    if attack == "unknown terminal":
        reply = t.post(path, body, as_id="GHOST-01")
    elif attack == "wrong key":
        reply = type(t)(t.base, t.id, b"k" * 32).post(path, body)
    elif attack == "stale timestamp":
        reply = t.post(path, body, timestamp=int(time.time()) - 301)
    elif attack == "body swapped":
        from kiosk.central.signing import sign_headers

        headers = sign_headers(t.id, t.key, "POST", path, body)
        headers["Content-Type"] = "application/json"
        swapped = json.dumps({**healthy(), "screen": "home"}).encode()
        reply = requests.post(t.base + path, data=swapped, headers=headers, timeout=30)
    elif attack == "unsigned":
        reply = requests.post(t.base + path, data=body,
                              headers={"Content-Type": "application/json"}, timeout=30)
    else:
        reply = other.post(path, body)
    assert (reply.status_code, _code(reply)) == (status, code)
    assert _unchanged(fleet, t.id)
    refusals = [r.getMessage() for r in caplog.records if r.name == "fleet.api"]
    assert any(f"{status} {code}" in m and path in m for m in refusals), refusals
    assert not any("attract" in m for m in refusals)  # the body is never logged


def test_a_replayed_heartbeat_is_refused(fleet):
    t = fleet.enrol()
    first = t.beat(nonce="replay-me-0001")
    again = t.beat(nonce="replay-me-0001")
    assert first.status_code == 200
    assert (again.status_code, _code(again)) == (401, "replayed_nonce")


def test_an_ack_for_another_terminals_command_is_refused(fleet):
    mine, theirs = fleet.enrol(), fleet.enrol()
    cid = fleet.queue(theirs.id)
    assert theirs.beat().json()["commands"][0]["id"] == cid
    reply = mine.ack(cid, ok=False, detail="hijacked")
    assert (reply.status_code, _code(reply)) == (404, "no_such_command")
    beat = healthy()
    beat["acks"] = [{"id": cid, "ok": False}]
    reply = mine.beat(beat)
    assert (reply.status_code, _code(reply)) == (404, "no_such_command")
    (cmd,) = fleet.terminal(theirs.id)["commands"]
    assert cmd["status"] == "delivered" and cmd["acked_at"] is None
    assert _unchanged(fleet, mine.id)  # the refused beat stored nothing either


def test_an_ack_the_fleet_never_issued_does_not_wedge_the_heartbeat(fleet):
    t = fleet.enrol()
    beat = healthy()
    beat["acks"] = [{"id": "0" * 32, "ok": True}]  # e.g. from before a database restore
    reply = t.beat(beat)
    assert reply.status_code == 200 and reply.json()["ignored_acks"] == ["0" * 32]
    assert fleet.terminal(t.id)["status"] == "online"
    direct = t.ack("0" * 32)
    assert (direct.status_code, _code(direct)) == (404, "no_such_command")


@pytest.mark.parametrize("body, content_type, status, code", [
    (b"{not json", "application/json", 400, "bad_request"),
    (json.dumps({**healthy(), "outbox": {"pending": -1}}).encode(), "application/json", 400,
     "bad_request"),
    (json.dumps({**healthy(), "surprise": 1}).encode(), "application/json", 400, "bad_request"),
    (json.dumps({**healthy(), "devices": {"printer,x:y": {"state": "ready"}}}).encode(),
     "application/json", 400, "bad_request"),
    (json.dumps(healthy()).encode(), "text/plain", 415, "unsupported_media_type"),
    (b'{"devices": {}, "reports": [' + b'{"x": 1},' * 40000 + b'{}]}', "application/json", 413,
     "too_large"),
])
def test_a_malformed_or_oversized_heartbeat_is_refused(fleet, body, content_type, status, code):
    t = fleet.enrol()
    reply = t.post(f"/v1/terminals/{t.id}/heartbeat", body, content_type=content_type)
    assert (reply.status_code, _code(reply)) == (status, code)
    assert "-1" not in reply.json()["error"]["message"]  # names the field, not the value
    assert _unchanged(fleet, t.id)


def test_a_revoked_terminal_is_refused_and_its_replacement_takes_over(fleet):
    old = fleet.enrol(district="海珠区", hall="江南中街")
    assert old.beat().status_code == 200
    with fleet.engine.begin() as conn:
        store.revoke_terminal(conn, old.id, actor="admin", now=time.time())
    refused = old.beat()
    assert (refused.status_code, _code(refused)) == (401, "terminal_revoked")
    replacement = fleet.enrol(terminal_id=old.id)
    assert replacement.id == old.id and replacement.key != old.key
    assert replacement.beat().status_code == 200
    stolen = old.beat()
    assert (stolen.status_code, _code(stolen)) == (401, "bad_signature")
    seen = fleet.terminal(old.id)
    assert (seen["state"], seen["district"], seen["hall"]) == ("enrolled", "海珠区", "江南中街")
    with fleet.engine.begin() as conn, pytest.raises(store.StoreError) as refused_code:
        store.create_enrol_code(conn, actor="t", now=time.time(), ttl_s=60,
                                terminal_id=old.id)
    assert refused_code.value.code == "terminal_enrolled"


def test_a_silent_terminal_gets_an_offline_alert_that_clears_when_it_speaks(fleet):
    t = fleet.enrol()
    assert t.beat().status_code == 200
    with fleet.engine.begin() as conn:
        conn.execute(schema.terminals.update().where(schema.terminals.c.id == t.id)
                     .values(last_heartbeat_at=time.time() - 3 * 60 - 5))
    assert fleet.terminal(t.id)["status"] == "offline"
    assert housekeeping(fleet.engine, fleet.settings) == 1
    assert housekeeping(fleet.engine, fleet.settings) == 0  # a second replica's pass: no-op
    (alert,) = fleet.alerts(terminal_id=t.id, state="open")
    assert alert["kind"] == "offline"
    assert t.beat().status_code == 200
    assert fleet.alerts(terminal_id=t.id, state="unresolved") == []


def test_telemetry_is_counted_once_per_batch(fleet):
    t = fleet.enrol(district="天河区")
    batch = {"batch_id": "b-0001", "items": [
        {"kind": "visit", "service": "hukou-cert", "at": "2026-12-01T09:12:00+08:00"},
        {"kind": "visit", "service": "hukou-cert", "at": "2026-12-01T23:59:00+08:00"},
        {"kind": "rating", "service": "hukou-cert", "at": "2026-12-01T09:14:00+08:00",
         "rating": 5},
        {"kind": "failure", "service": "sb-query", "at": "2026-12-02T00:10:00+08:00",
         "reason": "platform_down"}]}
    path = f"/v1/terminals/{t.id}/telemetry"
    assert t.post(path, json.dumps(batch).encode()).json() == {"accepted": 4, "duplicate": False}
    assert t.post(path, json.dumps(batch).encode()).json() == {"accepted": 0, "duplicate": True}
    with fleet.engine.begin() as conn:
        rows = store.usage(conn)
    got = {(r["day"], r["service"]): (r["visits"], r["failures"], r["rating_5"]) for r in rows}
    assert got == {("2026-12-01", "hukou-cert"): (2, 0, 1), ("2026-12-02", "sb-query"): (0, 1, 0)}


@pytest.mark.parametrize("item", [
    {"kind": "visit", "service": "hukou-cert", "at": "2026-12-01T09:12:00+08:00",
     "id_number": "11010519491231002X"},
    {"kind": "visit", "service": "hukou-cert", "at": "2026-12-01T09:12:00+08:00", "name": "张三"},
    {"kind": "failure", "service": "hukou-cert", "at": "2026-12-01T09:12:00+08:00",
     "reason": "x", "extra": {"address": "广州市天河区"}},
])
def test_telemetry_with_personal_data_is_refused(fleet, item):
    t = fleet.enrol()
    reply = t.post(f"/v1/terminals/{t.id}/telemetry",
                   json.dumps({"batch_id": "b-1", "items": [item]}, ensure_ascii=False).encode())
    assert (reply.status_code, _code(reply)) == (400, "personal_data")
    assert "张三" not in reply.text and "11010519491231002X" not in reply.text
    with fleet.engine.begin() as conn:
        assert store.usage(conn) == []
        assert conn.execute(sa.select(sa.func.count()).select_from(
            schema.telemetry_batches)).scalar_one() == 0


def test_diagnostics_and_screenshots_are_kept_and_unmasked_ids_refused(fleet):
    t = fleet.enrol()
    good = {"logs": ["08:00 INFO card read 4401**********1234"], "config": {"a": 1},
            "statuses": {"receipt_printer": {"state": "ready"}}}
    reply = t.post(f"/v1/terminals/{t.id}/diagnostics", json.dumps(good).encode())
    assert reply.status_code == 200 and reply.json()["size"] > 0
    leaked = {"logs": ["08:00 INFO card read 44010619900307123X"]}
    reply = t.post(f"/v1/terminals/{t.id}/diagnostics", json.dumps(leaked).encode())
    assert (reply.status_code, _code(reply)) == (400, "personal_data")
    with fleet.engine.begin() as conn:
        assert len(store.list_diagnostics(conn, t.id)) == 1
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    reply = t.post(f"/v1/terminals/{t.id}/screenshot", png, content_type="image/png")
    assert reply.status_code == 200
    reply = t.post(f"/v1/terminals/{t.id}/screenshot", b"GIF89a", content_type="image/png")
    assert (reply.status_code, _code(reply)) == (400, "bad_request")
    with fleet.engine.begin() as conn:
        shot = store.latest_screenshot(conn, t.id)
    assert shot is not None and shot["png"] == png


def test_the_heartbeat_reply_carries_the_rollout_target_of_the_terminals_group(fleet):
    canary = fleet.enrol(group="canary")
    rest = fleet.enrol(group="")
    with fleet.engine.begin() as conn:
        rid = store.create_rollout(conn, "catalog", "2026.12.1",
                                   [("canary", {"group": "canary"}), ("all", {"all": True})],
                                   actor="admin", now=time.time())
        store.advance_rollout(conn, rid, actor="admin", now=time.time())
    assert canary.beat().json()["targets"] == {"catalog": {"version": "2026.12.1",
                                                           "rollout": rid}}
    assert rest.beat().json()["targets"] == {}
    with fleet.engine.begin() as conn:
        store.advance_rollout(conn, rid, actor="admin", now=time.time())
    assert rest.beat().json()["targets"]["catalog"]["version"] == "2026.12.1"
    with fleet.engine.begin() as conn:
        store.set_rollout_state(conn, rid, "stopped", actor="admin", now=time.time())
    assert rest.beat().json()["targets"] == {}


def test_unknown_paths_and_methods_answer_with_the_error_body(fleet):
    missing = requests.get(fleet.url + "/v1/nothing", timeout=30)
    assert (missing.status_code, _code(missing)) == (404, "not_found")
    wrong = requests.get(fleet.url + "/v1/enroll", timeout=30)
    assert (wrong.status_code, _code(wrong), wrong.headers["Allow"]) == (
        405, "method_not_allowed", "POST")
    assert requests.get(fleet.url + "/healthz", timeout=30).json()["ok"] is True
