"""IdCardReader over USB bulk (pyusb) against virtual readers on a virtual bus.

No USB bus here: the seam is pyusb's public backend interface. ``tests/fixtures/virtual_usb``
is a backend whose devices have the model file's ids and endpoints and answer GA 467 from the
simulator's card emulator; ``usb.core`` and our transport run unchanged on top of it.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers import ga467
from drivers.base import DeviceState
from drivers.idcard import ChecksumError, IdCardReader, PortError, TruncatedFrame
from drivers.idcard_connect import transport_for_uri
from drivers.idcard_usb import UsbBulkTransport, usb_transport_for_uri
from drivers.reader_models import load_model, load_models
from drivers.uri import parse_device_uri
from simulators.idcard import SAM_ID, frame
from tests.drivers.test_idcard_reader import Recorder
from tests.fixtures.idcard import card_path
from tests.fixtures.virtual_usb import VirtualReader, VirtualUsbBus

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

SS628 = load_model("ss628-100u")


def ss628(**kwargs) -> VirtualReader:
    return VirtualReader(SS628.vid, SS628.pid, SS628.endpoint_out, SS628.endpoint_in,
                         SS628.chunk, **kwargs)


@pytest.fixture
def bus() -> VirtualUsbBus:
    return VirtualUsbBus()


def usb_reader(bus: VirtualUsbBus, **kwargs) -> IdCardReader:
    return IdCardReader(transport=UsbBulkTransport(SS628, backend=bus), **kwargs)


@pytest.mark.parametrize("card", ["resident", "hmt_residence", "foreign_permanent"])
def test_read_once_over_usb_bulk_returns_the_placed_card(bus, card):
    device = bus.plug(ss628())
    device.place(card)
    identity = usb_reader(bus).read_once(timeout=5)
    want = json.loads(card_path(card).read_text(encoding="utf-8"))
    got = identity.to_json()
    for key in ("card_type", "name", "id_number", "valid_until", "nationality", "pass_number"):
        assert got[key] == want[key], key
    assert len(identity.photo_wlt) == 1024


def test_requests_are_whole_frames_and_replies_are_read_in_64_byte_chunks(bus):
    """SS628-100U: one bulk OUT per request frame, byte-exact; every bulk IN asks 64 bytes."""
    device = bus.plug(ss628())
    device.place("resident")
    usb_reader(bus).read_once(timeout=5)
    assert device.writes[:4] == [bytes.fromhex("aaaaaa9669000311ff ed".replace(" ", "")),
                                 ga467.encode_request(ga467.FIND_CARD),
                                 ga467.encode_request(ga467.SELECT_CARD),
                                 ga467.encode_request(ga467.READ_TEXT_PHOTO)]
    assert {size for size, _ in device.reads} == {64}
    read_reply = sum(len(piece) for _, piece in device.reads[-21:])
    assert read_reply == 1295 and len(device.reads[-1][1]) == 1295 % 64


@pytest.mark.parametrize("model", [m for m in load_models() if m.transport == "usb"],
                         ids=lambda m: m.model)
def test_each_usb_model_chunks_and_trims_byte_exact(bus, model):
    """Per model file: the request is one bulk OUT on its endpoint; the reply is read in its
    chunk size from its IN endpoint, and the padding after LEN never reaches the decoder."""
    device = bus.plug(VirtualReader(model.vid, model.pid, model.endpoint_out, model.endpoint_in,
                                    model.chunk, pad_chunks=True))
    transport = UsbBulkTransport(model, backend=bus)
    transport.open()
    transport.write(ga467.encode_request(ga467.SAM_ID))
    got = transport.read(_far())
    assert got == frame(b"\x00\x00\x90" + SAM_ID)
    assert device.writes == [bytes.fromhex("aaaaaa9669000312ffee")]
    assert device.reads == [(model.chunk, got + bytes(model.chunk - len(got)))]
    transport.close()


def _far() -> float:
    return time.monotonic() + 5


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2400), packet=st.sampled_from([8, 16, 64, 512]),
       pad=st.booleans(), garbage=st.binary(max_size=40))
def test_fuzz_any_reply_any_chunking_reaches_the_decoder_intact(data, packet, pad, garbage):
    """Whatever the reply length, packet size, padding and leading garbage, the bytes the
    transport hands on decode to exactly the reply the reader sent."""
    bus = VirtualUsbBus()
    reply = ga467.encode_response((0, 0, 0x90), data)
    bus.plug(VirtualReader(SS628.vid, SS628.pid, packet=packet, pad_chunks=pad,
                           garbage=garbage, script=[reply]))
    model = load_model("ss628-100u")
    transport = UsbBulkTransport(model, backend=bus)
    transport.open()
    transport.write(ga467.encode_request(ga467.SAM_ID))
    decoder = ga467.FrameDecoder()
    deadline = _far()
    response = None
    while response is None:
        assert time.monotonic() < deadline, "reply never completed"
        decoder.feed(transport.read(deadline))  # b"" while a split header is held back
        while True:
            try:
                response = decoder.next_response()
                break
            except ga467.BadLength:  # a false preamble inside the garbage
                continue
    assert response.data == data
    assert decoder.pending() == 0
    transport.close()


@pytest.mark.parametrize(("fault", "error"), [("bad_checksum", ChecksumError),
                                              ("truncate", TruncatedFrame)])
def test_wire_faults_over_usb_are_typed_errors(bus, fault, error):
    device = bus.plug(ss628())
    device.place("resident")
    device.fault(fault)
    with pytest.raises(error):
        usb_reader(bus).read_once(timeout=2)


def test_missing_usb_reader_is_a_port_error(bus):
    with pytest.raises(PortError) as info:
        usb_reader(bus).read_once(timeout=1)
    assert info.value.fault == "port_missing"
    assert "0400:c35a" in str(info.value)


def test_unplug_and_replug_while_polling(bus):
    device = bus.plug(ss628())
    reader = usb_reader(bus, poll_interval=0.05, reconnect_interval=0.05)
    rec = Recorder(reader)
    try:
        reader.open()
        rec.wait_status(DeviceState.READY)
        device.place("resident")
        rec.wait_for(lambda: rec.of("card"))
        bus.unplug(device)
        rec.wait_status(DeviceState.OFFLINE, "disconnected")
        rec.wait_for(lambda: rec.of("removed"))
        rec.wait_status(DeviceState.OFFLINE, "port_missing")
        replugged = bus.plug(ss628())
        replugged.place("hmt_residence")
        rec.wait_for(lambda: len(rec.of("card")) == 2)
        assert rec.of("card")[1].card_type == "hmt_residence"
        assert f"address {replugged.address}" in reader.transport.description
    finally:
        reader.close()


def test_usb_uri_names_the_model_or_finds_it_by_ids():
    chosen = usb_transport_for_uri(parse_device_uri("usb://0400:c35a?model=ss628-100u"))
    assert chosen.model.model == "ss628-100u"
    by_ids = transport_for_uri("usb://0400:C35A")
    assert isinstance(by_ids, UsbBulkTransport) and by_ids.model.chunk == 64
    with pytest.raises(ValueError, match="1234:5678"):
        transport_for_uri("usb://1234:5678")
    with pytest.raises(ValueError, match="ss628-100u is 0400:c35a"):
        transport_for_uri("usb://261a:0007?model=ss628-100u")
