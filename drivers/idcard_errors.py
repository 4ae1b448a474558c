"""Typed errors of the GA 467 ID-card reader.

Every failure a technician or the app must tell apart has its own class; ``fault`` is the
machine-readable name shown in :class:`drivers.base.DeviceStatus`, ``native`` keeps the
reader's own code (SW1SW2SW3, errno, the checksum bytes). Messages never hold personal data.
"""

from __future__ import annotations

from drivers.base import DeviceError


class IdCardError(DeviceError):
    """Anything that kept a placed card from becoming an identity, or the reader from working."""

    fault = "error"


class PortError(IdCardError):
    """The serial port is missing, vanished or refused to open (native: errno)."""

    fault = "port"


class FrameError(IdCardError):
    """A response frame could not be taken from the wire."""

    fault = "protocol"


class ChecksumError(FrameError):
    """The response's XOR checksum does not match (native: expected/received byte)."""

    fault = "checksum"


class TruncatedFrame(FrameError):
    """A response began but stopped before its LEN was reached."""

    fault = "truncated"


class BadLength(FrameError):
    """A preamble was followed by an impossible LEN (garbage that looked like a frame)."""

    fault = "protocol"


class NoResponse(FrameError):
    """The reader did not answer within the per-frame timeout."""

    fault = "timeout"


class MalformedResponse(FrameError):
    """A well-framed response whose data does not fit the command (short read data …)."""

    fault = "protocol"


class SamError(IdCardError):
    """The SAM answered with a status other than success (native: SW1SW2SW3 in hex)."""

    fault = "sam_error"

    def __init__(self, detail: str, *, sw: tuple[int, int, int], fault: str | None = None):
        super().__init__(detail, fault=fault, native=f"{sw[0]:02X}{sw[1]:02X}{sw[2]:02X}")
        self.sw = sw


class SelectFailed(SamError):
    """SW3 0x81: a card was found but could not be selected (moved while reading)."""

    fault = "select_failed"


class ReadFailed(SamError):
    """SW3 0x41: selecting worked but reading the card failed."""

    fault = "read_failed"


class CardTimeout(IdCardError):
    """No card was placed before the caller's timeout."""

    fault = "timeout"


class CardDataError(IdCardError):
    """The card text could not be understood (bad date, sex code …): a misread."""

    fault = "card_data"


class InvalidIdNumber(CardDataError):
    """The ID / permit number fails its GB 11643 check digit: a misread, never an identity."""

    fault = "check_digit"


class CardExpired(IdCardError):
    """The card is past its validity. ``valid_until`` is the ISO expiry date; ``identity`` is
    the parsed record, for a screen that wants to greet the resident while refusing the card."""

    fault = "card_expired"

    def __init__(self, valid_until: str, identity: object = None):
        super().__init__(f"card expired on {valid_until}", native=valid_until)
        self.valid_until = valid_until
        self.identity = identity


class FingerprintUnavailable(IdCardError):
    """No fingerprint data to hand over: the reader has no ``30 10`` command
    (``no_fingerprint_command``) or the card carries none (``no_fingerprint``)."""

    fault = "no_fingerprint"
