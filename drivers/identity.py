"""The identity a card reader produces, and the GB 11643 ID-number check.

Lives in ``drivers`` because every identity reader produces it; ``kiosk`` uses it as is.
An :class:`Identity` never prints its personal fields: ``repr`` shows a masked number only.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_number_check_digit(first17: str) -> str:
    """GB 11643-1999 check character for the first 17 digits of an ID / permit number."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def id_number_valid(number: str) -> bool:
    """True for an 18-character number whose check character matches (``X`` in any case)."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    return id_number_check_digit(number[:17]) == number[17].upper()


def mask_id_number(number: str | None) -> str:
    """Keep the first 6 and last 4 characters: the form printed on receipts and logs."""
    if not number:
        return ""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_name(name: str | None) -> str:
    """Keep the first character of a name (张**), the common Chinese masking."""
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1)


CARD_TYPES = ("resident", "hmt_residence", "foreign_permanent", "social_security")


@dataclass(frozen=True, repr=False)
class Identity:
    """A resident as read from a card. ``source`` says which reader produced it."""

    card_type: str  # one of CARD_TYPES
    name: str
    id_number: str
    sex: str | None = None  # "male" | "female"
    birth_date: str | None = None  # YYYY-MM-DD
    name_en: str | None = None
    nation: str | None = None
    nationality: str | None = None
    address: str | None = None
    authority: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None  # None = 长期 (no expiry)
    pass_number: str | None = None
    issue_count: int | None = None
    card_number: str | None = None  # social-security card number
    card_edition: str | None = None  # foreigner's card: "2017" ('I') or "2023" ('Y')
    photo_wlt: bytes | None = field(default=None, compare=False)
    source: str = "id_card"  # "id_card" | "ss_card" | "typed" | "app_code" (a phone's code)

    def __repr__(self) -> str:
        return f"Identity({self.card_type}, {mask_id_number(self.id_number)})"

    __str__ = __repr__

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    def to_json(self) -> dict[str, object]:
        """The technician CLI / central-platform form: photo as base64."""
        data = asdict(self)
        data["photo_wlt"] = base64.b64encode(self.photo_wlt).decode() if self.photo_wlt else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Identity:
        # Any: the values go to the dataclass as they come; nothing here validates them
        values: dict[str, Any] = dict(data)
        photo = values.get("photo_wlt")
        values["photo_wlt"] = base64.b64decode(photo) if photo else None
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in values.items() if k in known})
