"""Typed errors of the social-security card reader.

Every error keeps the native cause in ``native`` so a technician sees it: the card's status
word as four hex digits (``"6A82"``) or the PC/SC result as ``"0x80100069"``. ``fault`` is the
machine-readable word screens and the heartbeat switch on.
"""

from __future__ import annotations

from smartcard import scard
from smartcard.Exceptions import SmartcardException
from smartcard.pcsc.PCSCExceptions import BaseSCardException

from drivers.base import DeviceError


class SocialSecurityCardError(DeviceError):
    """Anything that went wrong between the reader, the card and us."""

    fault = "card_error"

    @property
    def sw(self) -> int | None:
        """The status word as an int when the card answered with one, else None."""
        if isinstance(self.native, str) and len(self.native) == 4:
            try:
                return int(self.native, 16)
            except ValueError:
                return None
        return None


class CardStatusError(SocialSecurityCardError):
    """The card refused a command with a status word other than 9000."""

    fault = "card_refused"


class FileNotFound(CardStatusError):
    """6A82: the card lacks the social-security application or one of its files."""

    fault = "not_social_security_card"


class RecordNotFound(CardStatusError):
    """6A83: a data item we need is not on this card."""

    fault = "record_missing"


class SecurityStatusNotSatisfied(CardStatusError):
    """6982: the card wants the PIN before it shows this file."""

    fault = "pin_required"


class WrongPin(CardStatusError):
    """63Cx: the PIN was wrong; ``remaining`` tries are left before the card blocks."""

    fault = "wrong_pin"

    def __init__(self, remaining: int, *, native: object = None):
        super().__init__(f"wrong PIN, {remaining} tries left", native=native)
        self.remaining = remaining


class PinBlocked(CardStatusError):
    """6983 (or 63C0): the PIN is blocked; only the issuing bureau can unblock it."""

    fault = "pin_blocked"


class InstructionNotSupported(CardStatusError):
    """6D00: the card does not know this command (not a social-security card?)."""

    fault = "not_social_security_card"


class ClassNotSupported(CardStatusError):
    """6E00: the card rejects our command class (not a social-security card?)."""

    fault = "not_social_security_card"


class MalformedRecord(SocialSecurityCardError):
    """A record did not hold what the specification says (tag, length, encoding, check digit)."""

    fault = "bad_record"


class PinFormatError(SocialSecurityCardError, ValueError):
    """The PIN typed is not 4–12 digits; nothing was sent to the card."""

    fault = "bad_pin_format"


class CardRemoved(SocialSecurityCardError):
    """The card left the reader (or lost contact) before the read finished."""

    fault = "card_removed"


class NoCard(SocialSecurityCardError):
    """A command needs a card and none is in the reader."""

    fault = "no_card"


class CardTimeout(SocialSecurityCardError):
    """No card came before the timeout."""

    fault = "timeout"


class ReaderNotFound(SocialSecurityCardError):
    """The configured PC/SC reader is not connected (or pcscd does not list it)."""

    fault = "no_reader"


class PcscError(SocialSecurityCardError):
    """pcscd or the reader failed (service down, reader unavailable, protocol mismatch)."""

    fault = "pcsc_error"


_STATUS_ERRORS: dict[int, tuple[type[CardStatusError], str]] = {
    0x6A82: (FileNotFound, "file or application not found"),
    0x6A83: (RecordNotFound, "record not found"),
    0x6982: (SecurityStatusNotSatisfied, "security status not satisfied (PIN needed)"),
    0x6983: (PinBlocked, "PIN blocked"),
    0x6D00: (InstructionNotSupported, "instruction not supported"),
    0x6E00: (ClassNotSupported, "class not supported"),
}

# pyscard raises two unrelated families (context/listing vs connection/transmit)
PCSC_EXCEPTIONS = (SmartcardException, BaseSCardException)


def _u32(code: int) -> int:
    return code & 0xFFFFFFFF  # pyscard reports hresults signed in some places, unsigned in others


_REMOVED_RESULTS = {_u32(c) for c in (scard.SCARD_W_REMOVED_CARD, scard.SCARD_E_NO_SMARTCARD,
                                      scard.SCARD_E_NOT_TRANSACTED)}
_NO_SERVICE = {_u32(scard.SCARD_E_NO_SERVICE), _u32(scard.SCARD_E_SERVICE_STOPPED)}
_NO_READER = {_u32(scard.SCARD_E_READER_UNAVAILABLE), _u32(scard.SCARD_E_UNKNOWN_READER)}


def sw_text(sw1: int, sw2: int) -> str:
    return f"{sw1:02X}{sw2:02X}"


def status_error(sw1: int, sw2: int, command: str) -> CardStatusError:
    """The typed error for a refused command; ``command`` names what we were doing."""
    sw = (sw1 << 8) | sw2
    native = sw_text(sw1, sw2)
    if sw1 == 0x63 and sw2 & 0xF0 == 0xC0:
        remaining = sw2 & 0x0F
        if remaining == 0:
            return PinBlocked(f"{command}: wrong PIN, no tries left, PIN blocked", native=native)
        return WrongPin(remaining, native=native)
    cls, text = _STATUS_ERRORS.get(sw, (CardStatusError, "card refused the command"))
    return cls(f"{command}: {text}", native=native)


def pcsc_error(exc: Exception, doing: str) -> SocialSecurityCardError:
    """Map a pyscard exception to ours, keeping the PC/SC result code."""
    raw = getattr(exc, "hresult", -1)
    hresult = _u32(raw) if isinstance(raw, int) and raw != -1 else None
    code = f"0x{hresult:08X}" if hresult is not None else None
    if hresult == 0:  # pcscd said "success" with no response APDU: vpcd lost the card
        return CardRemoved(f"{doing}: card gave no answer (pulled out mid-read?)",
                           native="no response APDU")
    if hresult in _REMOVED_RESULTS or type(exc).__name__ == "NoCardException":
        return CardRemoved(f"{doing}: card removed or lost contact", native=code)
    if hresult in _NO_SERVICE:
        return PcscError(f"{doing}: pcscd is not running", fault="no_service", native=code)
    if hresult in _NO_READER:
        return ReaderNotFound(f"{doing}: reader unavailable", native=code)
    return PcscError(f"{doing}: {exc}", native=code)
