"""Search as a resident types: Chinese, traditional, English, pinyin, initials."""

import pytest

from kiosk.catalog.services import Catalog


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def ids(catalog, text, lang="zh_CN", limit=20):
    return [s.id for s in catalog.search(text, lang, limit)]


@pytest.mark.parametrize("typed", ["sbjf", "shebaojiaofei", "shebaojf", "个人社保缴费", "缴费明细", "社保缴费"])
def test_contribution_details_first(catalog, typed):
    assert ids(catalog, typed)[0] == "rs_jfmx"


def test_initials_of_a_longer_name(catalog):
    assert "rs_jfmx" in ids(catalog, "grsbjf")


def test_traditional_and_english(catalog):
    assert ids(catalog, "繳費明細", "zh_HK")[0] == "rs_jfmx"
    assert ids(catalog, "passport", "en")[0] in {"crj_hzyy", "crj_zjxx"}
    assert "jg_wfcx" in ids(catalog, "traffic off", "en")


def test_keystrokes_narrow_down(catalog):
    seen = [set(ids(catalog, "shebaojiaofei"[:n], limit=200)) for n in (2, 6, 13)]
    assert seen[0] >= seen[1] >= seen[2] and "rs_jfmx" in seen[2]


def test_nothing_for_nonsense_and_empty(catalog):
    assert ids(catalog, "") == []
    assert ids(catalog, "   ") == []
    assert ids(catalog, "qqqqzz") == []


def test_limit_and_hot_first_among_equals(catalog):
    assert len(ids(catalog, "进度", limit=3)) == 3
    progress = ids(catalog, "进度")
    assert progress[0] == "hall_bjjd"  # hot, and its name holds 进度


def test_mid_syllable_letters_do_not_match(catalog):
    # "ao" is inside "shebao" but starts no syllable: matching it would flood the list
    assert "rs_jfmx" not in ids(catalog, "aoj")


@pytest.mark.parametrize("typed,lang", [
    ("shebaojiaofei", "zh_CN"), ("sbkbh", "zh_CN"), ("gongjijin tiqu", "zh_CN"), ("个人社保缴费明细", "zh_CN"),
    ("social security card", "en"), ("繳費明細", "zh_HK"), ("jgwfcx", "zh_CN"), ("yl", "en"),
])
def test_typing_gives_the_same_answers_as_a_fresh_search(catalog, typed, lang):
    """Narrowing from the previous keystroke must never lose a match a fresh search finds."""
    from kiosk.catalog.search import SearchIndex

    typing = SearchIndex(catalog.services)
    fresh = SearchIndex(catalog.services)
    for n in range(1, len(typed) + 1):
        fresh.search("#", lang)  # an unrelated query: the next one starts from scratch
        assert typing.search(typed[:n], lang, 200) == fresh.search(typed[:n], lang, 200), typed[:n]
