"""The console's pages: fleet list, terminal, enrolment codes, alerts, rollouts, usage,
audit log, accounts.

Each handler reads and writes through :mod:`fleet.store` (and the console's own queries) in
the request's one transaction; a POST answers with a redirect (303) so a reload never sends
a command twice. A new enrolment code too: a secret has no business in a URL, so it waits
in the operator's session (sealed) and the page the POST redirects to shows it once.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from fleet import console_queries, rollouts, store
from fleet.console import plots
from fleet.console.i18n import LANGUAGES
from fleet.console.web import (
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    Ctx,
    Refused,
    endpoint,
    new_login_csrf,
    set_session_cookie,
    with_query,
)
from fleet.settings import Settings

PER_PAGE = 50
REFRESH_S = 15
STATES = ("online", "late", "offline", "new", "revoked")
FAULTS = ("paper_low", "paper_out", "cover_open", "paper_jam", "timeout", "no_sam",
          "camera_missing", "printer_offline", "offline", "error", "outbox_damaged",
          "outbox_unavailable")
BUTTONS = ("restart_app", "maintenance_on", "maintenance_off", "collect_diagnostics",
           "sync_outbox", "reload_config", "take_screenshot", "check_updates")
CODE_VALIDITY_H = (1, 8, 24, 72, 168)  # the choices on the enrolment-code form (hours)


def _safe_next(value: str) -> str:
    """Only our own pages after login or a language switch (no open redirect)."""
    return value if value.startswith(PREFIX + "/") and not value.startswith("//") else PREFIX + "/"


# ---------------------------------------------------------------- sign in and out

def login_page(ctx: Ctx) -> Response:
    if ctx.user is not None:
        return RedirectResponse(_safe_next(ctx.q("next")), status_code=303)
    token = new_login_csrf()
    response = ctx.render("login.html", login_csrf=token, next=ctx.q("next"),
                          error=ctx.q("error"))
    response.set_cookie(LOGIN_CSRF_COOKIE, token, path=PREFIX, httponly=True,
                        samesite="strict", secure=ctx.request.url.scheme == "https")
    return response


def login(ctx: Ctx) -> Response:
    sent, cookie = ctx.form.get("csrf", ""), ctx.request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not sent or sent != cookie:
        raise Refused(403, "forbidden")
    username, password = ctx.form.get("username", "").strip(), ctx.form.get("password", "")
    ip = ctx.request.client.host if ctx.request.client else "unknown"
    if console_queries.login_blocked(ctx.conn, username, ip, now=ctx.now):
        return ctx.redirect("/login", error="login_throttled")
    user = store.check_password(ctx.conn, username, password) if username else None
    console_queries.record_login(ctx.conn, username, ip, ok=user is not None, now=ctx.now)
    if user is None:
        return ctx.redirect("/login", error="login_failed")
    token, _csrf = store.create_session(ctx.conn, int(user["id"]), now=ctx.now)
    response = RedirectResponse(_safe_next(ctx.form.get("next", "")), status_code=303)
    set_session_cookie(response, ctx.request, token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


def logout(ctx: Ctx) -> Response:
    token = ctx.request.cookies.get("fleet_session")
    if token:
        store.end_session(ctx.conn, token)
        store.audit(ctx.conn, ctx.actor, "logout", now=ctx.now)
    response = ctx.redirect("/login")
    set_session_cookie(response, ctx.request, None)
    return response


def switch_language(ctx: Ctx) -> Response:
    lang = ctx.q("to")
    response = RedirectResponse(_safe_next(ctx.q("next")), status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path=PREFIX,
                            samesite="lax")
    return response


# ---------------------------------------------------------------- fleet list and terminal

def _faults(text: str) -> list[tuple[str, str]]:
    return sorted(store._parse_faults(text).items())


def fleet_list(ctx: Ctx) -> Response:
    filters = {k: ctx.q(k) for k in ("district", "hall", "state", "fault", "version")}
    if filters["state"] and filters["state"] not in STATES:
        raise Refused(400, "error")
    try:
        page = max(1, int(ctx.q("page", "1") or 1))
    except ValueError:
        page = 1
    rows, counts = store.list_terminals(
        ctx.conn, now=ctx.now, limit=PER_PAGE, offset=(page - 1) * PER_PAGE,
        **{k: (v or None) for k, v in filters.items()})
    try:  # ?refresh=S for a wall display (or a test) that wants it faster than the default
        refresh_s = min(300, max(2, int(ctx.q("refresh") or REFRESH_S)))
    except ValueError:
        refresh_s = REFRESH_S
    matching = counts[filters["state"]] if filters["state"] else sum(counts[s] for s in STATES)
    pages = max(1, -(-matching // PER_PAGE))
    for r in rows:
        r["fault_list"] = _faults(r["faults"])
        r["age"] = None if r["last_heartbeat_at"] is None else ctx.now - r["last_heartbeat_at"]
    values: dict[str, Any] = dict(rows=rows, counts=counts, states=STATES, filters=filters,
                                  page=page, pages=pages, matching=matching,
                                  refresh_s=refresh_s,
                                  prev_q=with_query(filters, page=page - 1 if page > 1 else None),
                                  next_q=with_query(filters, page=page + 1))
    if ctx.request.headers.get("x-fragment") == "fleet":
        return ctx.render("fleet_live.html", **values)
    return ctx.render("fleet.html", choices=console_queries.filter_choices(ctx.conn),
                      faults=FAULTS, **values)


def terminal_page(ctx: Ctx) -> Response:
    terminal_id = ctx.request.path_params["terminal_id"]
    detail = store.terminal_detail(ctx.conn, terminal_id, now=ctx.now)
    opened = {a["device"]: a["opened_at"] for a in detail["alerts"] if a["kind"] == "device"}
    devices = []
    for name, status in sorted((detail["devices"] or {}).items()):
        status = status if isinstance(status, dict) else {}
        fault = store.device_faults({name: status}).get(name)
        devices.append({"name": name, "state": status.get("state"), "fault": fault,
                        "detail": status.get("detail") or "",
                        "since": opened.get(name) or status.get("since")})
    buttons = [b for b in BUTTONS if b in store.COMMANDS]  # the store's list is the truth
    return ctx.render("terminal.html", term=detail, devices=devices, buttons=buttons,
                      age=None if detail["last_heartbeat_at"] is None
                      else ctx.now - detail["last_heartbeat_at"])


def send_command(ctx: Ctx) -> Response:
    terminal_id = ctx.request.path_params["terminal_id"]
    name = ctx.form.get("command", "")
    if name not in BUTTONS and name != "reload_catalog":
        raise Refused(400, "unknown_command")
    store.queue_command(ctx.conn, terminal_id, name, {}, actor=ctx.actor, now=ctx.now,
                        ttl_s=ctx.settings.command_ttl_s)
    return ctx.redirect(f"/terminals/{terminal_id}", msg="command_queued", cmd=name)


def revoke(ctx: Ctx) -> Response:
    """A stolen or scrapped machine: its key stops working at once. The admin types the
    terminal's id to confirm, so a slip of the finger on the wrong page revokes nothing."""
    terminal_id = ctx.request.path_params["terminal_id"]
    if ctx.form.get("confirm", "").strip() != terminal_id:
        return ctx.redirect(f"/terminals/{terminal_id}", msg="revoke_not_confirmed")
    store.revoke_terminal(ctx.conn, terminal_id, actor=ctx.actor, now=ctx.now)
    return ctx.redirect(f"/terminals/{terminal_id}", msg="terminal_revoked_msg")


