"""What the console and the operator's command line rely on, on both databases: the fleet
list's states, filters and counts; alerts as work orders; accounts, sessions and the audit
log; and ``kiosk-fleet`` itself."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from fleet import cli, schema, store
from fleet.db import make_engine, migrate


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fleet.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres").create_database()
    engine = make_engine(url)
    migrate(engine)
    yield engine, url
    engine.dispose()


NOW = 1_796_083_200.0  # 2026-12-01T08:00:00+08:00


def _terminal(conn, district, hall, *, age=None, faults=None, software="0.1.0"):
    code = store.create_enrol_code(conn, actor="t", now=NOW - 10_000, ttl_s=20_000,
                                   district=district, hall=hall)
    tid = store.enrol(conn, code, now=NOW - 10_000, interval_s=60).terminal_id
    if age is not None:
        devices = {d: {"state": "error", "fault": f} for d, f in (faults or {}).items()}
        store.record_heartbeat(conn, tid, {"devices": devices, "versions": {"software": software}},
                               now=NOW - age)
    return tid


def test_the_fleet_list_states_filters_and_counts(db):
    engine, _ = db
    with engine.begin() as conn:
        online = _terminal(conn, "天河区", "石牌街", age=30, faults={"receipt_printer": "paper_low"})
        late = _terminal(conn, "天河区", "林和街", age=120)
        offline = _terminal(conn, "越秀区", "北京街", age=400, software="0.0.9")
        new = _terminal(conn, "越秀区", "北京街")
        revoked = _terminal(conn, "海珠区", "江南中街", age=10)
        store.revoke_terminal(conn, revoked, actor="admin", now=NOW)
        rows, counts = store.list_terminals(conn, now=NOW)
        assert {r["id"]: r["status"] for r in rows} == {
            online: "online", late: "late", offline: "offline", new: "new", revoked: "revoked"}
        assert counts == {"online": 1, "late": 1, "offline": 1, "new": 1, "revoked": 1,
                          "faulty": 1}
        assert all("key_hex" not in r for r in rows)  # keys never leave the store in a list
        tianhe, tianhe_counts = store.list_terminals(conn, now=NOW, district="天河区")
        assert {r["id"] for r in tianhe} == {online, late} and tianhe_counts["online"] == 1
        assert [r["id"] for r in store.list_terminals(conn, now=NOW, fault="paper_low")[0]] == [
            online]
        assert [r["id"] for r in store.list_terminals(
            conn, now=NOW, fault="receipt_printer:paper_low")[0]] == [online]
        assert [r["id"] for r in store.list_terminals(conn, now=NOW, version="0.0.9")[0]] == [
            offline]
        assert [r["id"] for r in store.list_terminals(conn, now=NOW, state="late")[0]] == [late]
        detail = store.terminal_detail(conn, online, now=NOW)
        assert [a["code"] for a in detail["alerts"]] == ["paper_low"]
        assert [e["kind"] for e in detail["events"]][:2] == ["version", "fault"]


def test_an_alert_is_a_work_order_acknowledged_assigned_and_resolved(db):
    engine, _ = db
    with engine.begin() as conn:
        tid = _terminal(conn, "天河区", "石牌街", age=30, faults={"id_reader": "no_sam"})
        (alert,) = store.list_alerts(conn, now=NOW, terminal_id=tid)
        store.acknowledge_alert(conn, alert["id"], actor="op1", now=NOW + 60,
                                assign_to="tech-wang")
        with pytest.raises(store.StoreError):
            store.acknowledge_alert(conn, alert["id"], actor="op1", now=NOW + 61)
        (seen,) = store.list_alerts(conn, now=NOW + 120, state="acknowledged")
        assert (seen["assigned_to"], seen["acknowledged_by"], seen["open_for_s"]) == (
            "tech-wang", "op1", 150.0)
        store.resolve_alert(conn, alert["id"], actor="tech-wang", now=NOW + 300)
        assert store.list_alerts(conn, now=NOW, state="unresolved") == []
        actions = [a["action"] for a in store.list_audit(conn, target=str(alert["id"]))]
        assert actions == ["alert.resolve", "alert.acknowledge"]


def test_accounts_sessions_and_the_audit_log(db):
    engine, _ = db
    with engine.begin() as conn:
        store.add_user(conn, "li.ops", "correct horse battery", "operator", actor="admin",
                       now=NOW)
        with pytest.raises(store.StoreError) as weak:
            store.add_user(conn, "zhao", "short", "viewer", actor="admin", now=NOW)
        assert weak.value.code == "weak_password"
        stored = conn.execute(sa.select(schema.users.c.password_hash)).scalar_one()
        assert stored.startswith("$argon2") and "horse" not in stored
        assert store.check_password(conn, "li.ops", "wrong password!") is None
        assert store.check_password(conn, "nobody", "correct horse battery") is None
        user = store.check_password(conn, "li.ops", "correct horse battery")
        assert user is not None and user["role"] == "operator"
        token, csrf = store.create_session(conn, user["id"], now=NOW)
        assert store.session_user(conn, token, now=NOW + 60)["csrf_token"] == csrf
        assert store.session_user(conn, token, now=NOW + store.SESSION_TTL_S + 1) is None
        store.set_password(conn, "li.ops", "another long secret", actor="admin", now=NOW)
        assert store.session_user(conn, token, now=NOW + 60) is None  # sessions ended
        assert [a["action"] for a in store.list_audit(conn, target="li.ops")] == [
            "user.passwd", "user.add"]


def test_kiosk_fleet_commands(db, capsys, monkeypatch):
    _, url = db
    monkeypatch.setenv("KIOSK_FLEET_PASSWORD", "a long enough secret")

    def run(*argv):
        code = cli.main(["--db", url, *argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    assert run("migrate")[0] == 0
    assert run("user", "add", "admin", "--role", "admin")[0] == 0
    code, _, err = run("user", "add", "admin", "--role", "viewer")
    assert code == cli.EXIT_REFUSED and "exists" in err
    assert "admin" in run("user", "list")[1]
    assert run("user", "passwd", "admin")[0] == 0
    code, out, _ = run("enrol-code", "--district", "天河区", "--hall", "石牌街")
    assert code == 0 and len(out.strip()) == 14
    engine = make_engine(url)
    with engine.begin() as conn:
        tid = store.enrol(conn, out.strip(), now=store.now(), interval_s=60).terminal_id
    engine.dispose()
    code, out, _ = run("terminals", "--json")
    listed = json.loads(out)
    assert [t["id"] for t in listed["terminals"]] == [tid] and listed["counts"]["new"] == 1
    assert run("command", tid, "maintenance_on")[0] == 0
    assert run("revoke", tid)[0] == 0
    code, _, err = run("revoke", tid)
    assert code == cli.EXIT_REFUSED and "not enrolled" in err
    assert run("terminals", "--state", "revoked")[1].count(tid) == 1


def test_kiosk_fleet_says_when_the_database_is_unreachable(capsys):
    code = cli.main(["--db", "postgresql://fleet@127.0.0.1:9/none", "terminals"])
    assert code == cli.EXIT_DB and "database unreachable" in capsys.readouterr().err
