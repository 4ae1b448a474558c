"""GA 467 frame codec: what an ID-card SAM module says on its serial line.

Request  ``AA AA AA 96 69 | LEN(2, BE) | CMD PARA [data] | CHK``
Response ``AA AA AA 96 69 | LEN(2, BE) | SW1 SW2 SW3 [data] | CHK``

LEN counts everything after itself, CHK included; CHK is the XOR of the two LEN bytes and
the body. Pure bytes in and out, no I/O, so the codec is tested byte-exact and fuzzed;
:class:`FrameDecoder` is the streaming half that survives garbage and split reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.idcard_errors import (
    BadLength,
    ChecksumError,
    MalformedResponse,
    ReadFailed,
    SamError,
    SelectFailed,
    TruncatedFrame,
)

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
HEADER_LEN = len(PREAMBLE) + 2
MAX_LEN = 0x1000  # the longest real response (text+photo+fingerprint) is 2 321 bytes

# Commands as (CMD, PARA).
SAM_STATUS = (0x11, 0xFF)
SAM_ID = (0x12, 0xFF)
FIND_CARD = (0x20, 0x01)
SELECT_CARD = (0x20, 0x02)
READ_TEXT_PHOTO = (0x30, 0x01)
READ_TEXT_PHOTO_FP = (0x30, 0x10)

# SW3 status codes.
SW_OK = 0x90
SW_CARD_FOUND = 0x9F
SW_NO_CARD = 0x80
SW_SELECT_FAILED = 0x81
SW_READ_FAILED = 0x41
SW_CHECKSUM = 0x10
SW_UNKNOWN_COMMAND = 0x21

TEXT_LEN = 256
PHOTO_LEN = 1024
FINGERPRINT_LEN = 1024


def checksum(length_and_body: bytes) -> int:
    """XOR of the LEN bytes and the body: the CHK byte."""
    value = 0
    for byte in length_and_body:
        value ^= byte
    return value


def _frame(body: bytes) -> bytes:
    if len(body) + 1 > MAX_LEN:
        raise ValueError(f"frame body of {len(body)} bytes exceeds LEN limit {MAX_LEN}")
    length = (len(body) + 1).to_bytes(2, "big")
    return PREAMBLE + length + body + bytes([checksum(length + body)])


def encode_request(command: tuple[int, int], data: bytes = b"") -> bytes:
    """The bytes the host sends for ``command`` (a (CMD, PARA) pair)."""
    return _frame(bytes(command) + data)


def encode_response(sw: tuple[int, int, int], data: bytes = b"") -> bytes:
    """The bytes a SAM sends; used by tests and benchmarks of the decoder."""
    return _frame(bytes(sw) + data)


@dataclass(frozen=True)
class Response:
    """One decoded response frame."""

    sw1: int
    sw2: int
    sw3: int
    data: bytes = b""

    @property
    def sw(self) -> tuple[int, int, int]:
        return (self.sw1, self.sw2, self.sw3)

    def __repr__(self) -> str:  # data may hold personal text: length only
        return f"Response({self.sw1:02X}{self.sw2:02X}{self.sw3:02X}, {len(self.data)} bytes)"


def _response_from_body(body: bytes) -> Response:
    if len(body) < 3:
        raise MalformedResponse(f"response body of {len(body)} bytes has no SW1 SW2 SW3",
                                native=body.hex())
    return Response(body[0], body[1], body[2], bytes(body[3:]))


def decode_response(frame: bytes) -> Response:
    """Decode exactly one complete response frame (no garbage around it)."""
    decoder = FrameDecoder()
    decoder.feed(frame)
    response = decoder.next_response()
    if response is None:
        raise TruncatedFrame(f"frame of {len(frame)} bytes ends before its LEN",
                             native=len(frame))
    if decoder.pending():
        raise MalformedResponse(f"{decoder.pending()} bytes after the frame")
    return response


class FrameDecoder:
    """Streaming response decoder: feed bytes as they arrive, take frames as they complete.

    Bytes before a preamble are dropped (resynchronisation). An impossible LEN or a bad
    checksum raises a typed :class:`FrameError` after discarding the offending frame, so the
    next call continues with whatever follows. Every call consumes or waits: it cannot loop.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.discarded = 0  # garbage bytes dropped so far, for diagnostics

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def pending(self) -> int:
        """Bytes held that do not yet make a frame."""
        return len(self._buffer)

    def in_frame(self) -> bool:
        """True when a preamble has been seen and the frame is still incomplete."""
        return self._buffer.startswith(PREAMBLE[: len(self._buffer)]) and bool(self._buffer)

    def reset(self) -> None:
        self._buffer.clear()

    def _resync(self) -> None:
        start = self._buffer.find(PREAMBLE)
        if start < 0:
            # Keep a tail that may be the start of a preamble split across reads.
            keep = 0
            for size in range(min(len(PREAMBLE) - 1, len(self._buffer)), 0, -1):
                if self._buffer.endswith(PREAMBLE[:size]):
                    keep = size
                    break
            start = len(self._buffer) - keep
        if start:
            self.discarded += start
            del self._buffer[:start]

    def next_response(self) -> Response | None:
        """The next complete response, ``None`` when more bytes are needed."""
        body = self.next_body()
        return None if body is None else _response_from_body(body)

    def next_body(self) -> bytes | None:
        """The body of the next complete frame (request or response), ``None`` if incomplete."""
        self._resync()
        if len(self._buffer) < HEADER_LEN:
            return None
        length = int.from_bytes(self._buffer[len(PREAMBLE):HEADER_LEN], "big")
        if length < 2 or length > MAX_LEN:
            del self._buffer[:1]  # skip this false preamble; the rest may hold a real one
            self.discarded += 1
            raise BadLength(f"impossible frame LEN {length}", native=length)
        end = HEADER_LEN + length
        if len(self._buffer) < end:
            return None
        length_and_body = bytes(self._buffer[len(PREAMBLE):end - 1])
        received = self._buffer[end - 1]
        del self._buffer[:end]
        expected = checksum(length_and_body)
        if received != expected:
            raise ChecksumError("response checksum mismatch",
                                native=f"expected {expected:02X}, got {received:02X}")
        return length_and_body[2:]


