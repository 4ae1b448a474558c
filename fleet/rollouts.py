"""How a rollout is doing, group by group, and the automatic pause.

A terminal of a started group has *succeeded* when it reports the target version; it has
*failed* when it went offline after its group started without reporting it (an update that
does not come back is the failure central sees). A group may be followed by the next once
its success share reaches the rollout's ``success_threshold``; a running rollout whose
failure share crosses ``failure_limit`` is paused (``evaluate`` — the console runs it when
the rollouts page is read and before each advance; harmless to run on N replicas).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from fleet import console_queries, store

Row = dict[str, Any]
_VERSION_COLUMN = {"software": "software_version", "catalog": "catalog_version",
                   "config": "config_version"}


def progress(rollout: Row, fleet: list[Row]) -> list[Row]:
    """Per group: terminals selected (not in an earlier group), updated, failed, shares."""
    column = _VERSION_COLUMN.get(rollout["kind"])
    taken: set[str] = set()
    out = []
    for group in rollout["groups"]:
        members = [t for t in fleet if t["id"] not in taken
                   and store._selected(group["selector"], t)]
        taken.update(t["id"] for t in members)
        updated = sum(1 for t in members if column and t[column] == rollout["version"])
        failed = sum(1 for t in members if group["started_at"] is not None
                     and t["status"] == "offline"
                     and not (column and t[column] == rollout["version"]))
        n = len(members)
        out.append({**group, "selected": n, "updated": updated, "failed": failed,
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
    """Pause each running rollout whose started groups fail above its limit; the ids."""
    fleet = console_queries.enrolled_terminals(conn, now=now)
    paused = []
    for rollout in store.list_rollouts(conn):
        if rollout["state"] != "running":
            continue
        started = [g for g in progress(rollout, fleet) if g["started_at"] is not None]
        n = sum(g["selected"] for g in started)
        failed = sum(g["failed"] for g in started)
        if n and failed / n > rollout["failure_limit"]:
            store.set_rollout_state(conn, int(rollout["id"]), "paused", actor="auto", now=now)
            paused.append(int(rollout["id"]))
    return paused
