"""A damaged outbox is never hidden: real SQLite files, damaged the way disks damage them.

Each test builds a real encrypted outbox with committed transactions, then breaks it: a page
overwritten with garbage, the file truncated to zero, the WAL deleted (or bytes flipped in it)
while it still held committed rows after a crash. The outbox must refuse to pass for a fresh
one, keep the damaged file aside untouched, and save every row still readable, still sealed
and still decryptable.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from offline_queue import Outbox, OutboxDamaged, OutboxError

ROOT = Path(__file__).parent.parent.parent
KEY = bytes(range(32))
ROWS = 1200
DAMAGE_LOG = r"outbox .* (is damaged|replaced)"

# A child that commits ROWS submissions and dies without closing: its WAL keeps the rows
# the last automatic checkpoint did not copy into the main file, as after a crash.
WRITER = """
import os, sys
from offline_queue import Outbox
box = Outbox(sys.argv[1], key=bytes(range(32)))
for i in range(int(sys.argv[2])):
    box.put("submission", {"i": i, "applicant": {"name": "测试人甲"}, "pad": "x" * 200},
            key=f"k-{i}")
os._exit(0)
"""


def crashed_writer(path: Path, rows: int = ROWS) -> None:
    subprocess.run([sys.executable, "-c", WRITER, str(path), str(rows)], cwd=ROOT, check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert Path(f"{path}-wal").stat().st_size > 0, "the crash left no WAL; the test proves little"


def closed_outbox(path: Path, rows: int = ROWS) -> None:
    with Outbox(path, key=KEY) as box:
        box.put_many([("submission", {"i": i, "pad": "x" * 200}, f"k-{i}") for i in range(rows)])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def drain(box: Outbox) -> dict[str, dict]:
    """Every pending transaction, decrypted: key -> payload."""
    out: dict[str, dict] = {}
    while claimed := box.claim(500, force=True):
        for item in claimed:
            out[item.key] = box.open_payload(item)
        box.mark_sent([c.key for c in claimed])
    return out


def kept_aside(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.glob(f"{path.name}.damaged-*")
                  if not p.name.endswith(("-wal", "-shm", ".json")))


def leaf_page_of_outbox(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        pages = [r[0] for r in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = 'outbox' AND pagetype = 'leaf' ORDER BY pageno")]
    except sqlite3.OperationalError:  # no dbstat in this build: the middle of the file
        pages = [os.path.getsize(path) // 4096 // 2]
    finally:
        conn.close()
    return pages[len(pages) // 2]


def test_zero_length_file_is_not_taken_for_a_fresh_outbox(tmp_path):
    path = tmp_path / "outbox.sqlite"
    closed_outbox(path)
    path.write_bytes(b"")  # what a crashed filesystem journal leaves behind
    with pytest.raises(OutboxDamaged, match="empty") as info:
        Outbox(path, key=KEY)
    assert info.value.moved_to is None, "a read-only check must not move the file"
    assert path.exists() and path.stat().st_size == 0


@pytest.mark.expected_errors(DAMAGE_LOG)
def test_zero_length_file_is_kept_aside_and_reported(tmp_path):
    path = tmp_path / "outbox.sqlite"
    closed_outbox(path)
    path.write_bytes(b"")
    with Outbox(path, key=KEY, on_damage="quarantine") as box:
        assert box.damage is not None and "empty" in box.damage.reason
        assert box.damage.recovered == 0 and box.damage.lost == ROWS
        moved = Path(box.damage.moved_to)
        assert moved.name.startswith("outbox.sqlite.damaged-") and moved.stat().st_size == 0
        assert box.stats()["damage"]["state"] == "damaged"
        box.put("submission", {"i": "after"})  # the fresh outbox takes transactions again
    with Outbox(path, key=KEY) as again:  # ... and is not itself taken for damaged later
        assert again.stats()["pending"] == 1 and again.damage is None


@pytest.mark.expected_errors(DAMAGE_LOG)
def test_deleted_wal_with_committed_rows_is_detected_and_the_rest_recovered(tmp_path):
    path = tmp_path / "outbox.sqlite"
    crashed_writer(path)
    os.unlink(f"{path}-wal")
    with pytest.raises(OutboxDamaged, match="are gone"):
        Outbox(path, key=KEY)
    with Outbox(path, key=KEY, on_damage="quarantine") as box:
        found = box.damage
        assert found is not None
        assert found.recovered + found.lost == ROWS and found.lost > 0
        payloads = drain(box)  # recovered rows still decrypt, bound to their own keys
    assert len(payloads) == found.recovered
    assert all(payloads[f"k-{p['i']}"] == {"i": p["i"], "applicant": {"name": "测试人甲"},
                                         "pad": "x" * 200} for p in payloads.values())


@pytest.mark.expected_errors(DAMAGE_LOG)
def test_flipped_wal_bytes_are_detected_and_the_damaged_files_kept_intact(tmp_path):
    path = tmp_path / "outbox.sqlite"
    crashed_writer(path)
    wal = Path(f"{path}-wal")
    with open(wal, "r+b") as f:  # a few flipped bytes in a frame near the WAL's start
        f.seek(32 + 24 + 3000)
        chunk = bytearray(f.read(16))
        f.seek(32 + 24 + 3000)
        f.write(bytes(b ^ 0xFF for b in chunk))
    before = {p.name: digest(p) for p in (path, wal)}
    with pytest.raises(OutboxDamaged, match="are gone"):
        Outbox(path, key=KEY)
    assert {p.name: digest(p) for p in (path, wal)} == before, "a check changed the evidence"
    with Outbox(path, key=KEY, on_damage="quarantine") as box:
        found = box.damage
        assert found is not None and found.lost > 0
        assert len(drain(box)) == found.recovered
    moved = Path(found.moved_to)
    assert digest(moved) == before["outbox.sqlite"]
    assert digest(Path(f"{moved}-wal")) == before["outbox.sqlite-wal"]
    assert Path(f"{moved}.json").exists()


@pytest.mark.expected_errors(DAMAGE_LOG)
def test_garbage_in_a_page_is_detected_and_only_that_page_lost(tmp_path):
    path = tmp_path / "outbox.sqlite"
    closed_outbox(path)
    page = leaf_page_of_outbox(path)
    with open(path, "r+b") as f:  # a sector of garbage over the page header and cell pointers
        f.seek((page - 1) * 4096)
        f.write(os.urandom(512))
    with pytest.raises(OutboxDamaged, match="damaged pages|cannot read"):
        Outbox(path, key=KEY)
    with Outbox(path, key=KEY, on_damage="quarantine") as box:
        found = box.damage
        assert found is not None
        assert 0 < found.lost < 100, found  # one 4 KiB page holds about 15 such rows
        assert found.recovered + found.lost >= ROWS - 1
        payloads = drain(box)
    assert len(payloads) == found.recovered > ROWS - 100


@pytest.mark.expected_errors(DAMAGE_LOG)
def test_damaged_names_are_never_reused(tmp_path):
    path = tmp_path / "outbox.sqlite"
    names = []
    for _ in range(2):  # twice within the same second
        closed_outbox(path, rows=3)
        path.write_bytes(b"")
        with Outbox(path, key=KEY, on_damage="quarantine") as box:
            assert box.damage is not None
            names.append(box.damage.moved_to)
        path.unlink()
        for p in path.parent.glob("outbox.sqlite.mark"):
            p.unlink()
    assert len(set(names)) == 2 and len(kept_aside(path)) == 2


def test_stats_on_a_damaged_page_is_a_typed_error(tmp_path):
    """What `kiosk queue stats` and doctor call: never a raw sqlite3.DatabaseError."""
    path = tmp_path / "outbox.sqlite"
    closed_outbox(path)
    page = leaf_page_of_outbox(path)
    with open(path, "r+b") as f:
        f.seek((page - 1) * 4096)
        f.write(os.urandom(512))
    with pytest.raises(OutboxError):
        with Outbox(path) as box:
            box.stats()


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_outbox_files_are_private_whatever_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = tmp_path / "var" / "outbox.sqlite"
        with Outbox(path, key=KEY) as box:
            box.put("submission", {"i": 1})
            modes = {p.name: p.stat().st_mode & 0o777 for p in path.parent.iterdir()
                     if not p.name.endswith("sync-lock")}
        assert {"outbox.sqlite", "outbox.sqlite-wal", "outbox.sqlite-shm"} <= set(modes)
        assert set(modes.values()) == {0o600}, modes
        assert path.parent.stat().st_mode & 0o777 == 0o700
    finally:
        os.umask(old)


# -- what the technician, the heartbeat and the resident see ---------------------------------

KIOSK = [sys.executable, "-m", "kiosk.cli"]


def kiosk(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "KIOSK_CONFIG"}
    return subprocess.run([*KIOSK, *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**env, "PYTHONPATH": str(ROOT)})


def damaged_page(path: Path) -> None:
    closed_outbox(path)
    page = leaf_page_of_outbox(path)
    with open(path, "r+b") as f:
        f.seek((page - 1) * 4096)
        f.write(os.urandom(512))


def test_queue_stats_on_a_damaged_page_says_so_in_one_line(tmp_path):
    path = tmp_path / "outbox.sqlite"
    damaged_page(path)
    key_file = tmp_path / "outbox.key"
    key_file.write_bytes(KEY)
    key_file.chmod(0o600)
    result = kiosk("queue", "stats", "--db", str(path), "--key-file", str(key_file))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "is damaged" in lines[0], result.stderr


def test_doctor_fails_on_an_emptied_outbox_instead_of_ok_0_waiting(tmp_path):
    path = tmp_path / "outbox.sqlite"
    closed_outbox(path)
    path.write_bytes(b"")
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[central]\nurl = "http://127.0.0.1:9"\n[devices]\nidcard = ""\n'
                   f'receipt_printer = ""\n[outbox]\npath = "{path}"\n', encoding="utf-8")
    result = kiosk("doctor", "--config", str(cfg))
    assert result.returncode != 0 and "Traceback" not in result.stderr + result.stdout
    outbox_lines = [line for line in result.stdout.splitlines() if " outbox: " in line]
    assert len(outbox_lines) == 1 and outbox_lines[0].startswith("FAIL"), result.stdout
    assert "empty" in outbox_lines[0]
    assert path.stat().st_size == 0, "doctor must leave the evidence where it is"


def app_config(tmp_path: Path, path: Path):
    from kiosk.config import load_config

    key_file = tmp_path / "secrets" / "outbox.key"
    key_file.parent.mkdir(mode=0o700)
    key_file.write_bytes(KEY)
    key_file.chmod(0o600)
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[outbox]\npath = "{path}"\nkey_file = "{key_file}"\n', encoding="utf-8")
    return load_config(cfg)


@pytest.mark.expected_errors(DAMAGE_LOG)
def test_the_app_keeps_a_damaged_outbox_aside_and_every_report_says_so(tmp_path):
    from kiosk.ops.doctor import check_outbox
    from kiosk.ops.heartbeat import TerminalFacts
    from kiosk.parts import open_outbox

    path = tmp_path / "outbox.sqlite"
    crashed_writer(path)
    os.unlink(f"{path}-wal")
    box = open_outbox(app_config(tmp_path, path))
    assert box is not None and box.damage is not None
    try:
        beat = TerminalFacts(outbox=box, outbox_path=path).snapshot()["outbox"]
        assert beat["state"] == "damaged" and beat["durable"] is True
        assert beat["damage"]["moved_to"] == box.damage.moved_to
        assert beat["pending"] == box.damage.recovered > 0
    finally:
        box.close()
    check = check_outbox(path)  # what `kiosk doctor` and the technician screen's list show
    assert not check.ok and "kept aside as" in check.detail and "lost at most" in check.detail


@pytest.mark.expected_errors(DAMAGE_LOG)
def test_without_a_durable_outbox_offline_submissions_are_refused(tmp_path):
    import fcntl

    from kiosk.catalog.services import Catalog
    from kiosk.central.client import CentralClient
    from kiosk.central.errors import CentralUnavailable
    from kiosk.ops.heartbeat import TerminalFacts
    from kiosk.parts import open_outbox
    from kiosk.visit.effects import VisitEffects
    from tests.fixtures.central import DEMO_KEY_FILE, DEMO_TERMINAL, PENSIONER

    path = tmp_path / "outbox.sqlite"
    closed_outbox(path)
    path.write_bytes(b"")
    # A drainer still holds the damaged file: it cannot be moved aside, so no outbox at all.
    fd = os.open(f"{path}.sync-lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        box = open_outbox(app_config(tmp_path, path))
    finally:
        os.close(fd)
    assert box is None
    beat = TerminalFacts(outbox=None, outbox_path=path).snapshot()["outbox"]
    assert beat["state"] == "damaged" and beat["durable"] is False and "empty" in beat["reason"]

    from kiosk.central.signing import load_key

    service = Catalog.load().get("hall_12345")  # 12345 留言: may be queued when central is down
    assert service.offline == "may_queue"
    client = CentralClient("http://127.0.0.1:9", DEMO_TERMINAL, load_key(DEMO_KEY_FILE),
                           timeout=(1.0, 1.0), retries=0)
    effects = VisitEffects(client, terminal_id=DEMO_TERMINAL, outbox=box)
    choice = service.inputs[0].options["options"][0]["value"]
    with pytest.raises(CentralUnavailable):  # the resident reads "cannot be reached … later"
        effects.run_service(service, PENSIONER, {"category": choice, "content": "LIGHT BROKEN",
                                                 "mobile": "13800138000"})
    client.close()


def test_an_outbox_from_before_marks_is_adopted_not_called_damaged(tmp_path):
    """A file written by the previous version (no identity, no high water, no mark)."""
    path = tmp_path / "outbox.sqlite"
    closed_outbox(path, rows=50)
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP TABLE outbox_meta; DROP TRIGGER outbox_usage_ins;"
        " ALTER TABLE outbox_usage DROP COLUMN high_water;"
        " CREATE TRIGGER outbox_usage_ins AFTER INSERT ON outbox BEGIN"
        " UPDATE outbox_usage SET rows = rows + 1, bytes = bytes + NEW.size WHERE id = 1; END;")
    conn.close()
    (tmp_path / "outbox.sqlite.mark").unlink()
    with Outbox(path, key=KEY) as box:
        assert box.damage is None and box.stats()["rows"] == 50
        box.put("submission", {"i": 50}, key="k-50")
    os.unlink(path)  # now it is known: losing the file is no longer silent
    with pytest.raises(OutboxDamaged, match="missing"):
        Outbox(path, key=KEY)


@pytest.mark.expected_errors(DAMAGE_LOG)
def test_garbage_in_the_tables_root_page_loses_no_row(tmp_path):
    """The interior page every lookup goes through: the leaves under it are read directly."""
    path = tmp_path / "outbox.sqlite"
    closed_outbox(path)
    conn = sqlite3.connect(path)
    [(root,)] = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'outbox'")
    conn.close()
    with open(path, "r+b") as f:
        f.seek((root - 1) * 4096)
        f.write(os.urandom(512))
    with Outbox(path, key=KEY, on_damage="quarantine") as box:
        found = box.damage
        assert found is not None and found.recovered == ROWS and found.lost == 0, found.to_json()
        payloads = drain(box)
    assert sorted(payloads) == sorted(f"k-{i}" for i in range(ROWS))
    assert payloads["k-42"] == {"i": 42, "pad": "x" * 200}


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_the_apps_outbox_and_its_directory_are_private(tmp_path, umask):
    """As the app opens it: the key store creates var/ first (with the umask's mode)."""
    from kiosk.config import load_config
    from kiosk.parts import open_outbox

    var = tmp_path / "var"
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[outbox]\npath = "{var / "outbox.sqlite"}"\n'
                   f'key_file = "{var / "secrets" / "outbox.key"}"\n', encoding="utf-8")
    old = os.umask(umask)
    try:
        box = open_outbox(load_config(cfg))
        assert box is not None
        box.put("submission", {"i": 1})
        modes = {p.name: p.stat().st_mode & 0o777 for p in var.iterdir() if p.is_file()}
        box.close()
    finally:
        os.umask(old)
    assert modes and set(modes.values()) == {0o600}, modes
    assert var.stat().st_mode & 0o777 == 0o700
