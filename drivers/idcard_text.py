"""The 256-byte card text of the three GA 467 card kinds, turned into an :class:`Identity`.

Offsets are byte offsets into the UCS-2LE text; the type flag at 248–249 tells the kinds
apart ('J' residence permit for Hong Kong/Macau/Taiwan residents, 'I' foreigner's permanent
residence card of 2017, 'Y' its 2023 edition, anything else the resident ID card). The 2023
edition carries an 18-digit GB 11643 number beginning with 9 where the resident card has its
number (so it passes the same check), the nationality after the birth date and the
renewal count (换证次数); our layout of it is read from the public descriptions and to be
checked against a real card (``/work/shared/READERS.md``). A number failing its check digit, an
unreadable date or sex code is a misread and raises instead of becoming an identity.
"""

from __future__ import annotations

import datetime as dt
import re

from drivers.idcard_errors import CardDataError, CardExpired, InvalidIdNumber
from drivers.identity import Identity, id_number_valid, mask_id_number
from drivers.nations import nation_name

TEXT_BYTES = 256
NO_EXPIRY = "长期"
SEXES = {"1": "male", "2": "female"}

# (start, end) byte ranges.
RESIDENT_FIELDS = {
    "name": (0, 30), "sex": (30, 32), "nation": (32, 36), "birth": (36, 52),
    "address": (52, 122), "id_number": (122, 158), "authority": (158, 188),
    "valid_from": (188, 204), "valid_until": (204, 220),
}
HMT_FIELDS = {**RESIDENT_FIELDS, "pass_number": (220, 238), "issue_count": (238, 242)}
FOREIGN_FIELDS = {
    "name_en": (0, 120), "sex": (120, 122), "id_number": (122, 152), "nationality": (152, 158),
    "name": (158, 188), "valid_from": (188, 204), "valid_until": (204, 220),
    "birth": (220, 236), "version": (236, 240), "authority": (240, 248),
}
FOREIGN_2023_FIELDS = {
    "name_en": (0, 120), "sex": (120, 122), "id_number": (122, 158), "name": (158, 188),
    "valid_from": (188, 204), "valid_until": (204, 220), "birth": (220, 236),
    "nationality": (236, 242), "issue_count": (242, 246),
}
TYPE_FLAG = (248, 250)
_OLD_FOREIGN_NUMBER = re.compile(r"[A-Z]{3}[0-9]{12}")
_GB11643_SHAPE = re.compile(r"[0-9]{17}[0-9Xx]")  # ASCII only: "²".isdigit() is True


def _field(text: bytes, span: tuple[int, int]) -> str:
    try:
        value = text[span[0]:span[1]].decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise CardDataError(f"card text bytes {span[0]}-{span[1] - 1} are not UCS-2",
                            native=exc.reason) from None
    return value.strip(" \x00\u3000")


def card_kind(text: bytes) -> str:
    """``resident`` | ``hmt_residence`` | ``foreign_permanent`` from the type flag."""
    flag = _field(text, TYPE_FLAG)
    return {"J": "hmt_residence", "I": "foreign_permanent", "Y": "foreign_permanent"}.get(
        flag, "resident")


def card_edition(text: bytes) -> str | None:
    """``2023`` for the new foreigner's card ('Y'), ``2017`` for the older one ('I')."""
    return {"I": "2017", "Y": "2023"}.get(_field(text, TYPE_FLAG))


def _date(raw: str, what: str) -> str:
    try:
        return dt.datetime.strptime(raw, "%Y%m%d").date().isoformat()
    except ValueError:
        raise CardDataError(f"{what} is not a YYYYMMDD date", native=len(raw)) from None


def _valid_until(raw: str) -> str | None:
    return None if raw == NO_EXPIRY else _date(raw, "valid-until date")


def _sex(raw: str) -> str:
    try:
        return SEXES[raw]
    except KeyError:
        raise CardDataError("sex code is neither 1 nor 2", native=raw[:2]) from None


def _need(value: str, what: str) -> str:
    if not value:
        raise CardDataError(f"card text has no {what}")
    return value


def _check_number(number: str, *, foreign: bool = False) -> str:
    """A resident/permit number must pass GB 11643; a foreigner's may also be the old
    15-character form (3 letters + 12 digits), which has no GB 11643 check digit."""
    if foreign and _OLD_FOREIGN_NUMBER.fullmatch(number):
        return number
    if not _GB11643_SHAPE.fullmatch(number) or not id_number_valid(number):
        raise InvalidIdNumber("ID number fails its check digit", native=mask_id_number(number))
    return number.upper()


