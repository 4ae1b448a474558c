"""Personal data never reaches a log file unmasked, and log files are the kiosk user's only."""

import json
import logging
import os
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kiosk.logs
from drivers.identity import Identity, id_number_check_digit
from kiosk.logs import (
    forget_sensitive,
    mask_text,
    release_sensitive,
    remember_sensitive,
    setup_logging,
)
from kiosk.visit.session import Session


@pytest.fixture(autouse=True)
def no_values_from_other_tests():
    """Each test starts and leaves the filter without remembered values."""
    kiosk.logs._values.clear()
    yield
    kiosk.logs._values.clear()


def test_masks_id_numbers_phones_and_remembered_names():
    remember_sensitive("林晓测")
    try:
        text = mask_text("林晓测 44010619850101001X tel 13812345678 ok")
    finally:
        forget_sensitive("林晓测")
    assert text == "林** 440106********001X tel 138****5678 ok"


def test_short_digit_runs_are_left_alone():
    assert mask_text("order 12345 at 2026-11-24") == "order 12345 at 2026-11-24"


@pytest.fixture
def root_logger_restored():
    """setup_logging changes the root logger; leave it as other tests expect it."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.mark.expected_errors(r"failed for")
def test_log_file_holds_masked_json_lines(tmp_path, root_logger_restored):
    setup_logging(tmp_path, "INFO", stderr=False)
    try:
        remember_sensitive("周测试")
        log = logging.getLogger("drivers.idcard")
        log.info("card of %s read: %s", "周测试", "11010519491231002X")
        try:
            raise ValueError("bad number 11010519491231002X")
        except ValueError:
            log.exception("failed for 13900001111")
    finally:
        forget_sensitive("周测试")
    raw = (tmp_path / "kiosk.jsonl").read_text(encoding="utf-8")
    entries = [json.loads(line) for line in raw.splitlines()]
    assert entries[0]["logger"] == "drivers.idcard"
    assert entries[0]["message"] == "card of 周** read: 110105********002X"
    assert "11010519491231002X" not in raw and "周测试" not in raw and "13900001111" not in raw
    assert "ValueError" in entries[1]["exception"]


@pytest.mark.parametrize(("line", "secret"), [
    ("cardID44010619900101123X read", "44010619900101123X"),  # glued to letters
    ("id=44010619900101123x;", "44010619900101123x"),
    ("id 4401 0619 9001 0112 34 ok", "4401 0619 9001 0112 34"),  # as printed on forms
    ("id 4401-0619-9001-0112-34", "4401-0619-9001-0112-34"),
    ("id 440106 19900101 123X", "440106 19900101 123X"),
    ("first-generation card 440106900101123", "440106900101123"),  # 15 digits
    ("mobile +86 138-1234-5678", "1234"),
    ("mobile +8613812345678", "8613812345678"),
    ("mobile 138 1234 5678", "138 1234 5678"),
    ("mobile 0086-13812345678", "13812345678"),
    ("tel13812345678", "13812345678"),
    ("往来港澳通行证 C12345678", "C12345678"),
    ("回乡证 H1234567801 read", "H1234567801"),
    ("回乡证 M12345678", "M12345678"),
    ("台胞证 12345678", "12345678"),
    ("{'pass_number': '87654321'}", "87654321"),
])
def test_pattern_masks_numbers_in_every_shape(line, secret):
    masked = mask_text(line)
    assert secret not in masked
    assert "*" in masked


@pytest.mark.parametrize("line", [
    "terminal GZ-DEMO-0001 heartbeat ok",
    "2026-11-24T10:22:33.123 tick",
    "2026-11-24 10:22:33 reconnect",
    "reference Q20261124ABCD1234 S20261124000001",
    "application GZ20261124000001 accepted",
    "wrote 5000000 bytes in 1500 ms; 13 rows, 1764586800123",
    "job 1a2b3c4d5e6f-0a1b2c3d, session 3f2a9c1e",
    "outbox entry 12345678901234 synced",  # 14 digits: no ID
    "bank 6222021234567890 declined",  # 16 digits: not an ID (nor masked as one)
    "version 1.2.3, baud 115200, port 5900, size 1080x1920",
])
def test_pattern_leaves_technical_values_readable(line):
    assert mask_text(line) == line


def test_names_stay_masked_after_the_session_ends():
    """A late central reply or the outbox syncing logs the resident after the visit ended."""
    session = Session(started=0, last_activity=0)
    session.set_identity(Identity("resident", "欧阳晓测", "44010619900101123X",
                                  address="广东省广州市天河区测试路8号"))
    session.end("finished")
    assert session.identity is None
    assert mask_text("late reply for 欧阳晓测, 广东省广州市天河区测试路8号") == \
        "late reply for 欧***, 广*************"


def test_ended_sessions_values_are_wiped_after_the_retention(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(kiosk.logs._values, "clock", lambda: now[0])
    remember_sensitive("司马测", owner="visit-a")
    release_sensitive("visit-a")
    now[0] += kiosk.logs.RETAIN_SECONDS - 1
    assert mask_text("司马测") == "司**"
    now[0] += 2
    assert mask_text("司马测") == "司马测"  # wiped: the filter no longer holds it at all
    assert not kiosk.logs._values._digests


def test_only_the_last_ended_sessions_are_kept():
    owners = [f"visit-{i}" for i in range(kiosk.logs.RETAIN_SESSIONS + 1)]
    for i, owner in enumerate(owners):
        remember_sensitive(f"诸葛测{i}", owner=owner)
        release_sensitive(owner)
    assert mask_text("诸葛测0") == "诸葛测0"
    assert mask_text(f"诸葛测{len(owners) - 1}") == "诸***"
    for owner in owners:
        release_sensitive(owner)
    forget_sensitive(*(f"诸葛测{i}" for i in range(len(owners))))


def test_escaped_names_are_masked():
    remember_sensitive("林晓测", owner="visit-escaped")
    try:
        as_json = mask_text(json.dumps({"name": "林晓测"}))
        as_bytes = mask_text(repr({"raw": "林晓测".encode()}))
    finally:
        forget_sensitive("林晓测")
    assert as_json == '{"name": "林**"}'
    assert "\\u6797" not in as_json and "\\xe6\\x9e\\x97" not in as_bytes and "林晓测" not in as_bytes


def test_english_name_masks_whole_words_only():
    remember_sensitive("LI", "LIN XIAOCE", owner="visit-en")
    try:
        assert mask_text("client lin xiaoce read") == "client l********* read"
    finally:
        forget_sensitive("LI", "LIN XIAOCE")


# --- synthetic residents, logged in many shapes through the real logging set-up ----------

SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红"
PLACES = "东南西北中兴隆安宁和平康乐福寿"
REGIONS = ("110105", "310104", "440106", "440304", "510107", "810000", "820000")


@st.composite
def residents(draw):
    name = draw(st.sampled_from(SURNAMES)) + "".join(
        draw(st.lists(st.sampled_from(GIVEN), min_size=1, max_size=2)))
    birth = draw(st.dates(min_value=__import__("datetime").date(1930, 1, 1),
                          max_value=__import__("datetime").date(2010, 12, 31)))
    first17 = f"{draw(st.sampled_from(REGIONS))}{birth:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    id_number = first17 + id_number_check_digit(first17)
    mobile = f"1{draw(st.sampled_from('3456789'))}{draw(st.integers(0, 10**9 - 1)):09d}"
    road = "".join(draw(st.lists(st.sampled_from(PLACES), min_size=2, max_size=3)))
    address = f"广东省广州市天河区{road}路{draw(st.integers(1, 999))}号"
    return Identity("resident", name, id_number, address=address), mobile


def _shapes(identity, mobile):
    n, i, a = identity.name, identity.id_number, identity.address
    spaced = f"{i[:4]} {i[4:8]} {i[8:12]} {i[12:16]} {i[16:]}"
    old = i[:6] + i[8:17]  # the same resident's first-generation number
    return [
        ("card of %s read: %s", (n, i)),
        ("cardID%s name%s", (i, n)),
        ("id %s / %s / %s", (spaced, "-".join(spaced.split()), f"{i[:6]} {i[6:14]} {i[14:]}")),
        ("old card %s", (old,)),
        ("mobile %s %s %s %s", (f"+86 {mobile[:3]}-{mobile[3:7]}-{mobile[7:]}", f"+86{mobile}",
                                f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}", f"tel{mobile}")),
        ("reply %s", (json.dumps({"name": n, "id": i, "addr": a}),)),
        ("reply %r", ({"name": n, "id_number": i, "address": a, "mobile": mobile},)),
        ("raw %r", (n.encode(),)),
    ]


def _raw_values(identity, mobile):
    i = identity.id_number
    return [identity.name, identity.address, i, i[:6] + i[8:17], mobile,
            json.dumps(identity.name)[1:-1], repr(identity.name.encode())[2:-1]]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(resident=residents())
def test_no_generated_resident_survives_in_the_log_file(tmp_path, root_logger_restored, resident):
    identity, mobile = resident
    log_dir = Path(tempfile.mkdtemp(dir=tmp_path))
    setup_logging(log_dir, "INFO", stderr=False)
    log = logging.getLogger("kiosk.visit.test")
    session = Session(started=0, last_activity=0)
    session.set_identity(identity)
    for message, args in _shapes(identity, mobile):
        log.info(message, *args)
    session.end("finished")
    for message, args in _shapes(identity, mobile):  # after the visit: late replies
        log.warning(message, *args)
    raw = (log_dir / "kiosk.jsonl").read_text(encoding="utf-8")
    joined = raw.replace(" ", "").replace("-", "")
    for value in _raw_values(identity, mobile):
        assert value not in raw and value.replace(" ", "") not in joined, value
    assert len(raw.splitlines()) == 2 * len(_shapes(identity, mobile))
    assert identity.masked_name in raw  # masked, not dropped


# --- file modes ----------------------------------------------------------------------------

@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def loose_umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_log_files_and_dir_are_private_whatever_the_umask(tmp_path, loose_umask,
                                                          root_logger_restored):
    log_dir = tmp_path / "log" / "kiosk"
    setup_logging(log_dir, "INFO", max_bytes=200, backups=2, stderr=False)
    for n in range(20):  # several rotations
        logging.getLogger("kiosk.test").info("line %d %s", n, "x" * 40)
    files = sorted(log_dir.iterdir())
    assert [f.name for f in files] == ["kiosk.jsonl", "kiosk.jsonl.1", "kiosk.jsonl.2"]
    assert _mode(log_dir) == 0o700
    assert {_mode(f) for f in files} == {0o600}


def test_an_existing_world_readable_log_is_tightened(tmp_path, root_logger_restored):
    (tmp_path / "kiosk.jsonl").write_text("{}\n")
    os.chmod(tmp_path / "kiosk.jsonl", 0o644)
    os.chmod(tmp_path, 0o755)
    setup_logging(tmp_path, "INFO", stderr=False)
    assert _mode(tmp_path / "kiosk.jsonl") == 0o600 and _mode(tmp_path) == 0o700
