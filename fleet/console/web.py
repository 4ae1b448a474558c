"""The console's request plumbing: one database transaction per request in a worker thread,
the signed-in operator from the session cookie, the role a page needs, the CSRF check on
every POST, the language, and the page rendered from a shipped Jinja2 template.

Sessions and CSRF tokens live in the database (store.create_session), so any replica serves
any request. The session cookie is HttpOnly and SameSite=Strict, and Secure when the console
is served over https. The login form, which has no session yet, uses a double-submit token
(a cookie and a hidden field that must match).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jinja2
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fleet import store
from fleet.console.i18n import DEFAULT, LANGUAGES, Translator
from fleet.db import is_unavailable
from fleet.settings import Settings

log = logging.getLogger(__name__)

PREFIX = "/console"
SESSION_COOKIE = "fleet_session"
LOGIN_CSRF_COOKIE = "fleet_login_csrf"
LANG_COOKIE = "fleet_lang"
RANK = {"viewer": 0, "operator": 1, "admin": 2}
MAX_FORM_BYTES = 64 * 1024
TEMPLATES = Path(__file__).with_name("templates")


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = lambda ts: (datetime.fromtimestamp(ts, store.CST)
                                      .strftime("%Y-%m-%d %H:%M:%S") if ts else "—")
    return env


class Refused(Exception):
    """A request the console refuses with a page: 403 (role, CSRF), 404, 400."""

    def __init__(self, status: int, key: str) -> None:
        super().__init__(key)
        self.status, self.key = status, key


@dataclass
class Ctx:
    """What a page handler gets: the request, its transaction, who asks, what they sent."""

    request: Request
    conn: sa.Connection
    settings: Settings
    user: dict[str, Any] | None
    form: dict[str, str]
    t: Translator
    now: float
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return str(self.user["username"]) if self.user else "anonymous"

    def can(self, role: str) -> bool:
        return self.user is not None and RANK[str(self.user["role"])] >= RANK[role]

    def q(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default).strip()

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = environment().get_template(template).render(
            t=self.t, lang=self.t.lang, languages=LANGUAGES, user=self.user, can=self.can,
            csrf=self.user["csrf_token"] if self.user else "", prefix=PREFIX,
            path=self.request.url.path, query=self.request.url.query,
            flash=self.flash(), now=self.now, **values)
        return HTMLResponse(html, status_code=status)

    def flash(self) -> str:
        """The message a POST's redirect asked for: only known strings, never echoed text."""
        key = self.q("msg")
        if not self.t.has(key):
            return ""
        cmd = self.q("cmd")
        return self.t(key, name=self.t(f"cmd_{cmd}") if self.t.has(f"cmd_{cmd}") else "")

    def redirect(self, path: str, **params: str) -> RedirectResponse:
        url = PREFIX + path + ("?" + urlencode(params) if params else "")
        return RedirectResponse(url, status_code=303)


Handler = Callable[[Ctx], Response]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def language(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, DEFAULT)
    return lang if lang in LANGUAGES else DEFAULT


def _parse_form(body: bytes) -> dict[str, str]:
    if len(body) > MAX_FORM_BYTES:
        raise Refused(413, "error")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(400, "error") from exc
    return {k: v for k, v in parse_qsl(text, keep_blank_values=True)}


def set_session_cookie(response: Response, request: Request, token: str | None) -> None:
    secure = request.url.scheme == "https"
    if token is None:
        response.delete_cookie(SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict",
                               secure=secure)
    else:
        response.set_cookie(SESSION_COOKIE, token, max_age=int(store.SESSION_TTL_S),
                            path=PREFIX, httponly=True, samesite="strict", secure=secure)


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def endpoint(engine: Engine, settings: Settings, handler: Handler, *,
             role: str | None = "viewer") -> Callable[[Request], Any]:
    """A Starlette endpoint around ``handler``: ``role`` None is a public page (login);
    every POST must carry the session's CSRF token (the login form: its own)."""

    async def serve(request: Request) -> Response:
        t = Translator(language(request))
        try:
            form = (_parse_form(await request.body()) if request.method == "POST" else {})
        except Refused as exc:
            return _error_page(t, exc.status, exc.key)

        def work() -> Response:
            now = store.now()
            with engine.begin() as conn:
                token = request.cookies.get(SESSION_COOKIE)
                user = store.session_user(conn, token, now=now) if token else None
                ctx = Ctx(request, conn, settings, user, form, t, now)
                if role is not None:
                    if user is None:
                        if request.method == "GET":
                            return ctx.redirect("/login", next=str(request.url.path))
                        raise Refused(403, "forbidden")
                    if request.method == "POST":
                        sent = form.get("csrf", "")
                        if not hmac.compare_digest(sent.encode(),
                                                   str(user["csrf_token"]).encode()):
                            log.warning("console: POST %s by %s without a valid CSRF token",
                                        request.url.path, user["username"])
                            raise Refused(403, "forbidden")
                    if RANK[str(user["role"])] < RANK[role]:
                        log.warning("console: %s (%s) may not %s %s", user["username"],
                                    user["role"], request.method, request.url.path)
                        raise Refused(403, "forbidden")
                return handler(ctx)

        try:
            return await run_in_threadpool(work)
        except Refused as exc:
            return _error_page(t, exc.status, exc.key)
        except store.StoreError as exc:
            return _error_page(t, exc.status, "error", exc.message)
        except Exception as exc:
            if is_unavailable(exc):
                return _error_page(t, 503, "db_unavailable")
            raise

    return serve


def _error_page(t: Translator, status: int, key: str, detail: str = "") -> HTMLResponse:
    html = environment().get_template("error.html").render(
        t=t, lang=t.lang, languages=LANGUAGES, user=None, prefix=PREFIX, status=status,
        message=t(key), detail=detail, path="", query="", flash="", csrf="",
        can=lambda role: False)
    return HTMLResponse(html, status_code=status)


def with_query(query: Mapping[str, str], **changes: str | int | None) -> str:
    """The current filters with some changed (pagination links keep the filters)."""
    merged = {k: v for k, v in query.items() if v}
    for k, v in changes.items():
        if v in (None, ""):
            merged.pop(k, None)
        else:
            merged[k] = str(v)
    return urlencode(merged)
