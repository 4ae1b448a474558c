"""Personal data never reaches a log file unmasked."""

import json
import logging

import pytest

from kiosk.logs import forget_sensitive, mask_text, remember_sensitive, setup_logging


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
