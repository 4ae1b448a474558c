"""The simulator refuses what a real platform must refuse: byte-level signed requests made
here by hand (not through CentralClient), so the check is independent of the client."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import pytest
import requests

from tests.fixtures.central import DEMO_KEY_FILE, DEMO_TERMINAL

KEY = bytes.fromhex("".join(line for line in DEMO_KEY_FILE.read_text().split() if not line.startswith("#")))


def signed(method: str, target: str, body: bytes, *, key: bytes = KEY, ts: int | None = None,
           nonce: str | None = None, terminal: str = DEMO_TERMINAL) -> dict[str, str]:
    ts_text = str(int(time.time()) if ts is None else ts)
    nonce = nonce or uuid.uuid4().hex
    body_sha = hashlib.sha256(body).hexdigest()
    text = f"{method}\n{target}\n{ts_text}\n{nonce}\n{body_sha}".encode()
    return {"X-Kiosk-Terminal": terminal, "X-Kiosk-Timestamp": ts_text, "X-Kiosk-Nonce": nonce,
            "X-Kiosk-Content-SHA256": body_sha,
            "X-Kiosk-Signature": hmac.new(key, text, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json"}


BODY = json.dumps({"transactions": []}).encode()
TARGET = "/v1/transactions:batch"


def post(sim, headers: dict, body: bytes = BODY) -> requests.Response:
    return requests.post(sim.url + TARGET, data=body, headers=headers, timeout=5)


def test_correct_signature_is_accepted(central_sim):
    central_sim.reset()
    resp = post(central_sim, signed("POST", TARGET, BODY))
    assert resp.status_code == 200 and resp.json() == {"accepted": [], "rejected": []}


@pytest.mark.parametrize("case,code", [
    ("wrong_key", "bad_signature"),
    ("stale", "stale_timestamp"),
    ("future", "stale_timestamp"),
    ("tampered_body", "body_mismatch"),
    ("unsigned", "unsigned"),
    ("unknown_terminal", "unknown_terminal"),
    ("other_path", "bad_signature"),
])
def test_bad_signatures_are_401(central_sim, case, code):
    central_sim.reset()
    headers = {
        "wrong_key": lambda: signed("POST", TARGET, BODY, key=b"\x01" * 32),
        "stale": lambda: signed("POST", TARGET, BODY, ts=int(time.time()) - 301),
        "future": lambda: signed("POST", TARGET, BODY, ts=int(time.time()) + 400),
        "tampered_body": lambda: signed("POST", TARGET, b'{"transactions": [1]}'),
        "unsigned": lambda: {"Content-Type": "application/json"},
        "unknown_terminal": lambda: signed("POST", TARGET, BODY, terminal="GZ-EVIL-0001"),
        "other_path": lambda: signed("POST", "/v1/updates", BODY),
    }[case]()
    resp = post(central_sim, headers)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == code
    assert central_sim.admin("/_admin/transactions")["transactions"] == []


def test_replayed_nonce_is_refused(central_sim):
    central_sim.reset()
    headers = signed("POST", TARGET, BODY)
    assert post(central_sim, headers).status_code == 200
    again = post(central_sim, headers)
    assert again.status_code == 401 and again.json()["error"]["code"] == "replayed_nonce"


def test_timestamp_inside_window_is_fine(central_sim):
    central_sim.reset()
    assert post(central_sim, signed("POST", TARGET, BODY, ts=int(time.time()) - 250)).status_code == 200


def test_bad_fault_name_is_refused(central_sim):
    resp = requests.post(central_sim.url + "/_admin/faults", json={"meltdown": True}, timeout=5)
    assert resp.status_code == 400