def screenshot(ctx: Ctx) -> Response:
    shot = store.latest_screenshot(ctx.conn, ctx.request.path_params["terminal_id"])
    if shot is None:
        raise Refused(404, "not_found")
    return Response(bytes(shot["png"]), media_type="image/png",
                    headers={"Cache-Control": "private, max-age=60"})


# ---------------------------------------------------------------- enrolment codes

def enrol_codes_page(ctx: Ctx) -> Response:
    """The form and the list, and once, after the POST that made it, the new code (never in
    a URL, never stored in the clear, never cached; a reload shows it no more)."""
    replaces = ctx.q("terminal") if ctx.can("admin") else ""
    token = ctx.request.cookies.get(SESSION_COOKIE, "")
    new = console_queries.take_new_code(ctx.conn, token) if token else None
    response = ctx.render("enrol_codes.html", code=new["code"] if new else "",
                          code_for=new["code_for"] if new else "",
                          code_expires=new["expires"] if new else None, replaces=replaces,
                          codes=console_queries.enrol_codes(ctx.conn, now=ctx.now),
                          validity=CODE_VALIDITY_H)
    response.headers["Cache-Control"] = "no-store"
    return response


def _field(ctx: Ctx, name: str, limit: int) -> str:
    value = " ".join(ctx.form.get(name, "").split())
    if len(value) > limit:
        raise Refused(400, "field_too_long")
    return value


