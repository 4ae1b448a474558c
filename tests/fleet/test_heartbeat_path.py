"""The steady-state heartbeat: on PostgreSQL it is one statement with the key cached per
replica and beats group-committed (fleet.api.GroupCommit). Whatever a replica has cached
and however beats are batched, a revoke, a re-enrolment, a replay, a fault and a command
must come out as they do on the transaction path — on both databases."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from fleet import store
from fleet.db import AsyncPool

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


@pytest.mark.parametrize("fleet", ["postgresql"], indirect=True)  # SQLite: no fast path
def test_one_batch_holding_a_terminal_twice_answers_each_beat_as_if_alone(fleet):
    """A group commit is one statement per batch; a terminal whose beats queue together (a
    retry, two connections) must still get each fresh beat stored, its replay refused and
    each command delivered once — not two updates of one row in one statement."""
    a, b = fleet.enrol(), fleet.enrol()
    for t in (a, b):
        assert t.beat().status_code == 200  # first contact: steady from now on
    queued = fleet.queue(a.id)
    keys = {t.id: t.key.hex() for t in (a, b)}
    now = time.time()

    def params(tid: str, nonce: str, screen: str) -> dict:
        beat = dict(healthy(), screen=screen, acks=[])
        return store.fast_beat_params(tid, keys[tid], nonce, beat, now=now)

    batch = [params(a.id, "batch-nonce-a1", "home"), params(b.id, "batch-nonce-b1", "home"),
             params(a.id, "batch-nonce-a2", "service"), params(a.id, "batch-nonce-a1", "x")]

    async def run() -> list:
        pool = AsyncPool.for_engine(fleet.engine)
        assert pool is not None
        try:
            async with pool.connection() as aconn:
                return await store.record_heartbeats_fast(aconn, batch)
        finally:
            await pool.close()

    rows = asyncio.run(run())
    replies = []
    for row, p in zip(rows, batch, strict=True):
        try:
            replies.append(store.fast_beat_reply(row, p["tid"], now=now))
        except store.Replayed:
            replies.append("replayed")
    assert replies[3] == "replayed"
    assert all(isinstance(r, dict) for r in replies[:3])
    delivered = [c["id"] for r in (replies[0], replies[2]) for c in r["commands"]]
    assert delivered == [queued] and replies[1]["commands"] == []
    assert fleet.terminal(a.id)["screen"] == "service"  # both fresh beats applied, in order
    assert fleet.terminal(b.id)["screen"] == "home"
