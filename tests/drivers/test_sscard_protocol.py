"""Social-security card protocol, byte-exact, without pcscd: our driver's CardSession
talks straight to the emulator's card applet (the other side's real code, in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.sscard_errors import (
    CardStatusError,
    ClassNotSupported,
    FileNotFound,
    InstructionNotSupported,
    MalformedRecord,
    PinBlocked,
    PinFormatError,
    RecordNotFound,
    SecurityStatusNotSatisfied,
    WrongPin,
    status_error,
)
from drivers.sscard_protocol import (
    CardSession,
    bcd_date,
    decode_identity,
    read_record,
    select_by_name,
    select_ef,
    verify_pin,
)
from simulators.sscard import CardApplet, CardData

CARDS = Path(__file__).resolve().parents[2] / "simulators" / "cards"


class Wire:
    """Transmit over the emulator's applet, keeping the transcript in hex."""

    def __init__(self, card: str, **overrides) -> None:
        data = CardData.from_json(CARDS / f"{card}.json")
        for key, value in overrides.items():
            setattr(data, key, value)
        self.applet = CardApplet(data)
        self.log: list[tuple[str, str]] = []

    def __call__(self, apdu: list[int]) -> tuple[list[int], int, int]:
        reply = self.applet.process(bytes(apdu))
        self.log.append((bytes(apdu).hex().upper(), reply.hex().upper()))
        return list(reply[:-2]), reply[-2], reply[-1]


def test_apdus_are_byte_exact() -> None:
    # "sx1.sh.社会保障" in GBK is 15 bytes
    assert select_by_name() == bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")
    assert select_ef(0xEF05) == bytes.fromhex("00A4020002EF05")
    assert select_ef(0xEF06) == bytes.fromhex("00A4020002EF06")
    assert read_record(0x09) == bytes.fromhex("00B2090400")
    assert verify_pin("123456") == bytes.fromhex("0020000003123456")
    assert verify_pin("12345") == bytes.fromhex("002000000312345F")


@pytest.mark.parametrize("pin", ["", "123", "12a456", "1234567890123", "１２３４５６"])
def test_malformed_pin_is_refused_before_the_card_sees_it(pin: str) -> None:
    with pytest.raises(PinFormatError):
        verify_pin(pin)


@pytest.mark.parametrize(("sw", "cls", "fault"), [
    (0x6A82, FileNotFound, "not_social_security_card"),
    (0x6A83, RecordNotFound, "record_missing"),
    (0x6982, SecurityStatusNotSatisfied, "pin_required"),
    (0x6983, PinBlocked, "pin_blocked"),
    (0x6D00, InstructionNotSupported, "not_social_security_card"),
    (0x6E00, ClassNotSupported, "not_social_security_card"),
    (0x63C0, PinBlocked, "pin_blocked"),
    (0x6581, CardStatusError, "card_refused"),
])
def test_status_words_map_to_typed_errors_keeping_sw(sw: int, cls: type, fault: str) -> None:
    err = status_error(sw >> 8, sw & 0xFF, "read EF06")
    assert type(err) is cls
    assert err.native == f"{sw:04X}" and err.sw == sw
    assert err.fault == fault
    assert f"{sw:04X}" in str(err)


def test_wrong_pin_tells_remaining_tries() -> None:
    err = status_error(0x63, 0xC2, "verify PIN")
    assert isinstance(err, WrongPin) and err.remaining == 2 and err.native == "63C2"


def test_reads_identity_with_exact_apdu_sequence() -> None:
    wire = Wire("ss_basic")
    identity = CardSession(wire).read_identity()
    assert [cmd for cmd, _ in wire.log] == [
        "00A404000F7378312E73682EC9E7BBE1B1A3D5CF",
        "00A4020002EF05", "00B2050400", "00B2060400", "00B2070400",
        "00A4020002EF06", "00B2080400", "00B2090400", "00B20A0400", "00B20B0400", "00B20D0400",
    ]
    assert wire.log[2][1] == "0504201903019000"  # issue date record: tag 05, len 4, BCD
    assert identity.to_json() | {"photo_wlt": None} == {
        "card_type": "social_security", "source": "ss_card", "name": "欧阳秀兰",
        "id_number": "440104194805170244", "sex": "female", "nation": "汉",
        "birth_date": "1948-05-17", "card_number": "G03145926",
        "valid_from": "2019-03-01", "valid_until": "2029-03-01",
        "name_en": None, "nationality": None, "address": None, "authority": None,
        "pass_number": None, "issue_count": None, "photo_wlt": None, "card_edition": None,
    }


