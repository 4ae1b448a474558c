"""Personal data at rest: the outbox file and its WAL hold ciphertext only."""

from __future__ import annotations

import glob

import pytest

from drivers.identity import id_number_check_digit, id_number_valid
from offline_queue import Outbox, PayloadSealError
from offline_queue.crypto import PayloadCipher

NAME = "欧阳测试"
ID17 = "44010619800101123"  # synthetic: invented birth date and sequence
ID_NUMBER = ID17 + id_number_check_digit(ID17)
KEY = bytes(range(32))
assert id_number_valid(ID_NUMBER)


def file_bytes(path) -> bytes:
    return b"".join(open(p, "rb").read() for p in sorted(glob.glob(f"{path}*")))


def put_resident(box: Outbox) -> None:
    payload = {"applicant": {"name": NAME, "id_number": ID_NUMBER}, "service": "residence-proof"}
    for stream in ("submission", "evaluation", "audit", "telemetry"):
        box.put(stream, payload)
    box.put_many([("appointment", payload)] * 3)


def test_file_and_wal_hold_no_plaintext_personal_data(tmp_path):
    path = tmp_path / "outbox.sqlite"
    box = Outbox(path, key=KEY)
    put_resident(box)
    raw = file_bytes(path)  # while open: the rows are still in the -wal file
    box.close()
    assert len(raw) > 4096
    for needle in (NAME.encode(), ID_NUMBER.encode(), ID17.encode(), b"residence-proof"):
        assert needle not in raw
    with Outbox(path, key=KEY) as box:
        payloads = [box.open_payload(c) for c in box.claim(20)]
    assert all(p["applicant"]["id_number"] == ID_NUMBER for p in payloads)


def test_without_a_key_the_same_bytes_would_be_visible(tmp_path):
    """Proves the grep above can find what it looks for."""
    path = tmp_path / "outbox.sqlite"
    with Outbox(path) as box:
        put_resident(box)
        raw = file_bytes(path)
    assert NAME.encode() in raw and ID_NUMBER.encode() in raw


def test_a_row_moved_to_another_key_fails_authentication():
    cipher = PayloadCipher(KEY)
    blob = cipher.seal(b'{"n":1}', "key-a", "submission")
    assert cipher.open(blob, "key-a", "submission") == {"n": 1}
    with pytest.raises(PayloadSealError):
        cipher.open(blob, "key-b", "submission")
    with pytest.raises(PayloadSealError):
        cipher.open(blob, "key-a", "telemetry")
    with pytest.raises(PayloadSealError):
        PayloadCipher(bytes(32)).open(blob, "key-a", "submission")
