"""What ``kiosk doctor`` says about the ID-card reader: which reader on which transport, its
SAM id, the photo decoder, and for ``auto`` the devices it did not use and why.

The readers are virtual (pyusb backend in this process); the WLT decoder is a stand-in C
library built by the test, since no real decoder is open source.
"""

from __future__ import annotations

import pathlib

import pytest

from drivers.idcard import IdCardReader
from drivers.idcard_usb import UsbBulkTransport
from drivers.reader_models import load_model, load_models
from drivers.reader_watch import AutoTransport, ReaderWatcher
from kiosk.ops.doctor import check_device
from simulators.idcard import SAM_ID
from tests.fixtures.virtual_hid import build_shared_library
from tests.fixtures.virtual_usb import VirtualReader, VirtualUsbBus

SS628 = load_model("ss628-100u")
WLT_SOURCE = pathlib.Path(__file__).parents[1] / "fixtures" / "c" / "wlt_shim.c"


@pytest.fixture(scope="module")
def wlt_decoder(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("wlt") / "libwlt2bmp.so"
    return str(build_shared_library(WLT_SOURCE, out, "libwlt2bmp.so"))


def plugged_ss628() -> VirtualUsbBus:
    bus = VirtualUsbBus()
    bus.plug(VirtualReader(SS628.vid, SS628.pid, SS628.endpoint_out, SS628.endpoint_in))
    return bus


def test_doctor_names_the_reader_its_transport_sam_and_no_decoder():
    bus = plugged_ss628()
    reader = IdCardReader(transport=UsbBulkTransport(SS628, backend=bus))
    check = check_device("idcard", reader, settle=3)
    assert check.ok, check.detail
    assert "reader usb 0400:c35a SS628-100U (bus 1 address 2)" in check.detail
    assert f"SAM {SAM_ID.hex()}" in check.detail
    assert "no WLT photo decoder configured (photos are kept undecoded)" in check.detail
    assert check.data["reader"]["transport"] == "usb"


def test_doctor_on_auto_says_what_it_found_and_why_others_were_not_used():
    bus = plugged_ss628()
    bus.plug(VirtualReader(0x0BDA, 0x8153))
    watcher = ReaderWatcher(load_models(), usb_backend=bus, list_hid=list, list_serial=list,
                            sdk_loads=lambda library: False)
    reader = IdCardReader(transport=AutoTransport(watcher))
    check = check_device("idcard", reader, settle=3)
    assert check.ok, check.detail
    assert "reader auto: usb 0400:c35a SS628-100U" in check.detail
    assert ("not used: usb 0bda:8153 bus 1 address 3: no model file in config/readers "
            "for 0bda:8153") in check.detail


def test_doctor_on_auto_with_no_reader_fails_naming_the_devices():
    bus = VirtualUsbBus()
    bus.plug(VirtualReader(0x0BDA, 0x8153))
    watcher = ReaderWatcher(load_models(), usb_backend=bus, list_hid=list, list_serial=list,
                            sdk_loads=lambda library: False)
    check = check_device("idcard", IdCardReader(transport=AutoTransport(watcher)), settle=1)
    assert not check.ok
    assert "port_missing" in check.detail and "0bda:8153" in check.detail


def test_configured_decoder_decodes_the_photo_and_doctor_names_it(wlt_decoder):
    bus = plugged_ss628()
    bus.readers[0].place("resident")
    reader = IdCardReader(transport=UsbBulkTransport(SS628, backend=bus),
                          photo_decoder=wlt_decoder)
    identity = reader.read_once(timeout=5)
    bmp = reader.decode_photo(identity)
    assert bmp is not None and len(bmp) == 38862 and bmp[:2] == b"BM"
    assert bmp[54:54 + 1024] == identity.photo_wlt
    assert f"WLT photo decoder {wlt_decoder}" in check_device("idcard", reader).detail


def test_a_missing_decoder_never_fails_the_read(tmp_path):
    bus = plugged_ss628()
    bus.readers[0].place("resident")
    reader = IdCardReader(transport=UsbBulkTransport(SS628, backend=bus),
                          photo_decoder=str(tmp_path / "libwlt2bmp.so"))
    identity = reader.read_once(timeout=5)
    assert len(identity.photo_wlt) == 1024
    assert reader.decode_photo(identity) is None
    assert "unusable" in check_device("idcard", reader).detail


def test_decoder_comes_from_the_uri():
    reader = IdCardReader("serial:///dev/ttyNONE?baud=9600&wlt=/opt/r/libwlt2bmp.so")
    assert reader.photo_decoder.library == "/opt/r/libwlt2bmp.so"
    assert reader.transport.baud == 9600
    assert IdCardReader("auto?wlt=/opt/r/libwlt2bmp.so").transport.kind == "auto"