def create_enrol_code(ctx: Ctx) -> Response:
    """A single-use code for ``kiosk enroll``; with ``terminal`` (admins only) the code
    re-enrols that revoked terminal's id on its replacement machine."""
    district, hall, group = (_field(ctx, "district", 64), _field(ctx, "hall", 128),
                             _field(ctx, "group", 64))
    try:
        hours = int(ctx.form.get("valid_h", "24"))
    except ValueError as exc:
        raise Refused(400, "bad_validity") from exc
    if hours not in CODE_VALIDITY_H:
        raise Refused(400, "bad_validity")
    replaces = ctx.form.get("terminal", "").strip() or None
    if replaces is not None and not ctx.can("admin"):
        raise Refused(403, "forbidden")
    code = store.create_enrol_code(ctx.conn, actor=ctx.actor, now=ctx.now, ttl_s=hours * 3600,
                                   district=district, hall=hall, group=group,
                                   terminal_id=replaces)
    console_queries.hold_new_code(ctx.conn, ctx.request.cookies[SESSION_COOKIE],
                                  {"code": code, "code_for": replaces or "",
                                   "expires": ctx.now + hours * 3600})
    return ctx.redirect("/enrol-codes")


# ---------------------------------------------------------------- alerts

def alerts_page(ctx: Ctx) -> Response:
    state = ctx.q("state", "unresolved")
    if state not in ("unresolved", "open", "acknowledged", "resolved", "all"):
        raise Refused(400, "error")
    rows = store.list_alerts(ctx.conn, now=ctx.now, state=None if state == "all" else state)
    return ctx.render("alerts.html", alerts=rows, state=state)


def alert_action(ctx: Ctx) -> Response:
    try:
        alert_id = int(ctx.request.path_params["alert_id"])
    except ValueError as exc:
        raise Refused(404, "not_found") from exc
    action = ctx.request.path_params["action"]
    assignee = ctx.form.get("assign_to", "").strip()[:64] or None
    if action == "ack":
        store.acknowledge_alert(ctx.conn, alert_id, actor=ctx.actor, now=ctx.now,
                                assign_to=assignee)
        msg = "alert_acknowledged_msg"
    elif action == "assign":
        store.assign_alert(ctx.conn, alert_id, assignee, actor=ctx.actor, now=ctx.now)
        msg = "alert_assigned_msg"
    elif action == "resolve":
        store.resolve_alert(ctx.conn, alert_id, actor=ctx.actor, now=ctx.now)
        msg = "alert_resolved_msg"
    else:
        raise Refused(404, "not_found")
    return ctx.redirect("/alerts", msg=msg, state=ctx.form.get("state", "unresolved"))


# ---------------------------------------------------------------- rollouts

def rollouts_page(ctx: Ctx) -> Response:
    paused = rollouts.evaluate(ctx.conn, now=ctx.now)
    fleet = console_queries.enrolled_terminals(ctx.conn, now=ctx.now)
    items = []
    for r in store.list_rollouts(ctx.conn):
        groups = rollouts.progress(r, fleet)
        items.append({**r, "progress": groups, "can_advance": rollouts.can_advance(r, groups),
                      "auto_paused": int(r["id"]) in paused})
    return ctx.render("rollouts.html", rollouts=items, kinds=store.KINDS,
                      versions=console_queries.version_counts(ctx.conn))


