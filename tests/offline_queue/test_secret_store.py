"""The terminal's key file: created once, private, never silently replaced."""

from __future__ import annotations

import os
import stat

import pytest

from kiosk.secret_store import SecretStoreError, load_or_create_key


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_key_is_created_private_and_stable(tmp_path):
    path = tmp_path / "var" / "secrets" / "outbox.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert load_or_create_key(path) == key
    assert os.listdir(path.parent) == ["outbox.key"]  # no temp file left behind


def test_loose_permissions_are_tightened(tmp_path):
    path = tmp_path / "secrets" / "outbox.key"
    key = load_or_create_key(path)
    path.chmod(0o644)
    path.parent.chmod(0o755)
    assert load_or_create_key(path) == key
    assert mode(path) == 0o600 and mode(path.parent) == 0o700


def test_damaged_key_file_is_an_error_not_a_new_key(tmp_path):
    path = tmp_path / "outbox.key"
    path.write_bytes(b"short")
    with pytest.raises(SecretStoreError, match="5 bytes"):
        load_or_create_key(path)
    assert path.read_bytes() == b"short"


def test_unwritable_location_is_a_typed_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SecretStoreError) as info:
        load_or_create_key(blocker / "outbox.key")
    assert info.value.errno is not None
