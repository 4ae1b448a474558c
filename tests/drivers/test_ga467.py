"""GA 467 frames, byte for byte, and a decoder that survives anything the wire throws."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import ga467
from drivers.idcard_errors import (
    BadLength,
    ChecksumError,
    FrameError,
    IdCardError,
    MalformedResponse,
    ReadFailed,
    SamError,
    SelectFailed,
    TruncatedFrame,
)


@pytest.mark.parametrize(("command", "wire"), [
    (ga467.SAM_STATUS, "AAAAAA9669 0003 11FF ED"),
    (ga467.SAM_ID, "AAAAAA9669 0003 12FF EE"),
    (ga467.FIND_CARD, "AAAAAA9669 0003 2001 22"),
    (ga467.SELECT_CARD, "AAAAAA9669 0003 2002 21"),
    (ga467.READ_TEXT_PHOTO, "AAAAAA9669 0003 3001 32"),
    (ga467.READ_TEXT_PHOTO_FP, "AAAAAA9669 0003 3010 23"),
])
def test_requests_are_byte_exact(command, wire):
    assert ga467.encode_request(command) == bytes.fromhex(wire)


def test_card_found_response_decodes_byte_exact():
    wire = bytes.fromhex("AAAAAA9669 0008 00009F 00000000 97")
    assert ga467.encode_response((0, 0, 0x9F), bytes(4)) == wire
    response = ga467.decode_response(wire)
    assert response.sw == (0, 0, 0x9F)
    assert response.data == bytes(4)


def test_len_counts_body_and_checksum_and_chk_xors_len_and_body():
    frame = ga467.encode_response((0, 0, 0x90), bytes(range(1, 251)) * 2)
    assert frame[5:7] == (3 + 500 + 1).to_bytes(2, "big")
    chk = 0
    for byte in frame[5:-1]:
        chk ^= byte
    assert frame[-1] == chk


def test_bad_checksum_is_a_typed_error_with_both_bytes():
    wire = bytearray(ga467.encode_response((0, 0, 0x90)))
    wire[-1] ^= 0xFF
    with pytest.raises(ChecksumError) as info:
        ga467.decode_response(bytes(wire))
    assert info.value.fault == "checksum"
    assert "expected" in str(info.value.native)


def test_truncated_frame_is_a_typed_error():
    wire = ga467.encode_response((0, 0, 0x90), bytes(10))
    with pytest.raises(TruncatedFrame):
        ga467.decode_response(wire[:-3])


def test_decoder_drops_garbage_before_a_preamble_even_a_half_preamble():
    frame = ga467.encode_response((0, 0, 0x90))
    decoder = ga467.FrameDecoder()
    decoder.feed(b"\x00\xffjunk\xaa\xaa\x96" + frame)
    assert decoder.next_response().sw3 == 0x90
    assert decoder.discarded == 9
    assert decoder.next_response() is None


def test_decoder_joins_a_frame_split_into_single_bytes():
    frame = ga467.encode_response((0, 0, 0x90), b"\x01\x02\x03")
    decoder = ga467.FrameDecoder()
    for byte in frame[:-1]:
        decoder.feed(bytes([byte]))
        assert decoder.next_response() is None
        assert decoder.in_frame()
    decoder.feed(frame[-1:])
    assert decoder.next_response().data == b"\x01\x02\x03"


def test_decoder_continues_after_a_bad_frame():
    good = ga467.encode_response((0, 0, 0x9F), bytes(4))
    bad = bytearray(good)
    bad[-1] ^= 1
    decoder = ga467.FrameDecoder()
    decoder.feed(bytes(bad) + good)
    with pytest.raises(ChecksumError):
        decoder.next_response()
    assert decoder.next_response().sw3 == 0x9F


def test_impossible_length_skips_the_false_preamble():
    decoder = ga467.FrameDecoder()
    good = ga467.encode_response((0, 0, 0x90))
    decoder.feed(ga467.PREAMBLE + b"\xff\xff" + good)
    with pytest.raises(BadLength):
        decoder.next_response()
    assert decoder.next_response().sw3 == 0x90


@pytest.mark.parametrize(("sw3", "error", "fault"), [
    (0x81, SelectFailed, "select_failed"),
    (0x41, ReadFailed, "read_failed"),
    (0x10, SamError, "checksum"),
    (0x21, SamError, "unknown_command"),
    (0x60, SamError, "sam_error"),
])
def test_status_codes_map_to_typed_errors(sw3, error, fault):
    with pytest.raises(error) as info:
        ga467.check_status(ga467.Response(0, 0, sw3))
    assert info.value.fault == fault
    assert info.value.native == f"0000{sw3:02X}"


def test_unknown_status_code_is_named():
    with pytest.raises(SamError, match="0x33"):
        ga467.check_status(ga467.Response(0, 0, 0x33))


def test_success_codes_pass():
    ga467.check_status(ga467.Response(0, 0, 0x90))
    ga467.check_status(ga467.Response(0, 0, 0x9F), ok=ga467.SW_CARD_FOUND)


def test_read_data_splits_text_photo_and_fingerprint():
    text, photo, fp = b"T" * 256, b"P" * 1024, b"F" * 1024
    record = ga467.split_read_data(b"\x01\x00\x04\x00" + text + photo, with_fingerprint=False)
    assert (record.text, record.photo, record.fingerprint) == (text, photo, None)
    record = ga467.split_read_data(b"\x01\x00\x04\x00\x04\x00" + text + photo + fp,
                                   with_fingerprint=True)
    assert record.fingerprint == fp


def test_short_read_data_is_malformed():
    with pytest.raises(MalformedResponse):
        ga467.split_read_data(b"\x01\x00\x04\x00" + bytes(300), with_fingerprint=False)


# -- fuzzing ----------------------------------------------------------------------------------
def _drain(decoder: ga467.FrameDecoder, budget: int) -> list[ga467.Response]:
    """Pull until the decoder wants more bytes; every call must answer or raise typed."""
    frames = []
    for _ in range(budget):
        try:
            response = decoder.next_response()
        except FrameError:
            continue
        if response is None:
            return frames
        frames.append(response)
    raise AssertionError("decoder did not settle: a hang on the wire")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20))
def test_random_bytes_give_frames_or_typed_errors(chunks):
    decoder = ga467.FrameDecoder()
    total = 0
    for chunk in chunks:
        decoder.feed(chunk)
        total += len(chunk)
        _drain(decoder, total + 2)


_valid_frames = st.builds(
    ga467.encode_response,
    st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
    st.binary(max_size=300),
)


@st.composite
def _mutated(draw):
    frame = bytearray(draw(_valid_frames))
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(0, len(frame) - 1)))
        if kind == "flip" and frame:
            frame[at] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del frame[at:]
        elif kind == "insert":
            frame[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and frame:
            del frame[at]
    return bytes(frame)


@settings(max_examples=300, deadline=None)
@given(st.lists(_mutated(), min_size=1, max_size=4), st.integers(1, 97))
def test_mutated_frames_split_anyhow_give_frames_or_typed_errors(frames, chunk):
    wire = b"".join(frames)
    decoder = ga467.FrameDecoder()
    for start in range(0, len(wire), chunk):
        decoder.feed(wire[start:start + chunk])
        _drain(decoder, len(wire) + 2)
    try:
        ga467.decode_response(wire)
    except IdCardError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.lists(_valid_frames, min_size=1, max_size=5), st.binary(max_size=40))
def test_valid_frames_after_garbage_all_come_through(frames, garbage):
    garbage = garbage.replace(b"\xaa", b"")  # garbage that cannot begin a preamble
    decoder = ga467.FrameDecoder()
    decoder.feed(garbage + b"".join(frames))
    got = _drain(decoder, 1000)
    assert [ga467.encode_response(r.sw, r.data) for r in got] == frames
