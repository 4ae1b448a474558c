"""Request signing byte for byte, and the terminal key file a technician installs."""

import hashlib
import hmac

import pytest

from kiosk.central.signing import KeyFileError, canonical, load_key, sign_headers
from tests.fixtures.central import DEMO_KEY_FILE


def test_signature_covers_method_target_time_nonce_body():
    key = bytes(range(32))
    body = b'{"a":1}'
    headers = sign_headers("GZ-T-1", key, "post", "/v1/updates?x=1", body, timestamp=1764000000,
                           nonce="n1")
    body_sha = hashlib.sha256(body).hexdigest()
    assert canonical("post", "/v1/updates?x=1", "1764000000", "n1", body_sha) == (
        b"POST\n/v1/updates?x=1\n1764000000\nn1\n" + body_sha.encode())
    expected = hmac.new(key, b"POST\n/v1/updates?x=1\n1764000000\nn1\n" + body_sha.encode(),
                        hashlib.sha256).hexdigest()
    assert headers == {"X-Kiosk-Terminal": "GZ-T-1", "X-Kiosk-Timestamp": "1764000000",
                       "X-Kiosk-Nonce": "n1", "X-Kiosk-Content-SHA256": body_sha,
                       "X-Kiosk-Signature": expected}


def test_each_request_gets_a_fresh_nonce():
    a = sign_headers("T", b"k" * 16, "GET", "/v1/updates", b"")
    b = sign_headers("T", b"k" * 16, "GET", "/v1/updates", b"")
    assert a["X-Kiosk-Nonce"] != b["X-Kiosk-Nonce"] and a["X-Kiosk-Signature"] != b["X-Kiosk-Signature"]


def test_demo_key_file_loads():
    assert len(load_key(DEMO_KEY_FILE)) == 32


def test_key_file_comments_and_errors(tmp_path):
    good = tmp_path / "t.key"
    good.write_text("# not a secret\n" + "ab" * 16 + "\n")
    assert load_key(good) == b"\xab" * 16
    bad = tmp_path / "bad.key"
    bad.write_text("xyz\n")
    with pytest.raises(KeyFileError, match="not hex"):
        load_key(bad)
    short = tmp_path / "short.key"
    short.write_text("abcd\n")
    with pytest.raises(KeyFileError, match="too short"):
        load_key(short)
    with pytest.raises(KeyFileError, match="cannot read"):
        load_key(tmp_path / "missing.key")
