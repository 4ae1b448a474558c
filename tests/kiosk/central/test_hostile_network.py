"""CentralClient between the terminal and a hostile network (tests/fixtures/hostile_http.py):
a redirect is never followed, a dripping server cannot hold a call past its deadline, a huge
body or a gzip bomb is cut off unread, and whatever garbage arrives becomes a typed error."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from kiosk.central.client import CentralClient
from kiosk.central.errors import (
    BadResponse,
    CentralTimeout,
    CentralUnavailable,
    Redirected,
    ResponseTooLarge,
)
from tests.fixtures.central import PENSIONER
from tests.fixtures.hostile_http import (
    ack_everything,
    declared_huge,
    drip,
    endless,
    gzip_bomb,
    redirect_to,
    stall_mid_body,
    static,
)

MB = 1024 * 1024
VERIFIED = json.dumps({"verified": True, "padding": "x" * 40}).encode()
BATCH = [{"key": "k-hostile-1", "stream": "submission", "created_at": "2026-11-24T10:00:00Z",
          "payload": {"service": "hall_12345", "inputs": {"content": "STREET LIGHT"}}}]


def client_for(url: str, **kw) -> CentralClient:
    kw.setdefault("timeout", (1.0, 2.0))  # per socket read: longer than any drip interval here
    kw.setdefault("retries", 2)
    kw.setdefault("backoff", 0.01)
    return CentralClient(url, "GZ-TEST-0001", b"k" * 32, **kw)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed_and_its_target_hears_nothing(hostile, status):
    elsewhere = hostile(ack_everything)  # answers like central would, and is not central
    portal = hostile(redirect_to(elsewhere.url, status))
    with client_for(portal.url) as client, pytest.raises(Redirected) as info:
        client.upload_transactions(BATCH)
    assert isinstance(info.value, BadResponse) and info.value.status == status
    assert elsewhere.received == []  # neither the signed headers nor the resident's data
    assert len(portal.received) == 1  # a redirect is an answer, not a reason to retry


@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "headers"])
def test_a_dripping_server_ends_in_a_timeout_before_it_has_sent_its_answer(hostile, headers_too):
    server = hostile(drip(VERIFIED, every=0.1, headers_too=headers_too))  # ~7-17 s in all
    with client_for(server.url, deadline=1.0) as client, pytest.raises(CentralTimeout) as info:
        client.verify_identity(PENSIONER)
    assert not server.finished.is_set(), "the call lasted as long as the server dripped"
    assert info.value.phase == "deadline" and info.value.message_key == "central.timeout"
    assert server.hung_up.wait(10)  # the client closed the connection
    assert len(server.received) == 1  # the deadline covers all attempts: none after it


def test_a_read_timeout_mid_body_is_not_retried_like_a_refused_connection(hostile):
    server = hostile(stall_mid_body(VERIFIED, sent=10))
    with client_for(server.url, timeout=(1.0, 0.3), retries=2) as client:
        with pytest.raises(CentralTimeout) as info:
            client.verify_identity(PENSIONER)
    assert info.value.phase == "read"
    assert len(server.received) == 1  # slow, not down: the resident waits one read timeout


def test_a_body_without_end_is_cut_off_at_the_limit(hostile):
    server = hostile(endless(256 * MB))
    with client_for(server.url, max_reply_bytes=1 * MB) as client:
        with pytest.raises(ResponseTooLarge) as info:
            client.verify_identity(PENSIONER)
    assert isinstance(info.value, BadResponse)
    assert server.hung_up.wait(10) and not server.finished.is_set()
    assert server.bytes_sent < 64 * MB  # what the socket buffers took, not the 256 MB


def test_documents_have_a_larger_limit_than_json_and_an_announced_monster_is_not_read(hostile):
    fits = hostile(declared_huge(3 * MB))
    with client_for(fits.url, max_reply_bytes=1 * MB, max_document_bytes=8 * MB) as client:
        assert len(client.fetch_document("doc-1")) == 3 * MB  # a big PDF is still a PDF
    monster = hostile(declared_huge(256 * MB))
    with client_for(monster.url, max_reply_bytes=1 * MB, max_document_bytes=8 * MB) as client:
        with pytest.raises(ResponseTooLarge):
            client.fetch_document("doc-2")
    assert monster.hung_up.wait(10) and not monster.finished.is_set()
    assert len(monster.received) == 1


def test_a_gzip_bomb_is_not_inflated(hostile):
    inflated = 256 * MB  # about 250 KB on the wire
    server = hostile(gzip_bomb(inflated))
    with client_for(server.url, max_reply_bytes=1 * MB) as client:
        assert client._session is not None  # requests loaded before measuring
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLarge):
                client.verify_identity(PENSIONER)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < inflated / 8, f"{peak / MB:.0f} MB held: the bomb was inflated"


NESTED = b"[" * 200_000 + b"]" * 200_000


@pytest.mark.parametrize("status, body, content_type", [
    (200, b"<html><body>Welcome to Free WiFi. Please log in.</body></html>", "text/html"),
    (200, b'{"verified": tr', "application/json"),  # complete, well-framed, truncated JSON
    (200, NESTED, "application/json"),  # RecursionError in the parser
    (200, b'{"verified": true, "x": ' + b"[" * 100 + b"]" * 100 + b"}", "application/json"),
    (200, '{"verified": true, "name": "caf\xe9"}'.encode("latin-1"), "application/json"),
    (200, b'{"verified": true, "score": NaN}', "application/json"),
    (200, b"\x00\x01\x02garbage\xff", "application/octet-stream"),
    (403, b"<html><body>Forbidden by the hall's proxy</body></html>", "text/html"),  # no Error envelope
], ids=["html-200", "truncated", "nested-deep", "nested-100", "latin-1", "nan", "binary",
        "html-403"])
def test_an_unusable_answer_is_a_typed_bad_response_that_means_central_unavailable(
        hostile, status, body, content_type):
    server = hostile(static(status, body, content_type))
    with client_for(server.url) as client, pytest.raises(BadResponse) as info:
        client.verify_identity(PENSIONER)
    # for the outbox and a visit that may queue, an answer that is not central's = central down
    assert isinstance(info.value, CentralUnavailable)
    assert info.value.message_key == "central.bad_response"
    assert len(server.received) == 1  # the same request would get the same answer
