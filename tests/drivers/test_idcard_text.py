"""Card text of the three card kinds → Identity; misreads and expired cards never pass."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.idcard_errors import CardDataError, CardExpired, IdCardError, InvalidIdNumber
from drivers.idcard_text import card_kind, parse_card_text
from drivers.identity import id_number_valid
from drivers.nations import NATIONS, nation_name

TODAY = dt.date(2026, 11, 24)


def text(fields: dict[tuple[int, int], str]) -> bytes:
    """256 bytes of UCS-2LE, space padded, each value at its byte range."""
    raw = bytearray(" ".encode("utf-16-le") * 128)
    for (start, end), value in fields.items():
        encoded = value.encode("utf-16-le")
        assert len(encoded) <= end - start
        raw[start:start + len(encoded)] = encoded
    return bytes(raw)


RESIDENT = {
    (0, 30): "林晓梅", (30, 32): "2", (32, 36): "01", (36, 52): "19850312",
    (52, 122): "广东省广州市越秀区东风中路123号", (122, 158): "440104198503120020",
    (158, 188): "广州市公安局越秀分局", (188, 204): "20160520", (204, 220): "20360520",
}


def test_resident_card():
    photo = b"WLT" * 341 + b"X"
    identity = parse_card_text(text(RESIDENT), photo, today=TODAY)
    assert identity.card_type == "resident"
    assert identity.name == "林晓梅"
    assert identity.sex == "female"
    assert identity.nation == "汉"
    assert identity.birth_date == "1985-03-12"
    assert identity.address == "广东省广州市越秀区东风中路123号"
    assert identity.id_number == "440104198503120020"
    assert identity.authority == "广州市公安局越秀分局"
    assert (identity.valid_from, identity.valid_until) == ("2016-05-20", "2036-05-20")
    assert identity.photo_wlt == photo
    assert identity.source == "id_card"
    assert identity.pass_number is None and identity.name_en is None


def test_long_term_card_has_no_expiry():
    identity = parse_card_text(text({**RESIDENT, (204, 220): "长期"}), today=TODAY)
    assert identity.valid_until is None


def test_hmt_residence_permit():
    identity = parse_card_text(text({
        **RESIDENT, (0, 30): "张家明", (30, 32): "1", (32, 36): "",
        (122, 158): "810000199001010078", (220, 238): "H60123456", (238, 242): "01",
        (248, 250): "J"}), today=TODAY)
    assert identity.card_type == "hmt_residence"
    assert identity.sex == "male"
    assert identity.nation is None
    assert identity.pass_number == "H60123456"
    assert identity.issue_count == 1


def test_foreign_permanent_residence_card():
    identity = parse_card_text(text({
        (0, 120): "MARTIN CLAIRE ANNE", (120, 122): "2", (122, 152): "CAN440088071502",
        (152, 158): "CAN", (158, 188): "马克莱", (188, 204): "20231201",
        (204, 220): "20331201", (220, 236): "19880715", (236, 240): "02",
        (240, 248): "1500", (248, 250): "I"}), today=TODAY)
    assert identity.card_type == "foreign_permanent"
    assert identity.name == "马克莱"
    assert identity.name_en == "MARTIN CLAIRE ANNE"
    assert identity.sex == "female"
    assert identity.nationality == "CAN"
    assert identity.nation is None and identity.address is None
    assert identity.birth_date == "1988-07-15"
    assert identity.authority == "1500"
    assert identity.id_number == "CAN440088071502"


def test_old_15_character_foreign_number_is_accepted():
    identity = parse_card_text(text({
        (0, 120): "DOE JANE", (120, 122): "2", (122, 152): "CAN440088070150",
        (152, 158): "CAN", (188, 204): "20151201", (204, 220): "20351201",
        (220, 236): "19880715", (248, 250): "I"}), today=TODAY)
    assert identity.id_number == "CAN440088070150"
    assert identity.name == "DOE JANE"  # no Chinese name on the card


def test_card_kind_from_flag():
    assert card_kind(text(RESIDENT)) == "resident"
    assert card_kind(text({(248, 250): "J"})) == "hmt_residence"
    assert card_kind(text({(248, 250): "I"})) == "foreign_permanent"


def test_padding_of_nuls_is_trimmed_too():
    raw = bytearray(text(RESIDENT))
    raw[6:30] = bytes(24)
    assert parse_card_text(bytes(raw), today=TODAY).name == "林晓梅"


@pytest.mark.parametrize("number", ["11010519491231002X", "11010519491231002x",
                                    "440104198503120020"])
def test_check_digit_accepts_valid_numbers(number):
    assert id_number_valid(number)


def test_lower_case_x_is_normalised():
    identity = parse_card_text(text({**RESIDENT, (122, 158): "11010519491231002x"}), today=TODAY)
    assert identity.id_number == "11010519491231002X"


@pytest.mark.parametrize("number", ["440104198503120021", "11010519491231002", "4401041985031200X0"])
def test_misread_number_never_becomes_an_identity(number):
    with pytest.raises(InvalidIdNumber) as info:
        parse_card_text(text({**RESIDENT, (122, 158): number}), today=TODAY)
    assert info.value.fault == "check_digit"
    assert number not in str(info.value)  # masked


def test_expired_card_is_its_own_outcome_with_the_date():
    with pytest.raises(CardExpired) as info:
        parse_card_text(text({**RESIDENT, (204, 220): "20241123"}), today=TODAY)
    assert info.value.valid_until == "2024-11-23"
    assert info.value.identity.id_number == "440104198503120020"
    assert "2024-11-23" in str(info.value)


def test_card_is_valid_on_its_last_day():
    identity = parse_card_text(text({**RESIDENT, (204, 220): "20261124"}), today=TODAY)
    assert identity.valid_until == "2026-11-24"


@pytest.mark.parametrize(("span", "value"), [
    ((36, 52), "19851345"), ((30, 32), "3"), ((188, 204), "2016X520"), ((0, 30), ""),
])
def test_unreadable_fields_are_card_data_errors(span, value):
    with pytest.raises(CardDataError):
        parse_card_text(text({**RESIDENT, span: value}), today=TODAY)


def test_lone_surrogate_is_a_card_data_error():
    raw = bytearray(text(RESIDENT))
    raw[0:2] = b"\x00\xd8"
    with pytest.raises(CardDataError):
        parse_card_text(bytes(raw), today=TODAY)


def test_wrong_text_length_is_a_card_data_error():
    with pytest.raises(CardDataError):
        parse_card_text(text(RESIDENT)[:200], today=TODAY)


def test_all_56_nations_and_the_two_extra_codes():
    assert len(NATIONS) == 58
    assert [nation_name(f"{i:02d}") for i in (1, 2, 4, 8, 56, 97, 98)] == [
        "汉", "蒙古", "藏", "壮", "基诺", "其他", "外国血统"]
    assert all(nation_name(f"{i:02d}") for i in range(1, 57))
    assert nation_name("") is None and nation_name("77") is None


@settings(max_examples=500, deadline=None)
@given(st.binary(min_size=256, max_size=256))
def test_random_card_text_is_an_identity_or_a_typed_error(raw):
    try:
        parse_card_text(raw, today=TODAY)
    except IdCardError:
        pass


_field_text = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=20)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(RESIDENT)), _field_text),
       st.sampled_from(["", "J", "I"]))
def test_plausible_but_wrong_fields_are_an_identity_or_a_typed_error(fields, flag):
    spans = {span: value[: (span[1] - span[0]) // 2] for span, value in fields.items()}
    try:
        parse_card_text(text({**RESIDENT, **spans, (248, 250): flag}), today=TODAY)
    except IdCardError:
        pass


def test_superscript_digits_are_not_an_id_number():
    with pytest.raises(InvalidIdNumber):
        parse_card_text(text({**RESIDENT, (122, 158): "²" * 17 + "X"}), today=TODAY)
