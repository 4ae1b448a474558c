"""How a rollout is doing, group by group, and the automatic pause.

A terminal of a started group has *succeeded* when it reports the target version; it has
*failed* when it reported a failed install or a rollback of that very version (an unresolved
``update_failed`` alert, :func:`fleet.store.update_failures`), or went offline after its
group started without reporting the version (an update that does not come back is a
failure too; one already offline when its group started is neither, until it is back). A group may be followed by the next once its success share reaches the
rollout's ``success_threshold``; a running rollout whose failure share crosses
``failure_limit`` is paused by :func:`evaluate` — which every replica's housekeeping runs
(``serve --sweep-every``), so the pause needs nobody looking, and the console runs too.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from fleet import console_queries, store

log = logging.getLogger(__name__)

Row = dict[str, Any]
_VERSION_COLUMN = {"software": "software_version", "catalog": "catalog_version",
                   "config": "config_version"}
MAX_FAILURES_SHOWN = 5  # a group's row names a few failed terminals and why, not all


def failure_reason(rollout: Row, terminal: Row, started_at: float) -> str | None:
    """Why ``terminal`` (of a group started at ``started_at``) counts as failed for
    ``rollout``, or None. Offline counts only when it went silent after the group started:
    a terminal already switched off for repairs has not failed an update it never saw."""
    column = _VERSION_COLUMN.get(rollout["kind"])
    if column and terminal.get(column) == rollout["version"]:
        return None
    failed = (terminal.get("update_failures") or {}).get(rollout["kind"])
    if failed and failed.get("version") == rollout["version"]:
        return str(failed.get("reason") or "update failed")
    if terminal["status"] == "offline" and (
            started_at - terminal["last_heartbeat_at"]
            <= store.OFFLINE_AFTER * terminal["interval_s"]):
        return "offline"
    return None


def progress(rollout: Row, fleet: list[Row]) -> list[Row]:
    """Per group: terminals selected (not in an earlier group), updated, failed (with up to
    :data:`MAX_FAILURES_SHOWN` ``failures: [{terminal, reason}]``), shares."""
    column = _VERSION_COLUMN.get(rollout["kind"])
    taken: set[str] = set()
    out = []
    for group in rollout["groups"]:
        members = [t for t in fleet if t["id"] not in taken
                   and store._selected(group["selector"], t)]
        taken.update(t["id"] for t in members)
        updated = sum(1 for t in members if column and t[column] == rollout["version"])
        failures = [] if group["started_at"] is None else [
            {"terminal": t["id"], "reason": reason} for t in members
            if (reason := failure_reason(rollout, t, group["started_at"])) is not None]
        failed = len(failures)
        n = len(members)
        out.append({**group, "selected": n, "updated": updated, "failed": failed,
                    "failures": failures[:MAX_FAILURES_SHOWN],
                    "success": updated / n if n else 1.0,
                    "failure": failed / n if n else 0.0})
    return out


def can_advance(rollout: Row, groups: list[Row]) -> bool:
    """The last started group reached the success threshold (or nothing started yet)."""
    if rollout["state"] not in ("draft", "running"):
        return False
    started = [g for g in groups if g["started_at"] is not None]
    return not started or started[-1]["success"] >= rollout["success_threshold"]


def evaluate(conn: sa.Connection, *, now: float) -> list[int]:
    """Pause each running rollout whose started groups fail above its limit; the ids this
    call paused. Harmless on N replicas at once: the pause is a conditional update, so one
    of them changes the state (and writes the audit line, actor ``auto``), the others find
    it paused already and do nothing."""
    running = [r for r in store.list_rollouts(conn) if r["state"] == "running"]
    if not running:
        return []
    fleet = console_queries.enrolled_terminals(conn, now=now)
    paused = []
    for rollout in running:
        started = [g for g in progress(rollout, fleet) if g["started_at"] is not None]
        n = sum(g["selected"] for g in started)
        failed = sum(g["failed"] for g in started)
        if not (n and failed / n > rollout["failure_limit"]):
            continue
        failures = [f for g in started for f in g["failures"]][:MAX_FAILURES_SHOWN]
        try:
            store.set_rollout_state(conn, int(rollout["id"]), "paused", actor="auto", now=now,
                                    detail={"failed": failed, "selected": n,
                                            "failure_limit": rollout["failure_limit"],
                                            "failures": failures})
        except store.StoreError:
            continue  # another replica (or an operator) changed it meanwhile
        log.warning("rollout %s (%s %s) paused: %d of %d terminals failed", rollout["id"],
                    rollout["kind"], rollout["version"], failed, n)
        paused.append(int(rollout["id"]))
    return paused
