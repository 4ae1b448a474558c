"""IdCardReader over USB HID: the real ``hid`` package on a stand-in libhidapi.

No USB bus here: the test builds a small C library exporting the hidapi calls the ``hid``
package binds (``tests/fixtures/c/hidapi_shim.c``); it forwards each call to virtual HID
readers in this process that answer from the simulator's GA 467 card emulator.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers import ga467
from drivers.base import DeviceState
from drivers.idcard import ChecksumError, IdCardReader, PortError
from drivers.idcard_connect import transport_for_uri
from drivers.idcard_hid import HidReassembler, HidTransport, hid_reports
from drivers.reader_models import load_model, load_models
from tests.drivers.test_idcard_reader import Recorder
from tests.fixtures.idcard import card_path
from tests.fixtures.virtual_hid import VirtualHidReader

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

MODEL = load_model("ss628-100h")


def hid_reader(**kwargs) -> IdCardReader:
    return IdCardReader(transport=HidTransport(MODEL), **kwargs)


def test_request_reports_strip_the_preamble_byte_exact():
    reports = hid_reports(ga467.encode_request(ga467.FIND_CARD), MODEL)
    assert reports == [b"\x00" + bytes.fromhex("0003200122").ljust(64, b"\0")]


@pytest.mark.parametrize("model", [m for m in load_models() if m.transport == "hid"],
                         ids=lambda m: m.model)
def test_each_hid_model_frames_byte_exact(model):
    """Per model file: report id first, preamble stripped (or kept), zero padded to its size;
    the reply's reports come back as exactly the GA 467 frame."""
    request = ga467.encode_request(ga467.READ_TEXT_PHOTO)
    payload = request[5:] if model.strip_preamble else request
    assert hid_reports(request, model) == [
        bytes([model.report_id]) + payload.ljust(model.report_size, b"\0")]
    reply = ga467.encode_response((0, 0, 0x90), bytes(300))
    body = reply[5:] if model.strip_preamble else reply
    reassembler = HidReassembler(model)
    got = b"".join(reassembler.feed(body[i:i + model.report_size].ljust(model.report_size, b"\0"))
                   for i in range(0, len(body), model.report_size))
    assert got == reply if model.strip_preamble else got.rstrip(b"\0") == reply


def test_reply_reports_get_the_preamble_back_and_lose_the_padding():
    reply = ga467.encode_response((0, 0, 0x90), bytes(range(100)))
    stripped = reply[5:]
    reports = [stripped[i:i + 64].ljust(64, b"\0") for i in range(0, len(stripped), 64)]
    reassembler = HidReassembler(MODEL)
    joined = b"".join(reassembler.feed(report) for report in reports)
    assert joined == reply


@given(data=st.binary(max_size=2400), size=st.sampled_from([8, 32, 64, 1024]),
       split=st.integers(1, 7))
def test_fuzz_any_reply_any_report_size_decodes_intact(data, size, split):
    """Reports of any size, the first possibly cut before its LEN: one decoded reply."""
    model = load_model("ss628-100h")
    model = type(model)(**{**vars(model), "report_size": size})
    reply = ga467.encode_response((0, 0, 0x90), data)
    stripped = reply[5:]
    reports = [stripped[:1]] if split == 1 else []
    rest = stripped[len(reports[0]):] if reports else stripped
    reports += [rest[i:i + size].ljust(size, b"\0") for i in range(0, len(rest), size)]
    decoder = ga467.FrameDecoder()
    reassembler = HidReassembler(model)
    for report in reports:
        decoder.feed(reassembler.feed(report))
    assert decoder.next_response() == ga467.Response(0, 0, 0x90, data)
    assert decoder.pending() == 0
    request = hid_reports(ga467.encode_request(ga467.SAM_ID), model)
    assert all(len(r) == size + 1 and r[0] == model.report_id for r in request)


@pytest.mark.parametrize("card", ["resident", "hmt_residence", "foreign_permanent"])
def test_read_once_over_hid_returns_the_placed_card(hid_bus, card):
    device = hid_bus.plug(VirtualHidReader(MODEL.vid, MODEL.pid))
    device.place(card)
    identity = hid_reader().read_once(timeout=5)
    want = json.loads(card_path(card).read_text(encoding="utf-8"))
    got = identity.to_json()
    for key in ("card_type", "name", "id_number", "valid_until", "nationality", "pass_number"):
        assert got[key] == want[key], key
    assert len(identity.photo_wlt) == 1024
    assert device.writes[0] == hid_reports(ga467.encode_request(ga467.SAM_STATUS), MODEL)[0]


def test_checksum_fault_over_hid_is_typed(hid_bus):
    device = hid_bus.plug(VirtualHidReader(MODEL.vid, MODEL.pid))
    device.place("resident")
    device.fault("bad_checksum")
    with pytest.raises(ChecksumError):
        hid_reader().read_once(timeout=2)


def test_missing_hid_reader_is_a_port_error(hid_bus):
    with pytest.raises(PortError) as info:
        hid_reader().read_once(timeout=1)
    assert info.value.fault == "port_missing" and "261a:0007" in str(info.value)


def test_hid_unplug_and_replug_while_polling(hid_bus):
    device = hid_bus.plug(VirtualHidReader(MODEL.vid, MODEL.pid))
    reader = hid_reader(poll_interval=0.05, reconnect_interval=0.05)
    rec = Recorder(reader)
    try:
        reader.open()
        device.place("resident")
        rec.wait_for(lambda: rec.of("card"))
        hid_bus.unplug(device)
        rec.wait_status(DeviceState.OFFLINE, "disconnected")
        rec.wait_for(lambda: rec.of("removed"))
        replugged = hid_bus.plug(VirtualHidReader(MODEL.vid, MODEL.pid))
        replugged.place("foreign_permanent")
        rec.wait_for(lambda: len(rec.of("card")) == 2)
        assert rec.of("card")[1].card_type == "foreign_permanent"
        assert replugged.path.decode() in reader.transport.description
    finally:
        reader.close()


def test_hid_uri_picks_the_hid_model():
    transport = transport_for_uri("hid://261a:0007")
    assert isinstance(transport, HidTransport) and transport.model.model == "ss628-100h"
    with pytest.raises(ValueError, match="usb reader, not hid"):
        transport_for_uri("hid://0400:c35a?model=ss628-100u")
