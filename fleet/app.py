"""``create_app(settings)``: the fleet service as one Starlette app — the terminal API,
``/healthz``, and (later) the console, which mounts its routes on the same app and calls
:mod:`fleet.store` like the API does.

Every replica runs the same periodic housekeeping (offline alerts, old nonces, the rollouts'
automatic pause); each step is one transaction that is harmless to repeat or to run on N
replicas at once (store.sweep_offline, rollouts.evaluate).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from fleet import rollouts, store
from fleet.api import TerminalApi, error
from fleet.console import console_routes
from fleet.db import current_revision, is_unavailable, make_engine
from fleet.settings import Settings

log = logging.getLogger(__name__)


def housekeeping(engine: Engine, settings: Settings) -> int:
    """One pass: open/resolve offline alerts, forget nonces past the replay window, then
    pause running rollouts that fail above their limit (its own transaction: a rollout's
    trouble must not hold back the offline alerts). The offline alerts opened."""
    now = store.now()
    with engine.begin() as conn:
        opened = store.sweep_offline(conn, now=now, offline_after=settings.offline_after_intervals)
        store.purge_nonces(conn, before=now - 2 * settings.max_skew_s)
    with engine.begin() as conn:
        rollouts.evaluate(conn, now=now)
    return opened


async def _housekeeping_loop(engine: Engine, settings: Settings) -> None:
    from starlette.concurrency import run_in_threadpool

    while True:
        try:
            await run_in_threadpool(housekeeping, engine, settings)
        except Exception as exc:
            if is_unavailable(exc):
                log.warning("housekeeping skipped: database unreachable (%s)", type(exc).__name__)
            else:
                log.exception("housekeeping failed")
        await asyncio.sleep(settings.sweep_every_s)


_HEARTBEAT_PATH = re.compile(r"/v1/terminals/([^/]+)/heartbeat")


class FleetApp(Starlette):
    """The fleet's Starlette app with a fast lane: a terminal's ``POST .../heartbeat`` (the
    request every terminal sends every interval, most of the service's load) goes straight
    to the API's heartbeat endpoint, ahead of the middleware stack and the router, which
    serve the console and every other route. The endpoint checks the signature, validates
    the body, derives alerts and answers its own refusals and faults, as it does routed."""

    heartbeat: Callable[[Request], Awaitable[Response]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self.heartbeat is not None and scope["type"] == "http"
                and scope["method"] == "POST" and not scope.get("root_path")):
            match = _HEARTBEAT_PATH.fullmatch(scope["path"])
            if match is not None:
                scope["app"] = self
                scope["path_params"] = {"id": match[1]}
                response = await self.heartbeat(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings, engine: Engine | None = None) -> Starlette:
    """The app over ``settings.database_url`` (or a given engine). It does not migrate:
    ``kiosk-fleet migrate`` (or ``serve --migrate``) does, once, before replicas start."""
    engine = engine or make_engine(settings.database_url)
    api = TerminalApi(engine, settings)

    async def healthz(request: Request) -> Response:
        def check() -> str | None:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return current_revision(engine)

        from starlette.concurrency import run_in_threadpool

        try:
            revision = await run_in_threadpool(check)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            return error(503, "database_unavailable", "the fleet database is unreachable")
        return JSONResponse({"ok": True, "schema": revision})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            allow = (exc.headers or {}).get("Allow", "POST")
            return error(405, "method_not_allowed",
                         f"{request.method} is not declared for this path", {"Allow": allow})
        if exc.status_code == 404:
            return error(404, "not_found", "no such path")
        return error(exc.status_code, "bad_request", str(exc.detail))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = (asyncio.create_task(_housekeeping_loop(engine, settings))
                if settings.sweep_every_s > 0 else None)
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await api.aclose()
            engine.dispose()

    app = FleetApp(routes=[*api.routes(), Route("/healthz", healthz, methods=["GET"]),
                           *console_routes(engine, settings)],
                   exception_handlers={HTTPException: http_error}, lifespan=lifespan)
    app.heartbeat = api.heartbeat
    app.state.engine = engine
    app.state.settings = settings
    return app


def create_app_from_env() -> Starlette:
    """The app from ``KIOSK_FLEET_*`` variables: uvicorn's factory for ``--workers N``,
    where each worker process builds its own app (and its own connection pool)."""
    return create_app(Settings.from_env())
