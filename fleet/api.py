"""The terminal-facing HTTP API (``fleet-api.json``): enrol, heartbeat, acknowledge,
telemetry, diagnostics, screenshot.

Each request is one database transaction, in a worker thread: check the signature (the key
and the nonce table are in the database), check that the path's terminal is the signer,
validate the body against the OpenAPI document's schema, then call :mod:`fleet.store`.
Anything refused raises before the commit, so a refused request changes nothing; it is
logged with the terminal, the path and the reason — never the body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import orjson
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fleet import store
from fleet.db import AsyncPool, is_unavailable
from fleet.settings import Settings
from fleet.signing import AuthError, parse_headers, verify

log = logging.getLogger(__name__)

API_DOC = Path(__file__).with_name("fleet-api.json")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# keys that would carry a resident's identity; telemetry is counts, diagnostics are masked
PERSONAL_KEYS = store.PERSONAL_KEYS
KEY_TTL_S = 300.0  # a cached key only saves a read: the beat's statement re-checks it
_ID_NUMBER = store.ID_NUMBER


class Refused(Exception):
    """A request the API refuses before the store sees it (body, size, media type)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None
          ) -> JSONResponse:
    """The one error body: ``{"error": {"code", "message"}}``."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=headers)


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(API_DOC.read_text(encoding="utf-8"))
    return doc


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": _document()["components"]}
    return jsonschema.Draft202012Validator(schema)


@cache
def _accepts(name: str) -> Callable[[object], object]:
    """Schema ``name`` compiled to Python once (fastjsonschema): ~10x quicker to say yes than
    walking it. Only its "yes" is used; on a "no" the reference validator decides and words
    the refusal. Formats are annotations here, as they are for the reference validator."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": _document()["components"]}
    return fastjsonschema.compile(schema, use_formats=False)


def validate(name: str, value: object) -> None:
    """Refused(bad_request) naming the first field that breaks schema ``name``; the message
    carries the field's path and the rule, never the value (it may be a resident's)."""
    try:
        _accepts(name)(value)
        return
    except fastjsonschema.JsonSchemaException:
        pass  # the reference validator below has the last word and the message
    problem = jsonschema.exceptions.best_match(_validator(name).iter_errors(value))
    if problem is not None:
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}"
                              for p in problem.absolute_path)
        raise Refused("bad_request", f"{where}: breaks {problem.validator}")


