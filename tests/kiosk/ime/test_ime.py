"""Chinese text entry's core: real zinnia with Debian's model, the shipped pinyin list, real
OpenCC. Strokes are drawn here the way a finger would draw them, in stroke order."""

from __future__ import annotations

import pytest

from kiosk.ime import ImeUnavailable, PinyinDictionary, Recognizer, split_syllables, to_script
from kiosk.ime.handwriting import BadStrokes


def line(a, b, n=8):
    return [(a[0] + (b[0] - a[0]) * i / n, a[1] + (b[1] - a[1]) * i / n) for i in range(n + 1)]


# Characters on a 300 × 300 pad, strokes in the order a resident writes them.
STROKES = {
    "一": [line((40, 150), (260, 150))],
    "二": [line((80, 90), (220, 90)), line((30, 210), (270, 210))],
    "三": [line((75, 60), (225, 60)), line((90, 150), (210, 150)), line((30, 240), (270, 240))],
    "十": [line((30, 135), (270, 135)), line((150, 30), (150, 270))],
    "口": [line((60, 60), (60, 260)), line((60, 60), (260, 60)) + line((260, 60), (260, 260))[1:],
          line((60, 260), (260, 260))],
    "人": [[(200, 30), (198, 80), (190, 130), (170, 180), (140, 220), (100, 255), (60, 280)],
          [(195, 130), (220, 170), (260, 210), (300, 245), (340, 270)]],
    "上": [line((150, 40), (150, 260)), line((150, 150), (250, 150)), line((40, 260), (260, 260))],
}


@pytest.fixture(scope="module")
def recognizer():
    with Recognizer() as rec:
        yield rec


@pytest.mark.parametrize("char", list(STROKES))
def test_handwritten_character_is_among_the_first_candidates(recognizer, char):
    assert char in recognizer.candidates(STROKES[char], (300, 300), limit=10)[:3]


def test_pad_size_does_not_change_what_is_read(recognizer):
    """The same 十 drawn on a pad twice as big (senior mode) reads the same."""
    big = [[(x * 2, y * 2) for x, y in s] for s in STROKES["十"]]
    assert recognizer.candidates(big, (600, 600))[0] == "十"


def test_no_strokes_no_candidates_and_bad_pad_is_a_typed_error(recognizer):
    assert recognizer.candidates([], (300, 300)) == []
    assert recognizer.candidates([[]], (300, 300)) == []
    with pytest.raises(BadStrokes):
        recognizer.candidates(STROKES["一"], (0, 300))


def test_missing_model_is_a_typed_error_naming_the_part(tmp_path):
    with pytest.raises(ImeUnavailable) as info:
        Recognizer(tmp_path / "none.model")
    assert info.value.part == "handwriting model"


@pytest.fixture(scope="module")
def words():
    return PinyinDictionary(extra_words=["公积金", "社保"])


@pytest.mark.parametrize(("typed", "first"), [
    ("shi", "是"), ("ren", "人"), ("shebao", "社保"), ("zhongguo", "中国"),
    ("gongjijin", "公积金"), ("gjj", "公积金"), ("xian", "先"), ("nv", "女"),
])
def test_pinyin_offers_the_common_word_first(words, typed, first):
    assert words.candidates(typed)[0] == first


def test_pinyin_candidates_complete_a_syllable_being_typed(words):
    found = words.candidates("liuy")
    assert "留言" in found
    assert words.candidates("") == [] and words.candidates("123") == []
    assert len(words.candidates("a", limit=5)) == 5
    assert len(set(words.candidates("shi", limit=50))) == 50  # no duplicates


def test_syllables_split_as_a_resident_means_them():
    assert split_syllables("shebao") == ["she", "bao"]
    assert split_syllables("fangan") == ["fan", "gan"]
    assert split_syllables("zhongguo") == ["zhong", "guo"]
    assert split_syllables("sheb") == ["she", "b"]


def test_zh_hk_candidates_are_traditional_as_written_in_hong_kong():
    assert to_script("社会保险 发展 头发", "zh_HK") == "社會保險 發展 頭髮"
    assert to_script("社会保险", "zh_CN") == "社会保险"
    assert to_script("", "zh_HK") == ""
