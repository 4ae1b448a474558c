"""Rollouts as the console runs them: the next group starts only once the current one
reached its success threshold, and a rollout whose terminals fail above its limit pauses
by itself. Terminals learn their target from real heartbeat replies."""

from __future__ import annotations

import re

from fleet.schema import rollout_groups, terminals
from tests.fleet.conftest import healthy

from .conftest import csrf_of


def _rollouts(s, url):
    page = s.get(url + "/console/rollouts", timeout=30)
    assert page.status_code == 200
    return page.text


def _state_and_advance(html: str, rid: str) -> tuple[str, str]:
    """The rollout's state and its advance button's tag ("" when there is none)."""
    section = html.split(f'id="rollout-{rid}"')[1].split("</section>")[0]
    state = re.match(r'\s*data-state="(\w+)"', section)
    assert state, section[:80]
    button = re.search(r'<button class="primary advance"[^>]*>', section)
    return state.group(1), button.group(0) if button else ""


def test_the_next_group_waits_for_the_threshold_and_failures_pause_the_rollout(
        sqlite_console):
    url = sqlite_console.url
    terms = [sqlite_console.terminal(district="天河区") for _ in range(4)]
    s = sqlite_console.session("admin")
    token = csrf_of(_rollouts(s, url))
    made = s.post(url + "/console/rollouts", data={
        "csrf": token, "kind": "catalog", "version": "2026.12.1", "canary": "100",
        "success_threshold": "75", "failure_limit": "25"}, allow_redirects=False, timeout=30)
    assert made.status_code == 303
    [rid] = re.findall(r'id="rollout-(\d+)"', _rollouts(s, url))
    assert s.post(f"{url}/console/rollouts/{rid}/advance", data={"csrf": token},
                  allow_redirects=False, timeout=30).status_code == 303  # canary starts
    # every terminal is in the 100 % canary and is told so; only two install it
    for term in terms:
        assert term.beat(healthy()).json()["targets"]["catalog"]["version"] == "2026.12.1"
    for term in terms[:2]:
        beat = healthy()
        beat["versions"]["catalog"] = "2026.12.1"
        assert term.beat(beat).status_code == 200
    refused = s.post(f"{url}/console/rollouts/{rid}/advance", data={"csrf": token},
                     allow_redirects=False, timeout=30)
    assert refused.status_code == 409  # 2 of 4 is below 75 %
    state, button = _state_and_advance(_rollouts(s, url), rid)
    assert state == "running" and "disabled" in button
    beat = healthy()
    beat["versions"]["catalog"] = "2026.12.1"
    assert terms[2].beat(beat).status_code == 200  # 3 of 4: the threshold
    # the fourth goes silent after its group started (its update never came back): the
    # group started long ago, the terminal was last heard after that and never since
    with sqlite_console.engine.begin() as conn:
        conn.execute(rollout_groups.update().where(
            rollout_groups.c.rollout_id == int(rid), rollout_groups.c.started_at.is_not(None))
            .values(started_at=1.0))
        conn.execute(terminals.update().where(terminals.c.id == terms[3].id)
                     .values(last_heartbeat_at=2.0))
    # 1 of 4 failed = 25 %: at the limit, not above it; 3 of 4 updated: may advance
    state, button = _state_and_advance(_rollouts(s, url), rid)
    assert state == "running" and button and "disabled" not in button
    with sqlite_console.engine.begin() as conn:
        conn.execute(terminals.update().where(terminals.c.id == terms[2].id)
                     .values(last_heartbeat_at=2.0, catalog_version="2026.11.2"))
    state, button = _state_and_advance(_rollouts(s, url), rid)  # 2 of 4 failed: 50 %
    assert state == "paused" and not button
    audit = s.get(url + "/console/audit", timeout=30).text
    assert "rollout.paused" in audit
    # paused: terminals get no target any more
    assert "catalog" not in terms[0].beat(healthy()).json()["targets"]
