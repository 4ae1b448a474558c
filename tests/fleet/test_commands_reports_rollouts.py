"""The fleet's side of commands, update reports and rollouts (issue 15), on both databases:
a command whose heartbeat reply was lost is delivered again after its lease (at least once,
not lost), ``check_updates`` can be sent, update reports are kept and raise an alert, and a
rollout whose canary reports failures is paused by the service's own loop."""

from __future__ import annotations

import json
import time

import jsonschema
import sqlalchemy as sa

from fleet import cli, rollouts, store
from fleet.api import API_DOC
from fleet.app import housekeeping
from fleet.schema import audit_log, commands
from fleet.settings import Settings

from .conftest import ServedApp, healthy

DOC = json.loads(API_DOC.read_text(encoding="utf-8"))


def _reply_schema() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"$ref": "#/components/schemas/HeartbeatReply",
                                            "components": DOC["components"]})


def _lease_passes(fleet, command_id: str) -> None:
    """The terminal's clock and ours move past the command's lease (the row says when)."""
    with fleet.engine.begin() as conn:
        conn.execute(commands.update().where(commands.c.id == command_id)
                     .values(lease_until=commands.c.lease_until - 10_000))


def _status(fleet, terminal_id: str, command_id: str) -> dict:
    return next(c for c in fleet.terminal(terminal_id)["commands"] if c["id"] == command_id)


def test_a_command_whose_reply_was_lost_is_delivered_again_until_acknowledged(fleet):
    """The reply carrying a command never reaches the terminal: after the lease the next
    heartbeat carries it again (on PostgreSQL through the one-statement path), an ack ends
    it, and the ack repeated for the second delivery is answered, not recorded twice."""
    t = fleet.enrol()
    assert t.beat().status_code == 200
    assert t.beat().status_code == 200  # steady: PostgreSQL's beats now take the fast path
    cid = fleet.queue(t.id, "sync_outbox")
    first = t.beat().json()["commands"]  # this reply is "lost": the terminal never runs it
    assert [(c["id"], c["delivery"]) for c in first] == [(cid, 1)]
    assert t.beat().json()["commands"] == []  # within its lease: not sent twice at once
    assert _status(fleet, t.id, cid)["status"] == "delivered"
    _lease_passes(fleet, cid)
    again = t.beat().json()
    assert [(c["id"], c["delivery"]) for c in again["commands"]] == [(cid, 2)]
    _reply_schema().validate(again)
    assert t.ack(cid, ok=True, detail="synced 3").json() == {"recorded": True}
    assert t.ack(cid, ok=True, detail="synced 3").json() == {"recorded": False}
    _lease_passes(fleet, cid)
    assert t.beat().json()["commands"] == []  # acknowledged: never again
    row = _status(fleet, t.id, cid)
    assert row["status"] == "done" and row["deliveries"] == 2


def test_a_command_never_acknowledged_stops_after_five_deliveries_as_undelivered(fleet):
    t = fleet.enrol()
    cid = fleet.queue(t.id, "collect_diagnostics")
    deliveries = []
    for _ in range(7):
        deliveries += [c["delivery"] for c in t.beat().json()["commands"] if c["id"] == cid]
        _lease_passes(fleet, cid)
    assert deliveries == [1, 2, 3, 4, 5]
    assert _status(fleet, t.id, cid)["status"] == "undelivered"
    # a late ack (the terminal did run it) still counts
    assert t.ack(cid, ok=True).json() == {"recorded": True}
    assert _status(fleet, t.id, cid)["status"] == "done"


