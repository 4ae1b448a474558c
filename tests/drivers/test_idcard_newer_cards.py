"""The 2023 foreigner's permanent-residence card and the fingerprint command, against the
reader simulator over a real pty."""

from __future__ import annotations

import logging

import pytest

from drivers.idcard import CardTimeout, FingerprintUnavailable, IdCardReader, InvalidIdNumber
from drivers.idcard_text import parse_card_text
from simulators.idcard import card_text, load_card

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")


def test_a_2023_foreigners_card_reads_with_its_18_digit_number_and_renewal_count(idcard_sim):
    idcard_sim.place("foreign_permanent_2023")
    identity = IdCardReader(idcard_sim.uri).read_once(timeout=5)
    assert identity.card_type == "foreign_permanent"
    assert identity.card_edition == "2023"
    assert identity.id_number == "944124198807150023"
    assert (identity.name, identity.name_en) == ("马克莱", "MARTIN, CLAIRE ANNE")
    assert (identity.sex, identity.birth_date, identity.nationality) == ("female", "1988-07-15", "CAN")
    assert (identity.valid_from, identity.valid_until, identity.issue_count) == (
        "2024-03-01", "2034-03-01", 1)


def test_the_2017_foreigners_card_still_reads_and_says_its_edition(idcard_sim):
    idcard_sim.place("foreign_permanent")
    identity = IdCardReader(idcard_sim.uri).read_once(timeout=5)
    assert (identity.id_number, identity.card_edition) == ("CAN440088071502", "2017")


def test_a_2023_card_whose_number_does_not_begin_with_9_is_a_misread():
    card = load_card("foreign_permanent_2023")
    card["id_number"] = "440104198503120021"  # a resident's number, check digit right
    with pytest.raises(InvalidIdNumber):
        parse_card_text(card_text(card))


def test_fingerprint_data_is_handed_over_once_and_never_kept(idcard_sim, caplog):
    caplog.set_level(logging.DEBUG)
    idcard_sim.place("foreign_permanent_2023")
    reader = IdCardReader(idcard_sim.uri, with_fingerprint=True)
    fingerprint = reader.read_fingerprint(timeout=5)
    assert len(fingerprint) == 1024 and fingerprint.startswith(b"FP-SYNTHETIC")
    identity = reader.read_once(timeout=5)  # the fingerprint read path, 30 10
    assert identity.id_number == "944124198807150023"
    assert all(fingerprint[:64] not in repr(v).encode() for v in vars(identity).values())
    assert "FP-SYNTHETIC" not in caplog.text


def test_a_card_without_fingerprint_data_says_so(idcard_sim):
    idcard_sim.place("resident")
    with pytest.raises(FingerprintUnavailable) as info:
        IdCardReader(idcard_sim.uri).read_fingerprint(timeout=5)
    assert info.value.fault == "no_fingerprint"


def test_a_reader_without_the_fingerprint_command_says_so(idcard_sim):
    idcard_sim.place("foreign_permanent_2023")
    idcard_sim.fault("no_fingerprint_command")
    with pytest.raises(FingerprintUnavailable) as info:
        IdCardReader(idcard_sim.uri).read_fingerprint(timeout=5)
    assert info.value.fault == "no_fingerprint_command"


def test_no_card_for_the_fingerprint_read_is_a_timeout(idcard_sim):
    idcard_sim.place("resident")
    idcard_sim.fault("no_card")
    with pytest.raises(CardTimeout):
        IdCardReader(idcard_sim.uri, poll_interval=0.05).read_fingerprint(timeout=0.5)