def _fraction(text: str, default: float) -> float:
    try:
        value = float(text) / 100 if text else default
    except ValueError as exc:
        raise Refused(400, "error") from exc
    if not 0 <= value <= 1:
        raise Refused(400, "error")
    return value


def create_rollout(ctx: Ctx) -> Response:
    f = ctx.form
    version = f.get("version", "").strip()[:64]
    if not version:
        raise Refused(400, "error")
    groups: list[tuple[str, dict[str, Any]]] = []
    percent = _fraction(f.get("canary", "5"), 0.05) * 100
    if percent > 0:
        groups.append(("canary", {"percent": percent}))
    if f.get("district", "").strip():
        groups.append((f["district"].strip()[:64], {"district": f["district"].strip()[:64]}))
    groups.append(("all", {"all": True}))
    store.create_rollout(ctx.conn, f.get("kind", ""), version, groups, actor=ctx.actor,
                         now=ctx.now,
                         success_threshold=_fraction(f.get("success_threshold", ""), 0.95),
                         failure_limit=_fraction(f.get("failure_limit", ""), 0.05))
    return ctx.redirect("/rollouts", msg="rollout_created")


def rollout_action(ctx: Ctx) -> Response:
    try:
        rollout_id = int(ctx.request.path_params["rollout_id"])
    except ValueError as exc:
        raise Refused(404, "not_found") from exc
    action = ctx.request.path_params["action"]
    if action == "advance":
        rollouts.evaluate(ctx.conn, now=ctx.now)
        rollout = store.get_rollout(ctx.conn, rollout_id)
        fleet = console_queries.enrolled_terminals(ctx.conn, now=ctx.now)
        if not rollouts.can_advance(rollout, rollouts.progress(rollout, fleet)):
            raise store.StoreError("rollout_threshold", ctx.t("threshold_not_met"), 409)
        store.advance_rollout(ctx.conn, rollout_id, actor=ctx.actor, now=ctx.now)
    elif action in ("pause", "resume", "stop"):
        state = {"pause": "paused", "resume": "running", "stop": "stopped"}[action]
        store.set_rollout_state(ctx.conn, rollout_id, state, actor=ctx.actor, now=ctx.now)
    else:
        raise Refused(404, "not_found")
    return ctx.redirect("/rollouts", msg="rollout_changed")


# ---------------------------------------------------------------- usage

def _usage_rows(ctx: Ctx) -> list[dict[str, Any]]:
    since = (datetime.now(store.CST) - timedelta(days=30)).strftime("%Y-%m-%d")
    return store.usage(ctx.conn, since_day=ctx.q("since") or since,
                       district=ctx.q("district") or None)


def usage_page(ctx: Ctx) -> Response:
    rows = _usage_rows(ctx)
    days = sorted({r["day"] for r in rows})
    services = sorted({r["service"] for r in rows})
    visits: dict[tuple[str, str], int] = defaultdict(int)
    per_service: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    ratings: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 5)
    for r in rows:
        visits[(r["day"], r["service"])] += int(r["visits"] or 0)
        per_service[r["service"]][0] += int(r["visits"] or 0)
        per_service[r["service"]][1] += int(r["failures"] or 0)
        for n in range(5):
            ratings[(r["hall"] or "—", r["service"])][n] += int(r[f"rating_{n + 1}"] or 0)
    rate = {s: (f / v if v else 0.0) for s, (v, f) in per_service.items()}
    names = [ctx.t(f"rating_{n}") for n in range(1, 6)]
    return ctx.render(
        "usage.html", days=days, services=services, visits=visits, per_service=per_service,
        rate=rate, ratings=sorted(ratings.items()), rating_names=names,
        visits_svg=plots.bars(days, [(s, [visits[(d, s)] for d in days]) for s in services],
                              label_chars=5),
        failure_svg=plots.bars(services, [(ctx.t("failure_rate"),
                                           [rate[s] for s in services])], percent=True,
                               height=180),
        ratings_svg=plots.stacked([(f"{h} · {s}", c) for (h, s), c in sorted(ratings.items())],
                                  names))