def _walk_keys(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _walk_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_keys(item)


def refuse_personal_data(value: object, raw: bytes, *, keys: frozenset[str]) -> None:
    """Refused(personal_data) when a field named like identity data, or an unmasked ID
    number anywhere, is in the payload."""
    found = next((k for k in _walk_keys(value) if k.lower() in keys), None)
    if found is not None:
        raise Refused("personal_data", f"field {found!r} is personal data; not accepted")
    if _ID_NUMBER.search(raw.decode("utf-8", "replace")):
        raise Refused("personal_data", "an unmasked ID number is in the payload")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing (413) more than ``limit`` bytes without reading past it."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            too_big = int(declared) > limit
        except ValueError:
            raise Refused("bad_request", "Content-Length is not a number") from None
        if too_big:
            raise Refused("too_large", f"body over {limit} bytes", 413)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refused("too_large", f"body over {limit} bytes", 413)
            chunks.append(chunk)
    except ClientDisconnect:
        raise Refused("bad_request", "client went away mid-body") from None
    return b"".join(chunks)


def parse_json(request: Request, body: bytes) -> Any:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise Refused("unsupported_media_type", "Content-Type must be application/json", 415)
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Refused("bad_request", "body is not UTF-8 JSON") from None


def _target(request: Request) -> str:
    """What the terminal signed: the path and query, as ``request.url`` has them (read
    from the ASGI scope, without building the URL)."""
    scope = request.scope
    query = scope.get("query_string", b"")
    path = scope.get("root_path", "") + scope["path"]
    return f"{path}?{query.decode('latin-1')}" if query else path


@dataclass
class Call:
    """One signed request as a handler sees it, inside the request's transaction."""

    conn: Any
    terminal_id: str
    now: float
    request: Request
    body: bytes
    terminal: dict[str, Any]  # its row, locked for this transaction


Handler = Callable[[Call], Any]
# the one-statement path of an endpoint: its reply, or None to take the transaction path
FastPath = Callable[[Request, Any, str, bytes], Awaitable[Any]]


class GroupCommit:
    """Heartbeats that arrive while the database is busy are committed together: a few
    flushers each take what has queued (up to ``max_batch``) and run it as one pipelined
    transaction (store.record_heartbeats_fast); each beat is answered only after that
    commit. An idle service adds no wait: the first beat starts a flusher at once. A batch
    that fails for anything but an unreachable database is retried beat by beat, so one
    bad beat costs only itself."""

    def __init__(self, pool: AsyncPool, max_batch: int = 64, flushers: int = 3) -> None:
        self.pool, self.max_batch, self.flushers = pool, max_batch, flushers
        self._queued: list[tuple[dict[str, Any], asyncio.Future[Any]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, params: dict[str, Any]) -> Any:
        """The statement's result row for ``params``, once committed."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queued.append((params, done))
        if len(self._tasks) < self.flushers:
            task = asyncio.create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await done

    async def _flush(self) -> None:
        while self._queued:
            batch = self._queued[:self.max_batch]
            del self._queued[:self.max_batch]
            await self._commit(batch)

    async def _commit(self, batch: list[tuple[dict[str, Any], asyncio.Future[Any]]]) -> None:
        try:
            async with self.pool.connection() as aconn:
                rows = await store.record_heartbeats_fast(aconn, [p for p, _ in batch])
        except Exception as exc:
            if len(batch) > 1 and not is_unavailable(exc):
                for item in batch:
                    await self._commit([item])
                return
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for (_, done), row in zip(batch, rows, strict=True):
            if not done.done():
                done.set_result(row)


class TerminalApi:
    """The API's routes over one engine; holds no state of its own between requests."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        # PostgreSQL: the steady-state heartbeat is one statement on an async connection
        self.pool = AsyncPool.for_engine(engine)
        self.group_commit = GroupCommit(self.pool) if self.pool is not None else None
        # terminal id -> (key hex, when read). Not a source of truth: the beat's statement
        # only applies while the row still has this key and state 'enrolled', so a revoke
        # or a re-enrolment takes effect on the next request; a miss falls back to the
        # transaction path, which reads the row.
        self._keys: dict[str, tuple[str, float]] = {}
        # the heartbeat's endpoint: a route, and what create_app's fast lane calls directly
        self.heartbeat = self._signed(self._heartbeat, settings.max_json_bytes,
                                      fast=self._fast_heartbeat)

    async def aclose(self) -> None:
        """Close the heartbeat path's connections (at shutdown)."""
        if self.pool is not None:
            await self.pool.close()

    def routes(self) -> list[Route]:
        s = self.settings
        return [
            Route("/v1/enroll", self.enroll, methods=["POST"]),
            Route("/v1/terminals/{id}/heartbeat", self.heartbeat, methods=["POST"]),
            Route("/v1/terminals/{id}/commands/{cid}/ack",
                  self._signed(self._ack, s.max_json_bytes), methods=["POST"]),
            Route("/v1/terminals/{id}/telemetry",
                  self._signed(self._telemetry, s.max_json_bytes), methods=["POST"]),
            Route("/v1/terminals/{id}/diagnostics",
                  self._signed(self._diagnostics, s.max_diagnostics_bytes), methods=["POST"]),
            Route("/v1/terminals/{id}/screenshot",
                  self._signed(self._screenshot, s.max_screenshot_bytes), methods=["POST"]),
        ]

    # -------------------------------------------------------------- plumbing

    def _refused(self, request: Request, terminal: str | None, status: int, code: str,
                 message: str) -> JSONResponse:
        log.warning("refused %s %s from terminal %s: %s %s (%s)", request.method,
                    request.url.path, terminal or "-", status, code, message)
        return error(status, code, message)

    async def _guarded(self, request: Request, terminal: str | None,
                       work: Callable[[], Awaitable[Response]]) -> Response:
        try:
            return await work()
        except (Refused, AuthError, store.StoreError) as exc:
            return self._refused(request, terminal, exc.status, exc.code, exc.message)
        except Exception as exc:
            if is_unavailable(exc):
                log.error("fleet database unreachable on %s %s: %s", request.method,
                          request.url.path, type(exc).__name__)
                return error(503, "database_unavailable", "the fleet database is unreachable; "
                             "keep the data and retry later")
            log.exception("fault on %s %s", request.method, request.url.path)
            return error(500, "internal", "fault in the fleet service")

    def _signed(self, handler: Handler, limit: int, fast: FastPath | None = None
                ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            claimed = request.headers.get("x-kiosk-terminal")

            async def work() -> Response:
                body = await read_body(request, limit)
                signed = parse_headers(request.headers)
                target = _target(request)
                if fast is not None and self.pool is not None:
                    done = await fast(request, signed, target, body)
                    if done is not None:  # the JSONResponse's bytes, rendered ~5x quicker
                        return Response(orjson.dumps(done), media_type="application/json")
                result = await run_in_threadpool(self._in_transaction, request, signed,
                                                 target, body, handler)
                return JSONResponse(result)

            return await self._guarded(request, claimed, work)

        return endpoint

    def _in_transaction(self, request: Request, signed: Any, target: str, body: bytes,
                        handler: Handler) -> Any:
        now = store.now()
        with self.engine.begin() as conn:
            terminal = store.terminal_for_update(conn, signed.terminal_id)
            if terminal is None:
                raise AuthError("unknown_terminal", f"terminal {signed.terminal_id} is not "
                                "enrolled")
            verify(signed, bytes.fromhex(terminal["key_hex"]), request.method, target, body,
                   now, self.settings.max_skew_s)
            if terminal["state"] != "enrolled":
                raise AuthError("terminal_revoked", f"terminal {signed.terminal_id} is revoked")
            if request.path_params.get("id") != signed.terminal_id:
                raise AuthError("terminal_mismatch", "a terminal acts only for itself", 403)
            if not store.remember_nonce(conn, signed.terminal_id, signed.nonce, now):
                raise AuthError("replayed_nonce", "nonce already used")
            return handler(Call(conn, signed.terminal_id, now, request, body, terminal))

    async def _fast_heartbeat(self, request: Request, signed: Any, target: str,
                              body: bytes) -> Any:
        """A steady-state beat in one statement, group-committed with the beats arriving
        meanwhile (PostgreSQL), or None when anything is unusual — no such enrolled
        terminal, a refusal of any kind, a changed fault or version, acks — and the
        transaction path (:meth:`_in_transaction`) answers instead, exactly as before:
        refusals keep their codes and order, alerts and events are derived there."""
        assert self.pool is not None and self.group_commit is not None
        tid, now = signed.terminal_id, store.now()
        if request.path_params.get("id") != tid:
            return None
        cached = self._keys.get(tid)
        if cached is None or time.monotonic() - cached[1] > KEY_TTL_S:
            async with self.pool.connection() as aconn:
                key_hex = await store.enrolled_key_fast(aconn, tid)
            if key_hex is None:
                self._keys.pop(tid, None)
                return None
            cached = self._keys[tid] = (key_hex, time.monotonic())
        try:
            verify(signed, bytes.fromhex(cached[0]), request.method, target, body, now,
                   self.settings.max_skew_s)
            beat = parse_json(request, body)
            validate("Heartbeat", beat)
        except (AuthError, Refused):
            self._keys.pop(tid, None)
            return None
        if beat.get("terminal_id", tid) != tid:
            return None
        params = store.fast_beat_params(tid, cached[0], signed.nonce, beat, now=now,
                                        offline_after=self.settings.offline_after_intervals,
                                        lease_min_s=self.settings.command_lease_min_s,
                                        max_deliveries=self.settings.command_max_deliveries)
        if params is None:
            return None
        reply = store.fast_beat_reply(await self.group_commit.run(params), tid, now=now)
        if reply is None:
            self._keys.pop(tid, None)
        return reply

    # -------------------------------------------------------------- endpoints

    async def enroll(self, request: Request) -> Response:
        async def work() -> Response:
            payload = parse_json(request, await read_body(request, 4096))
            validate("EnrollRequest", payload)

            def run() -> store.Enrolment:
                with self.engine.begin() as conn:
                    return store.enrol(conn, payload["code"], now=store.now(),
                                       interval_s=self.settings.heartbeat_interval_s)

            done = await run_in_threadpool(run)
            log.info("terminal %s enrolled", done.terminal_id)
            return JSONResponse({"terminal_id": done.terminal_id, "key": done.key_hex,
                                 "heartbeat_interval_s": done.interval_s})

        return await self._guarded(request, None, work)

    def _heartbeat(self, call: Call) -> Any:
        beat = parse_json(call.request, call.body)
        validate("Heartbeat", beat)
        if beat.get("terminal_id", call.terminal_id) != call.terminal_id:
            raise AuthError("terminal_mismatch", "body terminal_id is not the signer", 403)
        return store.record_heartbeat(call.conn, call.terminal_id, beat, now=call.now,
                                      offline_after=self.settings.offline_after_intervals,
                                      locked=call.terminal,
                                      lease_min_s=self.settings.command_lease_min_s,
                                      max_deliveries=self.settings.command_max_deliveries)

    def _ack(self, call: Call) -> Any:
        payload = parse_json(call.request, call.body)
        validate("AckRequest", payload)
        command_id = str(call.request.path_params["cid"])
        if not re.fullmatch(r"[0-9a-f]{32}", command_id):
            raise store.StoreError("no_such_command", "no such command for this terminal", 404)
        result = {"detail": payload["detail"]} if "detail" in payload else None
        recorded = store.ack_command(call.conn, call.terminal_id, command_id,
                                     ok=payload["ok"], result=result, now=call.now)
        return {"recorded": bool(recorded)}

    def _telemetry(self, call: Call) -> Any:
        batch = parse_json(call.request, call.body)
        refuse_personal_data(batch, call.body, keys=PERSONAL_KEYS)
        validate("TelemetryBatch", batch)
        return store.record_telemetry(call.conn, call.terminal_id, batch, now=call.now)

    def _diagnostics(self, call: Call) -> Any:
        payload = parse_json(call.request, call.body)
        refuse_personal_data(payload, call.body, keys=frozenset({"id_number", "person_token",
                                                                 "face_jpeg"}))
        validate("Diagnostics", payload)
        new_id = store.record_diagnostics(call.conn, call.terminal_id, call.body, now=call.now)
        return {"id": new_id, "size": len(call.body)}

    def _screenshot(self, call: Call) -> Any:
        ctype = call.request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "image/png":
            raise Refused("unsupported_media_type", "Content-Type must be image/png", 415)
        if not call.body.startswith(PNG_MAGIC):
            raise Refused("bad_request", "body is not a PNG")
        new_id = store.record_screenshot(call.conn, call.terminal_id, call.body, now=call.now)
        return {"id": new_id, "size": len(call.body)}