def test_61xx_answers_are_fetched_with_get_response() -> None:
    wire = Wire("ss_t0")
    identity = CardSession(wire).read_identity()
    assert wire.log[0][1] == "6113"  # FCI waiting: 19 bytes
    assert wire.log[1] == ("00C0000013", "6F11840F7378312E73682EC9E7BBE1B1A3D5CF9000")
    name_read = wire.log.index(("00B2090400", "6120"))
    assert wire.log[name_read + 1][0] == "00C0000020"
    assert identity.name == "马志强" and identity.nation == "回" and identity.sex == "male"


def test_6cxx_wrong_length_is_resent_with_the_cards_le() -> None:
    wire = Wire("ss_basic")
    session = CardSession(wire)
    session.select_application()
    session.command(select_ef(0xEF05), "select EF05")
    record = session.command(read_record(0x07, le=3), "read card number")
    assert wire.log[-2:] == [("00B2070403", "6C0B"),
                             ("00B207040B", "0709473033313435393236" + "9000")]
    assert record == b"\x07\x09G03145926"


def test_wrong_pin_counts_down_then_blocks() -> None:
    session = CardSession(Wire("ss_basic"))
    seen = []
    for _ in range(3):
        with pytest.raises((WrongPin, PinBlocked)) as info:
            session.verify_pin("000000")
        seen.append((type(info.value).__name__, info.value.native))
    with pytest.raises(PinBlocked) as info:
        session.verify_pin("123456")  # right PIN, too late
    assert seen == [("WrongPin", "63C2"), ("WrongPin", "63C1"), ("PinBlocked", "63C0")]
    assert info.value.native == "6983"


def test_right_pin_restores_tries_and_opens_a_pin_protected_card() -> None:
    session = CardSession(Wire("ss_pin"))
    with pytest.raises(SecurityStatusNotSatisfied) as info:
        session.read_identity()
    assert info.value.native == "6982"
    with pytest.raises(WrongPin):
        session.verify_pin("999999")
    session.verify_pin("123456")
    assert session.read_identity().name == "韦丽芳"


def test_other_card_is_not_a_social_security_card() -> None:
    with pytest.raises(FileNotFound) as info:
        CardSession(Wire("ss_bank_card")).read_identity()
    assert info.value.native == "6A82"


def test_unknown_class_and_instruction() -> None:
    session = CardSession(Wire("ss_basic"))
    with pytest.raises(ClassNotSupported):
        session.command(bytes.fromhex("80CA9F7F00"), "get data")
    with pytest.raises(InstructionNotSupported):
        session.command(bytes.fromhex("00CA9F7F00"), "get data")


def _records() -> tuple[dict, dict]:
    return {0x07: b"G03145926"}, {
        0x08: b"440104194805170244", 0x09: "欧阳秀兰".encode("gbk").ljust(30, b"\0"),
        0x0A: b"2", 0x0B: b"01", 0x0D: bytes.fromhex("19480517")}


@pytest.mark.parametrize("ef06", [
    {0x08: b"440104194805170245"},  # check digit wrong
    {0x0A: b"3"},
    {0x0D: bytes.fromhex("19481317")},  # month 13
    {0x0D: bytes.fromhex("1948051F")},
    {0x09: b"\xff\xff\xff"},  # not GBK
    {0x09: b"\0" * 30},
])
def test_misread_fields_are_typed_errors(ef06: dict) -> None:
    with pytest.raises(MalformedRecord):
        decode_identity(*_records_with(ef06))


def _records_with(ef06: dict) -> tuple[dict, dict]:
    ef05, base = _records()
    return ef05, {**base, **ef06}


def test_name_padding_with_spaces_and_missing_optional_nation() -> None:
    ef05, ef06 = _records_with({0x09: "黎明远".encode("gbk") + b" " * 24})
    del ef06[0x0B]
    identity = decode_identity(ef05, ef06)
    assert identity.name == "黎明远" and identity.nation is None
    assert bcd_date(bytes.fromhex("20300715"), "expiry") == "2030-07-15"
