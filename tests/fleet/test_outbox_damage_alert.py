"""A terminal whose outbox file was found damaged says so in its heartbeat (kept aside, what
could be saved moved into a fresh one), and one that has no outbox at all; the fleet makes
each a technician's alert, like a device fault, on both databases and whichever heartbeat
path the beat takes. The beats are the kiosk's own (TerminalFacts over a real outbox file)."""

from __future__ import annotations

import re

import pytest
import requests

from fleet import store
from kiosk.ops.heartbeat import TerminalFacts, fleet_body
from offline_queue import Outbox

KEY = bytes(range(32))  # synthetic outbox key


def _viewer(fleet) -> requests.Session:  # noqa: ANN001
    """A console session of a viewer (the alerts page is what an operator watches)."""
    with fleet.engine.begin() as conn:
        store.add_user(conn, "viewer", "viewer-password-1", "viewer", actor="test",
                       now=store.now())
    s = requests.Session()
    page = s.get(fleet.url + "/console/login", timeout=30).text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token, page
    done = s.post(fleet.url + "/console/login", allow_redirects=False, timeout=30,
                  data={"csrf": token.group(1), "username": "viewer",
                        "password": "viewer-password-1"})
    assert done.status_code == 303, done.text
    return s


@pytest.mark.expected_errors(r"outbox .* (is damaged|replaced)")
def test_a_damaged_or_missing_outbox_is_an_alert_until_the_technician_deals_with_it(
        fleet, tmp_path):
    path = tmp_path / "outbox.sqlite"
    t = fleet.enrol(district="天河区", hall="石牌街")
    with Outbox(path, key=KEY, on_damage="quarantine") as box:
        for _ in range(3):  # first contact, then steady beats (PostgreSQL: the fast path)
            beat = fleet_body(TerminalFacts(outbox=box, outbox_path=path).snapshot(),
                              with_standing=False)
            assert t.beat(beat).status_code == 200
    path.write_bytes(b"this is no SQLite file" * 200)  # a torn disk, a bad block
    with Outbox(path, key=KEY, on_damage="quarantine") as box:  # the app starting again
        assert box.damage is not None
        facts = TerminalFacts(outbox=box, outbox_path=path)
        for _ in range(2):  # the same damage beat after beat: one alert, one event
            beat = fleet_body(facts.snapshot(), with_standing=False)
            assert beat["outbox"]["state"] == "damaged"
            assert t.beat(beat).status_code == 200
        (alert,) = fleet.alerts(terminal_id=t.id, state="unresolved")
        assert (alert["kind"], alert["device"], alert["code"]) == (
            "device", "outbox", "outbox_damaged")
        damage = box.damage
        assert damage.moved_to and damage.moved_to in alert["detail"]
        assert damage.reason in alert["detail"]  # what the technician reads on the alert
        with fleet.engine.begin() as conn:
            rows, counts = store.list_terminals(conn, now=store.now(), fault="outbox_damaged")
        assert [r["id"] for r in rows] == [t.id] and counts["faulty"] == 1
        page = _viewer(fleet).get(fleet.url + "/console/alerts", timeout=30).text
        assert "待上传队列 <span class=\"pill fault\">待上传队列文件损坏</span>" in page
        # the technician has dealt with it: the kept-aside copies are gone
        for copy in tmp_path.glob("outbox.sqlite.damaged-*"):
            copy.unlink()
        beat = fleet_body(facts.snapshot(), with_standing=False)
        assert "state" not in beat["outbox"]
        assert t.beat(beat).status_code == 200
    assert fleet.alerts(terminal_id=t.id, state="unresolved") == []
    kinds = [e["kind"] for e in fleet.terminal(t.id)["events"]]
    assert kinds.count("fault") == 1 and kinds.count("fault_cleared") == 1
    # an outbox that would not open at all (kiosk.parts.open_outbox gave None): no offline
    # submissions on this terminal until someone looks
    beat = fleet_body(TerminalFacts(outbox=None, outbox_path=path).snapshot(),
                      with_standing=False)
    assert beat["outbox"]["state"] == "unavailable"
    assert t.beat(beat).status_code == 200
    assert [(a["device"], a["code"]) for a in fleet.alerts(
        terminal_id=t.id, state="unresolved")] == [("outbox", "outbox_unavailable")]