def test_the_lease_is_two_heartbeat_intervals_and_at_least_a_minute(fleet):
    """Store level, with the clock in hand: a terminal beating every 60 s gets a command
    again 120 s after the delivery that went unacknowledged, not before."""
    with fleet.engine.begin() as conn:
        code = store.create_enrol_code(conn, actor="t", now=1000.0, ttl_s=3600)
        tid = store.enrol(conn, code, now=1000.0, interval_s=60).terminal_id
        cid = store.queue_command(conn, tid, "reload_config", actor="op", now=1000.0,
                                  ttl_s=3600)

    def beat(at: float) -> list[str]:
        with fleet.engine.begin() as conn:
            return [c["id"] for c in store.record_heartbeat(conn, tid, healthy(),
                                                            now=at)["commands"]]

    assert beat(1010.0) == [cid]
    assert beat(1129.0) == []  # 119 s: still leased
    assert beat(1131.0) == [cid]
    assert store.command_lease(10) == 60.0 and store.command_lease(300) == 600.0


def test_check_updates_can_be_queued_from_the_cli_and_reaches_the_terminal(fleet, capsys):
    t = fleet.enrol()
    assert cli.main(["--db", fleet.db_url, "command", t.id, "check_updates"]) == 0
    cid = capsys.readouterr().out.strip()
    reply = t.beat().json()
    _reply_schema().validate(reply)
    assert [(c["id"], c["command"]) for c in reply["commands"]] == [(cid, "check_updates")]
    assert cli.main(["--db", fleet.db_url, "commands", t.id, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(c["id"], c["status"], c["deliveries"]) for c in listed] == [(cid, "delivered", 1)]


ROLLED_BACK = {"update": {"type": "update", "kind": "software", "outcome": "rolled_back",
                          "version": "0.2.0", "previous": "0.1.0", "reason": "health_check",
                          "detail": "no heartbeat within 120 s; seen 11010519900307123X",
                          "name": "张三"}}


def test_an_update_report_is_kept_masked_and_opens_an_alert_until_the_version_runs(fleet):
    t = fleet.enrol()
    assert t.beat().status_code == 200
    assert t.beat().status_code == 200  # steady (PostgreSQL: a beat with reports leaves
    beat = healthy()                     # the one-statement path for the transaction path)
    beat["reports"] = [ROLLED_BACK, {"update": {"type": "update", "kind": "catalog",
                                                "outcome": "up_to_date"}},
                       {"technician": {"ok": False, "fault": "no PIN configured"}}]
    assert t.beat(beat).status_code == 200
    detail = fleet.terminal(t.id)
    reports = [e["detail"] for e in detail["events"] if e["kind"] == "report"]
    assert {r["kind"] for r in reports} == {"update", "technician"}  # up_to_date: no event
    update = next(r for r in reports if r["kind"] == "update")
    assert update["target"] == "software" and update["version"] == "0.2.0"
    assert update["ok"] is False and update["reason"] == "health_check"
    stored = json.dumps(detail["events"], ensure_ascii=False)
    assert "11010519900307123X" not in stored and "张三" not in stored
    (alert,) = [a for a in detail["alerts"] if a["kind"] == "update"]
    assert alert["code"] == "update_failed" and alert["device"] == "software"
    assert alert["version"] == "0.2.0" and "health_check" in alert["detail"]
    # the same report again (its reply was lost): still one alert
    assert t.beat(beat).status_code == 200
    assert len([a for a in fleet.alerts(state="unresolved") if a["kind"] == "update"]) == 1
    fixed = healthy()
    fixed["versions"]["software"] = "0.2.0"
    assert t.beat(fixed).status_code == 200
    assert [a for a in fleet.alerts(state="unresolved") if a["kind"] == "update"] == []
    (resolved,) = [a for a in fleet.alerts(state="resolved") if a["kind"] == "update"]
    assert resolved["resolved_by"] == "auto"


def test_a_report_breaking_its_schema_is_refused_and_changes_nothing(fleet):
    t = fleet.enrol()
    beat = healthy()
    beat["reports"] = [{"kind": "update", "detail": "x" * 5000}]
    reply = t.beat(beat)
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "bad_request"
    assert fleet.terminal(t.id)["last_heartbeat_at"] is None


def _rollout(fleet, now: float) -> int:
    with fleet.engine.begin() as conn:
        rid = store.create_rollout(conn, "software", "0.2.0",
                                   [("canary", {"group": "canary"}), ("all", {"all": True})],
                                   actor="op", now=now, failure_limit=0.3)
        store.advance_rollout(conn, rid, actor="op", now=now)
    return rid


def test_a_canary_reporting_failures_is_counted_failed_with_its_reason(fleet):
    canary = [fleet.enrol(group="canary") for _ in range(2)]
    rest = fleet.enrol()
    for t in (*canary, rest):
        assert t.beat().status_code == 200
    rid = _rollout(fleet, store.now())
    beat = healthy()
    beat["reports"] = [ROLLED_BACK]
    assert canary[0].beat(beat).status_code == 200
    with fleet.engine.begin() as conn:
        from fleet import console_queries

        rollout = store.get_rollout(conn, rid)
        groups = rollouts.progress(rollout, console_queries.enrolled_terminals(
            conn, now=store.now()))
    assert [(g["name"], g["selected"], g["failed"]) for g in groups] == [("canary", 2, 1),
                                                                         ("all", 1, 0)]
    (failure,) = groups[0]["failures"]
    assert failure["terminal"] == canary[0].id and "health_check" in failure["reason"]


def test_a_terminal_switched_off_before_its_group_started_is_not_a_failed_update(fleet):
    """A hall's terminal off for repairs when the rollout starts has not failed the update
    (it never saw it): counting it would pause a sound rollout at once. One that goes
    silent after its group started without the version has failed."""
    from fleet import console_queries, schema

    off, on = fleet.enrol(), fleet.enrol()
    for t in (off, on):
        assert t.beat().status_code == 200
    interval = fleet.terminal(on.id)["interval_s"]
    started = store.now()
    with fleet.engine.begin() as conn:  # ``off`` went silent 10 intervals before the start
        conn.execute(schema.terminals.update().where(schema.terminals.c.id == off.id)
                     .values(last_heartbeat_at=started - 10 * interval))
        rid = store.create_rollout(conn, "software", "0.2.0", [("all", {"all": True})],
                                   actor="op", now=started, failure_limit=0.3)
        store.advance_rollout(conn, rid, actor="op", now=started)
        rollout = store.get_rollout(conn, rid)
        soon, later = started + interval, started + 5 * interval  # ``on`` silent after start
        at_start = rollouts.progress(rollout, console_queries.enrolled_terminals(conn, now=soon))
        after = rollouts.progress(rollout, console_queries.enrolled_terminals(conn, now=later))
    assert [(g["selected"], g["failed"]) for g in at_start] == [(2, 0)]
    assert [(g["selected"], g["failed"]) for g in after] == [(2, 1)]
    assert after[0]["failures"] == [{"terminal": on.id, "reason": "offline"}]


def test_the_service_loop_pauses_a_failing_rollout_with_nobody_looking(fleet):
    """A second replica with its housekeeping loop on (the fixture's has it off): the
    canary's failure reports pause the rollout without any console request; the loop and a
    third pass by hand leave one state change, audited as ``auto``."""
    canary = fleet.enrol(group="canary")
    assert canary.beat().status_code == 200
    rid = _rollout(fleet, store.now())
    settings = Settings(database_url=fleet.db_url, sweep_every_s=0.05)
    replica = ServedApp(settings)
    try:
        beat = healthy()
        beat["reports"] = [ROLLED_BACK]
        assert canary.beat(beat).status_code == 200
        deadline = time.monotonic() + 60
        while True:
            with fleet.engine.begin() as conn:
                state = store.get_rollout(conn, rid)["state"]
            if state == "paused" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert state == "paused"
        housekeeping(fleet.engine, settings)  # another replica's pass: nothing more to do
    finally:
        replica.stop()
    with fleet.engine.begin() as conn:
        lines = conn.execute(sa.select(audit_log).where(
            audit_log.c.target == str(rid), audit_log.c.action == "rollout.paused")).all()
    assert [(line.actor, line.detail["failed"]) for line in lines] == [("auto", 1)]
    assert lines[0].detail["failures"][0]["terminal"] == canary.id
