"""The words on screen and on paper: zh_HK in one written Hong Kong usage, English that reads
naturally, and the same terms on the receipt as on the screen. Reads the real catalogs; no Qt
window is needed, so these checks cost milliseconds."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterator

from kiosk.catalog.services import Catalog
from kiosk.i18n import load_texts
from kiosk.paths import CONFIG_DIR
from kiosk.visit.service_result import ServiceResult
from screens.search import COMMON_WORDS

CATALOG = Catalog.load()

# Mainland words with a different Hong Kong written form, as HK government counters write them.
MAINLAND = {
    "打印": "列印",
    "信息": "資料",
    "賬": "帳",  # 帳戶, 帳號, 到帳
    "憑條": "回執",  # the printed slip: 回執, as its heading 業務辦理回執 says
    "收據": "回執",  # 收據 is a payment receipt in Hong Kong; nothing here is paid
    "人工窗口": "服務櫃位",
    "號窗口": "號櫃位",
    "屏幕": "螢幕",
    "刷新": "更新",
    "點樣": "如何",  # spoken Cantonese, not written Chinese
    "睇": "看",
    "工作人員": "職員",
}


def _zh_hk_texts(value: object, where: str) -> Iterator[tuple[str, str]]:
    """Every zh_HK string of a catalog, template or announcement file, with where it sits."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "zh_HK" and isinstance(item, str):
                yield where, item
            else:
                yield from _zh_hk_texts(item, f"{where}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _zh_hk_texts(item, f"{where}[{n}]")


def hong_kong_texts() -> list[tuple[str, str]]:
    texts = [(f"i18n/zh_HK.toml {key}", text) for key, text in load_texts("zh_HK").items()]
    files = [*sorted((CONFIG_DIR / "services").glob("*.toml")),
             *sorted((CONFIG_DIR / "templates").glob("*/*.toml")), CONFIG_DIR / "announcements.toml"]
    for path in files:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        texts.extend(_zh_hk_texts(data, str(path.relative_to(CONFIG_DIR))))
    return texts


def test_hong_kong_texts_use_hong_kong_words_everywhere():
    """One usage on every screen, service title and paper: the home tile, the receipt's
    service line and the take-your-documents screen all say 列印 and 回執."""
    found = [f"{where}: {text!r} has {word} (write {hk})"
             for where, text in hong_kong_texts()
             for word, hk in MAINLAND.items() if word in text]
    assert not found, "\n".join(found)


def test_the_screen_and_the_receipt_name_the_printed_slip_alike():
    texts = load_texts("zh_HK")
    heading = tomllib.loads((CONFIG_DIR / "templates" / "receipts" / "service_receipt.toml")
                            .read_text(encoding="utf-8"))["labels"]["heading"]["zh_HK"]
    assert heading.endswith("回執")
    for key in ("result.print", "take.title", "take.hint", "take.receipt_still_there",
                "attract.receipt_left"):
        assert "回執" in texts[key], key


def test_every_senior_word_in_traditional_finds_a_service():
    """The big word buttons a senior taps instead of pinyin; a word that finds nothing is
    hidden, so 列印 and 違章 vanished from the zh_HK screen while 简体 showed them."""
    for lang, words in COMMON_WORDS.items():
        for word in words:
            found = CATALOG.search(word, lang, limit=3)
            assert found, f"{lang} {word} finds nothing"
            if lang == "zh_HK" and word == "列印":
                assert all("列印" in s.names["zh_HK"] for s in found)


def test_english_totals_read_naturally():
    """The summary line says "Total <column>": a column titled "Total" read "Total Total"."""
    totalled = [s for s in CATALOG.services
                if s.result.kind == "table" and any(c.total for c in s.result.columns)]
    assert totalled
    for service in totalled:
        row = {c.key: (1.0 if c.format in ("money", "number") else "x") for c in service.result.columns}
        result = ServiceResult(service, "table", "GZ20261201000777", [row], 1, {}, None, None,
                               dt.datetime(2026, 12, 1, 9, 30))
        labels = [label for label, _ in result.totals("en")]
        assert labels, service.id
        for label in labels:
            words = label.lower().split()
            assert len(words) == len(set(words)), f"{service.id}: {label!r}"


def test_english_step_names_fit_one_line_of_the_step_bar():
    """Four steps share one line at 1080 px in senior mode: "4 View / print" broke in two."""
    texts = load_texts("en")
    for key in ("step_choose", "step_identify", "step_fill", "step_view", "step_print"):
        assert len(texts[f"chrome.{key}"]) <= 8, key

