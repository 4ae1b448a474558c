"""The social-security card's command set (社会保障卡 application "sx1.sh.社会保障").

Pure protocol, over a ``transmit(apdu) -> (data, sw1, sw2)`` seam so the reader class owns
PC/SC and this module owns bytes. What we read (one data item per record; READ RECORD's P1 is
the item's tag, P2 = 04; a record is ``tag len value``):

======  ====  =========================  ===========================================
file    tag   item                       encoding
======  ====  =========================  ===========================================
EF05    05    issue date                 BCD YYYYMMDD (4 bytes)        → valid_from
EF05    06    expiry date                BCD YYYYMMDD (4 bytes)        → valid_until
EF05    07    card number (卡号)          ASCII, 9 characters           → card_number
EF06    08    social-security number     ASCII, 18 characters = ID number (GB 11643)
EF06    09    name                       GBK, padded with 00 or 20     → name
EF06    0A    sex                        ASCII '1' male, '2' female     → sex
EF06    0B    nation                     ASCII 2-digit GB 3304 code    → nation (汉 …)
EF06    0D    birth date                 BCD YYYYMMDD (4 bytes)        → birth_date ISO
======  ====  =========================  ===========================================

EF05 01 (card identification code), 02 (card type) and 03 (version) are not read: nothing
downstream uses them, and every APDU costs time while the resident waits. 05/06 are optional
(a card without them still identifies its holder); the others are required.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from drivers.identity import Identity, id_number_valid, mask_id_number
from drivers.nations import nation_name
from drivers.sscard_errors import (
    CardStatusError,
    MalformedRecord,
    PinFormatError,
    RecordNotFound,
    status_error,
)

log = logging.getLogger(__name__)

Transmit = Callable[[list[int]], tuple[list[int], int, int]]

AID = "sx1.sh.社会保障".encode("gbk")
EF05, EF06 = 0xEF05, 0xEF06
EF05_ITEMS = {0x05: False, 0x06: False, 0x07: True}  # tag -> required
EF06_ITEMS = {0x08: True, 0x09: True, 0x0A: True, 0x0B: False, 0x0D: True}
MAX_GET_RESPONSE = 16  # a card chaining more 61xx than this is broken, not slow



# -- APDUs (byte-exact; tests compare them) ------------------------------------------------
def select_by_name(aid: bytes = AID) -> bytes:
    return bytes([0x00, 0xA4, 0x04, 0x00, len(aid)]) + aid


def select_ef(fid: int) -> bytes:
    return bytes([0x00, 0xA4, 0x02, 0x00, 0x02]) + fid.to_bytes(2, "big")


def read_record(tag: int, le: int = 0) -> bytes:
    return bytes([0x00, 0xB2, tag, 0x04, le])


def get_response(le: int) -> bytes:
    return bytes([0x00, 0xC0, 0x00, 0x00, le])


def pin_bcd(pin: str) -> bytes:
    """PIN digits packed two per byte, an odd count padded with F (123456 → 12 34 56)."""
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 12):
        raise PinFormatError("PIN must be 4 to 12 digits")
    return bytes.fromhex(pin + ("F" if len(pin) % 2 else ""))


def verify_pin(pin: str) -> bytes:
    body = pin_bcd(pin)
    return bytes([0x00, 0x20, 0x00, 0x00, len(body)]) + body


# -- field decoding ------------------------------------------------------------------------
def parse_record(record: bytes, tag: int) -> bytes:
    """The value of a ``tag len value`` record; MalformedRecord when it does not add up."""
    if len(record) < 2 or record[0] != tag or record[1] > len(record) - 2:
        raise MalformedRecord(f"record {tag:02X} malformed", native=record[:4].hex().upper())
    return bytes(record[2:2 + record[1]])


def bcd_date(value: bytes, what: str) -> str:
    digits = value.hex()
    if len(value) != 4 or not digits.isdigit():
        raise MalformedRecord(f"{what} is not a BCD date", native=digits.upper())
    iso = f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
    if not ("01" <= digits[4:6] <= "12" and "01" <= digits[6:] <= "31"):
        raise MalformedRecord(f"{what} is not a date", native=digits.upper())
    return iso


def _ascii(value: bytes, what: str) -> str:
    try:
        return value.rstrip(b"\x00 ").decode("ascii")
    except UnicodeDecodeError:
        raise MalformedRecord(f"{what} is not ASCII", native=value[:4].hex().upper()) from None


def decode_identity(ef05: dict[int, bytes], ef06: dict[int, bytes]) -> Identity:
    """Turn the records' values into an :class:`Identity` (validated: a misread never
    reaches the central platform as somebody else)."""
    id_number = _ascii(ef06[0x08], "social-security number").upper()
    if not id_number_valid(id_number):
        raise MalformedRecord("social-security number fails the GB 11643 check",
                              native=mask_id_number(id_number))
    try:
        name = ef06[0x09].rstrip(b"\x00 ").decode("gbk").strip()
    except UnicodeDecodeError:
        raise MalformedRecord("name is not GBK", native=len(ef06[0x09])) from None
    if not name:
        raise MalformedRecord("name is empty")
    sex = {"1": "male", "2": "female"}.get(_ascii(ef06[0x0A], "sex"))
    if sex is None:
        raise MalformedRecord("sex is neither 1 nor 2", native=ef06[0x0A].hex().upper())
    nation = None
    if 0x0B in ef06:
        code = _ascii(ef06[0x0B], "nation")
        nation = nation_name(code) if code.isdigit() else None
        if nation is None:
            log.warning("unknown nation code %r on card", code)
            nation = code
    card_number = _ascii(ef05[0x07], "card number")
    return Identity(
        card_type="social_security", source="ss_card", name=name, id_number=id_number,
        sex=sex, nation=nation, birth_date=bcd_date(ef06[0x0D], "birth date"),
        card_number=card_number,
        valid_from=bcd_date(ef05[0x05], "issue date") if 0x05 in ef05 else None,
        valid_until=bcd_date(ef05[0x06], "expiry date") if 0x06 in ef05 else None)


# -- the card session ----------------------------------------------------------------------
class CardSession:
    """One conversation with an inserted card: select, read, verify.

    Handles the T=0 habits of real cards: ``61xx`` (data waiting → GET RESPONSE ``xx``) and
    ``6Cxx`` (wrong Le → resend with ``xx``). Any other status than 9000 raises the typed error.
    """

    def __init__(self, transmit: Transmit) -> None:
        self._transmit = transmit
        self.apdus = 0  # commands sent, for the bench and technicians

    def command(self, apdu: bytes, what: str) -> bytes:
        data, sw1, sw2 = self._send(apdu)
        if sw1 == 0x6C:  # wrong Le: the card tells the right one
            data, sw1, sw2 = self._send(apdu[:4] + bytes([sw2]))
        out = bytes(data)
        for _ in range(MAX_GET_RESPONSE):
            if sw1 != 0x61:
                break
            data, sw1, sw2 = self._send(get_response(sw2))
            out += bytes(data)
        if (sw1, sw2) != (0x90, 0x00):
            raise status_error(sw1, sw2, what)
        return out

    def _send(self, apdu: bytes) -> tuple[list[int], int, int]:
        self.apdus += 1
        return self._transmit(list(apdu))

    def select_application(self) -> None:
        self.command(select_by_name(), "select social-security application")

    def read_file(self, fid: int, items: dict[int, bool]) -> dict[int, bytes]:
        self.command(select_ef(fid), f"select EF{fid & 0xFF:02X}")
        values: dict[int, bytes] = {}
        for tag, required in items.items():
            what = f"read EF{fid & 0xFF:02X} record {tag:02X}"
            try:
                values[tag] = parse_record(self.command(read_record(tag), what), tag)
            except RecordNotFound:
                if required:
                    raise
                log.info("%s: optional item absent", what)
        return values

    def verify_pin(self, pin: str) -> None:
        """Raises WrongPin(remaining) / PinBlocked; the PIN itself is never logged."""
        apdu = verify_pin(pin)
        self.select_application()
        self.command(apdu, "verify PIN")

    def read_identity(self) -> Identity:
        self.select_application()
        ef05 = self.read_file(EF05, EF05_ITEMS)
        ef06 = self.read_file(EF06, EF06_ITEMS)
        return decode_identity(ef05, ef06)


__all__ = ["CardSession", "CardStatusError", "decode_identity", "select_by_name", "select_ef",
           "read_record", "get_response", "verify_pin", "pin_bcd", "parse_record", "AID"]