def check_status(response: Response, *, ok: int = SW_OK) -> None:
    """Raise the typed error a non-success SW3 stands for; naming unknown codes."""
    if response.sw3 == ok:
        return
    sw = response.sw
    code = response.sw3
    if code == SW_SELECT_FAILED:
        raise SelectFailed("card select failed", sw=sw)
    if code == SW_READ_FAILED:
        raise ReadFailed("card read failed", sw=sw)
    if code == SW_CHECKSUM:
        raise SamError("reader reports a checksum error in our request", sw=sw, fault="checksum")
    if code == SW_UNKNOWN_COMMAND:
        raise SamError("reader does not know the command", sw=sw, fault="unknown_command")
    if code == SW_NO_CARD:
        raise SamError("no card", sw=sw, fault="no_card")
    raise SamError(f"SAM status code 0x{code:02X}", sw=sw)


@dataclass(frozen=True)
class CardRecord:
    """The raw parts of a read: 256 bytes of text, the WLT photo, the fingerprint if asked."""

    text: bytes
    photo: bytes
    fingerprint: bytes | None = None

    def __repr__(self) -> str:
        return f"CardRecord(text={len(self.text)}, photo={len(self.photo)})"


def split_read_data(data: bytes, *, with_fingerprint: bool) -> CardRecord:
    """Split the data of a ``30 01`` / ``30 10`` response by its leading length fields."""
    header = 6 if with_fingerprint else 4
    if len(data) < header:
        raise MalformedResponse(f"read data of {len(data)} bytes has no length fields")
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    fp_len = int.from_bytes(data[4:6], "big") if with_fingerprint else 0
    if text_len != TEXT_LEN:
        raise MalformedResponse(f"card text length {text_len}, expected {TEXT_LEN}",
                                native=text_len)
    need = header + text_len + photo_len + fp_len
    if len(data) < need:
        raise MalformedResponse(f"read data of {len(data)} bytes, its lengths need {need}",
                                native=len(data))
    text = bytes(data[header:header + text_len])
    photo = bytes(data[header + text_len:header + text_len + photo_len])
    fingerprint = bytes(data[header + text_len + photo_len:need]) if with_fingerprint else None
    return CardRecord(text, photo, fingerprint)