def parse_card_text(text: bytes, photo_wlt: bytes | None = None, *,
                    today: dt.date | None = None) -> Identity:
    """Parse one card's text; raises :class:`CardDataError` / :class:`InvalidIdNumber` on a
    misread and :class:`CardExpired` (carrying the identity) for an out-of-date card."""
    if len(text) != TEXT_BYTES:
        raise CardDataError(f"card text is {len(text)} bytes, expected {TEXT_BYTES}",
                            native=len(text))
    kind = card_kind(text)
    if kind == "foreign_permanent" and card_edition(text) == "2023":
        identity = _parse_foreign_2023(text, photo_wlt)
    elif kind == "foreign_permanent":
        identity = _parse_foreign(text, photo_wlt)
    else:
        identity = _parse_resident(text, photo_wlt, kind)
    check_not_expired(identity, today=today)
    return identity


def check_not_expired(identity: Identity, *, today: dt.date | None = None) -> None:
    """Raise :class:`CardExpired` when the card's last valid day is before ``today``."""
    if identity.valid_until is None:
        return
    today = today or dt.date.today()
    if dt.date.fromisoformat(identity.valid_until) < today:
        raise CardExpired(identity.valid_until, identity)


def _parse_resident(text: bytes, photo_wlt: bytes | None, kind: str) -> Identity:
    f = {key: _field(text, span) for key, span in
         (HMT_FIELDS if kind == "hmt_residence" else RESIDENT_FIELDS).items()}
    pass_number = issue_count = None
    if kind == "hmt_residence":
        pass_number = f["pass_number"] or None
        if f["issue_count"]:
            if not re.fullmatch(r"[0-9]+", f["issue_count"]):
                raise CardDataError("issue count is not a number")
            issue_count = int(f["issue_count"])
    return Identity(
        card_type=kind,
        name=_need(f["name"], "name"),
        id_number=_check_number(_need(f["id_number"], "ID number")),
        sex=_sex(f["sex"]),
        birth_date=_date(f["birth"], "birth date"),
        nation=nation_name(f["nation"]),
        address=f["address"] or None,
        authority=f["authority"] or None,
        valid_from=_date(f["valid_from"], "valid-from date"),
        valid_until=_valid_until(f["valid_until"]),
        pass_number=pass_number,
        issue_count=issue_count,
        photo_wlt=photo_wlt,
        source="id_card",
    )


def _parse_foreign(text: bytes, photo_wlt: bytes | None) -> Identity:
    f = {key: _field(text, span) for key, span in FOREIGN_FIELDS.items()}
    name_en = f["name_en"] or None
    return Identity(
        card_type="foreign_permanent",
        name=_need(f["name"] or f["name_en"], "name"),
        name_en=name_en,
        id_number=_check_number(_need(f["id_number"], "permit number"), foreign=True),
        sex=_sex(f["sex"]),
        birth_date=_date(f["birth"], "birth date"),
        nationality=f["nationality"] or None,
        authority=f["authority"] or None,
        valid_from=_date(f["valid_from"], "valid-from date"),
        valid_until=_valid_until(f["valid_until"]),
        photo_wlt=photo_wlt,
        card_edition="2017",
        source="id_card",
    )


def _issue_count(raw: str) -> int | None:
    if not raw:
        return None
    if not re.fullmatch(r"[0-9]+", raw):
        raise CardDataError("issue count is not a number")
    return int(raw)


def _parse_foreign_2023(text: bytes, photo_wlt: bytes | None) -> Identity:
    f = {key: _field(text, span) for key, span in FOREIGN_2023_FIELDS.items()}
    number = _check_number(_need(f["id_number"], "permit number"))
    if not number.startswith("9"):  # a 'Y' card with a resident's number is a misread
        raise InvalidIdNumber("2023 permit number does not begin with 9",
                              native=mask_id_number(number))
    return Identity(
        card_type="foreign_permanent",
        name=_need(f["name"] or f["name_en"], "name"),
        name_en=f["name_en"] or None,
        id_number=number,
        sex=_sex(f["sex"]),
        birth_date=_date(f["birth"], "birth date"),
        nationality=f["nationality"] or None,
        valid_from=_date(f["valid_from"], "valid-from date"),
        valid_until=_valid_until(f["valid_until"]),
        issue_count=_issue_count(f["issue_count"]),
        card_edition="2023",
        photo_wlt=photo_wlt,
        source="id_card",
    )