def usage_csv(ctx: Ctx) -> Response:
    out = io.StringIO()
    fields = ["day", "district", "hall", "service", "visits", "failures",
              *(f"rating_{n}" for n in range(1, 6))]
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for r in _usage_rows(ctx):
        writer.writerow(r)
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="fleet-usage.csv"'})


# ---------------------------------------------------------------- audit and accounts

def audit_page(ctx: Ctx) -> Response:
    actor, target = ctx.q("actor")[:64], ctx.q("target")[:128]
    return ctx.render("audit.html", actor=actor, target=target, entries=store.list_audit(
        ctx.conn, limit=300, actor=actor or None, target=target or None))


def users_page(ctx: Ctx) -> Response:
    return ctx.render("users.html", users=store.list_users(ctx.conn), roles=store.ROLES)


def add_user(ctx: Ctx) -> Response:
    store.add_user(ctx.conn, ctx.form.get("username", "").strip(), ctx.form.get("password", ""),
                   ctx.form.get("role", ""), actor=ctx.actor, now=ctx.now)
    return ctx.redirect("/users", msg="user_added")


def change_user(ctx: Ctx) -> Response:
    username = ctx.request.path_params["username"]
    role = ctx.form.get("role") or None
    disabled = {"1": True, "0": False}.get(ctx.form.get("disabled", ""))
    store.set_role(ctx.conn, username, role, actor=ctx.actor, now=ctx.now, disabled=disabled)
    if ctx.form.get("password"):
        store.set_password(ctx.conn, username, ctx.form["password"], actor=ctx.actor,
                           now=ctx.now)
    return ctx.redirect("/users", msg="user_changed")


def console_routes(engine: Engine, settings: Settings) -> list[BaseRoute]:
    """The console under ``/console`` (and ``/`` sending a browser there)."""
    def page(handler: Any, role: str | None = "viewer") -> Any:
        return endpoint(engine, settings, handler, role=role)

    routes: list[BaseRoute] = [
        Route("/login", page(login_page, None), methods=["GET"]),
        Route("/login", page(login, None), methods=["POST"]),
        Route("/logout", page(logout), methods=["POST"]),
        Route("/lang", page(switch_language, None), methods=["GET"]),
        Route("/", page(fleet_list), methods=["GET"]),
        Route("/terminals/{terminal_id}", page(terminal_page), methods=["GET"]),
        Route("/terminals/{terminal_id}/command", page(send_command, "operator"),
              methods=["POST"]),
        Route("/terminals/{terminal_id}/revoke", page(revoke, "admin"), methods=["POST"]),
        Route("/terminals/{terminal_id}/screenshot.png", page(screenshot), methods=["GET"]),
        Route("/enrol-codes", page(enrol_codes_page, "operator"), methods=["GET"]),
        Route("/enrol-codes", page(create_enrol_code, "operator"), methods=["POST"]),
        Route("/alerts", page(alerts_page), methods=["GET"]),
        Route("/alerts/{alert_id}/{action}", page(alert_action, "operator"), methods=["POST"]),
        Route("/rollouts", page(rollouts_page), methods=["GET"]),
        Route("/rollouts", page(create_rollout, "admin"), methods=["POST"]),
        Route("/rollouts/{rollout_id}/{action}", page(rollout_action, "admin"),
              methods=["POST"]),
        Route("/usage", page(usage_page), methods=["GET"]),
        Route("/usage.csv", page(usage_csv), methods=["GET"]),
        Route("/audit", page(audit_page), methods=["GET"]),
        Route("/users", page(users_page, "admin"), methods=["GET"]),
        Route("/users", page(add_user, "admin"), methods=["POST"]),
        Route("/users/{username}", page(change_user, "admin"), methods=["POST"]),
        Mount("/static", StaticFiles(packages=[("fleet.console", "static")]), name="static"),
    ]

    async def home(request: Request) -> Response:
        return RedirectResponse(PREFIX + "/", status_code=307)

    return [Mount(PREFIX, routes=routes), Route("/", home, methods=["GET"])]
