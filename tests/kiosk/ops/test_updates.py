"""Signed updates end to end: kiosk-ops publishes, a static HTTP server serves, the terminal
verifies, switches atomically and rolls back — and refuses tampering, expiry and rollback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fleet.repository_cli import main as kiosk_ops
from kiosk.catalog.services import Catalog
from kiosk.ops.updates import UpdateClient
from kiosk.paths import SERVICES_DIR

KIOSK_OPS = [str(Path(sys.executable).with_name("kiosk-ops"))]


def catalog_with(tmp_path: Path, name: str, new_ids: list[str]) -> Path:
    """The shipped catalog plus services copied from the first hall service under new ids."""
    out = tmp_path / name
    shutil.copytree(SERVICES_DIR, out)
    hall = (out / "hall.toml").read_text(encoding="utf-8")
    first = hall.index("[[services]]")
    block = hall[first:hall.index("[[services]]", first + 1)]
    for new_id in new_ids:
        hall += "\n" + block.replace('id = "hall_qh"', f'id = "{new_id}"')
    (out / "hall.toml").write_text(hall, encoding="utf-8")
    return out


def publish(repo, source: Path, version: str, *extra: str) -> None:
    assert kiosk_ops(["add", str(repo.path), "catalog", str(source), "--version", version]) == 0
    assert kiosk_ops(["publish", str(repo.path), *extra]) == 0


def terminal(tmp_path: Path, repo, **kw) -> UpdateClient:
    return UpdateClient(tmp_path / "var", repo.url, repo.root,
                        health={"catalog": Catalog.load}, **kw)


def snapshot_www(repo, dest: Path) -> Path:
    shutil.copytree(repo.www, dest)
    return dest


def restore_www(repo, saved: Path) -> None:
    shutil.rmtree(repo.www)
    shutil.copytree(saved, repo.www)


def test_new_catalog_published_with_kiosk_ops_reaches_the_terminal(tmp_path, tuf_repo):
    source = catalog_with(tmp_path, "cat1", ["hall_new_service"])
    for args in (["add", str(tuf_repo.path), "catalog", str(source), "--version", "2026.11.2"],
                 ["publish", str(tuf_repo.path)]):
        done = subprocess.run([*KIOSK_OPS, *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    client = terminal(tmp_path, tuf_repo)
    result = client.check("catalog")
    assert (result.outcome, result.version, result.previous) == ("applied", "2026.11.2", None)
    assert Catalog.load(client.current_dir("catalog")).get("hall_new_service")
    assert client.check("catalog").outcome == "up_to_date"

    publish(tuf_repo, catalog_with(tmp_path, "cat2", ["hall_new_service", "hall_second"]), "2026.11.3")
    second = client.check("catalog")
    assert (second.outcome, second.version, second.previous) == ("applied", "2026.11.3", "2026.11.2")
    assert Catalog.load(client.current_dir("catalog")).get("hall_second")
    link = tmp_path / "var" / "catalog" / "current"
    assert link.is_symlink() and str(link.readlink()) == "versions/2026.11.3"
    assert sorted(p.name for p in (tmp_path / "var/catalog/versions").iterdir()) == \
        ["2026.11.2", "2026.11.3"]  # previous kept for rollback


def test_kiosk_ops_refuses_a_catalog_that_fails_the_check(tmp_path, tuf_repo, capsys):
    bad = catalog_with(tmp_path, "bad", ["hall_qh"])  # duplicate id
    assert kiosk_ops(["add", str(tuf_repo.path), "catalog", str(bad), "--version", "9"]) == 2
    err = capsys.readouterr().err
    assert "catalog refused" in err and "duplicate id" in err
    assert json.loads((tuf_repo.path / "staged.json").read_text()) == {}


@pytest.fixture
def on_v1(tmp_path, tuf_repo):
    """A terminal running catalog 2026.11.2 (service hall_v1)."""
    publish(tuf_repo, catalog_with(tmp_path, "v1", ["hall_v1"]), "2026.11.2")
    client = terminal(tmp_path, tuf_repo)
    assert client.check("catalog").outcome == "applied"
    return client


def still_on_v1(client: UpdateClient) -> None:
    assert client.current_version("catalog") == "2026.11.2"
    assert Catalog.load(client.current_dir("catalog")).get("hall_v1")


def test_tampered_target_is_rejected(tmp_path, tuf_repo, on_v1):
    publish(tuf_repo, catalog_with(tmp_path, "v2", ["hall_v2"]), "2026.11.3")
    for blob in (tuf_repo.www / "targets" / "catalog").iterdir():
        data = bytearray(blob.read_bytes())
        data[len(data) // 2] ^= 0xFF
        blob.write_bytes(bytes(data))
    result = on_v1.check("catalog")
    assert (result.outcome, result.reason) == ("rejected", "changed_target")
    still_on_v1(on_v1)


def test_bad_signature_is_rejected(tmp_path, tuf_repo, on_v1):
    publish(tuf_repo, catalog_with(tmp_path, "v2", ["hall_v2"]), "2026.11.3")
    ts_path = tuf_repo.www / "metadata" / "timestamp.json"
    ts = json.loads(ts_path.read_text())
    ts["signed"]["version"] += 1  # changed after signing
    ts_path.write_text(json.dumps(ts))
    result = on_v1.check("catalog")
    assert (result.outcome, result.reason) == ("rejected", "bad_signature")
    still_on_v1(on_v1)


def test_expired_timestamp_is_rejected(tmp_path, tuf_repo, on_v1):
    publish(tuf_repo, catalog_with(tmp_path, "v2", ["hall_v2"]), "2026.11.3",
            "--timestamp-days", "-1")
    result = on_v1.check("catalog")
    assert (result.outcome, result.reason) == ("rejected", "expired")
    still_on_v1(on_v1)


def test_replayed_old_metadata_is_rejected_after_a_restart(tmp_path, tuf_repo):
    publish(tuf_repo, catalog_with(tmp_path, "v1", ["hall_v1"]), "2026.11.2")
    old = snapshot_www(tuf_repo, tmp_path / "www-v1")
    publish(tuf_repo, catalog_with(tmp_path, "v2", ["hall_v2"]), "2026.11.3")
    assert terminal(tmp_path, tuf_repo).check("catalog").version == "2026.11.3"
    restore_www(tuf_repo, old)  # an attacker serves the older, validly signed repository
    result = terminal(tmp_path, tuf_repo).check("catalog")  # a fresh client: metadata persisted
    assert (result.outcome, result.reason) == ("rejected", "rollback")
    assert terminal(tmp_path, tuf_repo).current_version("catalog") == "2026.11.3"


def test_older_catalog_version_in_new_metadata_is_rejected(tmp_path, tuf_repo, on_v1):
    publish(tuf_repo, catalog_with(tmp_path, "old", ["hall_old"]), "2026.10.9")
    result = on_v1.check("catalog")
    assert (result.outcome, result.reason, result.version) == ("rejected", "rollback", "2026.10.9")
    still_on_v1(on_v1)


def test_failing_health_check_rolls_back_by_itself(tmp_path, tuf_repo, on_v1):
    publish(tuf_repo, catalog_with(tmp_path, "v2", ["hall_v2"]), "2026.11.3")

    def app_will_not_start(path: Path) -> None:
        Catalog.load(path)
        raise RuntimeError("screens failed to build")

    client = UpdateClient(tmp_path / "var", tuf_repo.url, tuf_repo.root,
                          health={"catalog": app_will_not_start})
    result = client.check("catalog")
    assert (result.outcome, result.reason, result.version, result.previous) == \
        ("rolled_back", "health_check", "2026.11.3", "2026.11.2")
    assert "screens failed to build" in result.detail
    still_on_v1(client)
    again = client.check("catalog")
    assert (again.outcome, again.reason) == ("skipped", "known_bad")
    assert result.to_json()["type"] == "update"


def test_repository_down_is_unavailable_not_rejected(tmp_path, tuf_repo):
    client = UpdateClient(tmp_path / "var", "http://127.0.0.1:9", tuf_repo.root)
    assert client.check("catalog").outcome == "unavailable"


def test_check_all_reports_every_kind_for_the_heartbeat(on_v1):
    results = {r.kind: r for r in on_v1.check_all()}
    assert set(results) == {"catalog", "config", "announcements", "software"}
    assert results["catalog"].outcome == "up_to_date" and results["catalog"].version == "2026.11.2"
    assert results["software"].detail == "nothing offered"
