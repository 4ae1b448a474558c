"""The steady-state heartbeat: on PostgreSQL it is one statement with the key cached per
replica and beats group-committed (fleet.api.GroupCommit). Whatever a replica has cached
and however beats are batched, a revoke, a re-enrolment, a replay, a fault and a command
must come out as they do on the transaction path — on both databases."""

from __future__ import annotations

import json
import threading
import time

from fleet import store

from .conftest import healthy


def _code(reply) -> str:  # noqa: ANN001
    return reply.json()["error"]["code"]


def test_a_revoke_after_steady_beats_stops_the_cached_key_at_once(fleet):
    t = fleet.enrol(district="越秀区", hall="北京街")
    for _ in range(3):  # first contact, then steady beats: the replica now holds the key
        assert t.beat().status_code == 200
    with fleet.engine.begin() as conn:
        store.revoke_terminal(conn, t.id, actor="admin", now=time.time())
    refused = t.beat()
    assert (refused.status_code, _code(refused)) == (401, "terminal_revoked")
    replacement = fleet.enrol(terminal_id=t.id)
    for _ in range(3):
        assert replacement.beat().status_code == 200
    stolen = t.beat()  # the old key, cached before the revoke, is worth nothing now
    assert (stolen.status_code, _code(stolen)) == (401, "bad_signature")


def test_a_steady_beat_replayed_is_refused_and_changes_nothing(fleet):
    t = fleet.enrol()
    assert t.beat().status_code == 200
    assert t.beat(healthy(), nonce="steady-nonce-0001").status_code == 200
    before = fleet.terminal(t.id)["last_heartbeat_at"]
    payload = healthy()
    payload["screen"] = "home"
    again = t.beat(payload, nonce="steady-nonce-0001")
    assert (again.status_code, _code(again)) == (401, "replayed_nonce")
    seen = fleet.terminal(t.id)
    assert (seen["last_heartbeat_at"], seen["screen"]) == (before, "attract")


def test_a_fault_after_steady_beats_opens_and_clears_its_alert(fleet):
    t = fleet.enrol()
    for _ in range(3):
        assert t.beat().status_code == 200
    jammed = healthy(receipt_printer={"state": "error", "fault": "paper_out"})
    assert t.beat(jammed).status_code == 200
    assert t.beat(jammed).status_code == 200  # the same fault again: no second alert
    open_ = fleet.alerts(terminal_id=t.id, state="unresolved")
    assert [(a["device"], a["code"]) for a in open_] == [("receipt_printer", "paper_out")]
    assert t.beat().status_code == 200
    assert fleet.alerts(terminal_id=t.id, state="unresolved") == []
    kinds = [e["kind"] for e in fleet.terminal(t.id)["events"]]
    assert kinds.count("fault") == 1 and kinds.count("fault_cleared") == 1


def test_many_terminals_beating_at_once_each_get_their_own_commands(fleet):
    """Beats that arrive together may share one commit; each still gets its own commands,
    each exactly once, and every beat is stored."""
    terminals = [fleet.enrol() for _ in range(8)]
    for t in terminals:
        assert t.beat().status_code == 200
    queued = {t.id: {fleet.queue(t.id) for _ in range(2)} for t in terminals}
    got: dict[str, set[str]] = {t.id: set() for t in terminals}
    failures: list[str] = []
    barrier = threading.Barrier(len(terminals) * 2)
    lock = threading.Lock()

    def beat(t) -> None:  # noqa: ANN001
        barrier.wait(timeout=60)
        reply = t.post(f"/v1/terminals/{t.id}/heartbeat",
                       json.dumps(healthy()).encode())
        with lock:
            if reply.status_code != 200:
                failures.append(reply.text)
            else:
                for c in reply.json()["commands"]:
                    assert c["id"] not in got[t.id], "delivered twice"
                    got[t.id].add(c["id"])

    # two beats per terminal at once, each on its own connection
    threads = [threading.Thread(target=beat, args=(type(t)(t.base, t.id, t.key),))
               for t in terminals for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert failures == []
    assert got == queued
    for t in terminals:
        assert fleet.terminal(t.id)["last_heartbeat_at"] is not None
