"""``idcard = "auto"``: the watcher lists the virtual buses, picks the model's transport, and
follows unplug, replug and swap through the reader's own reconnect loop.

No USB bus here: USB devices come from the virtual pyusb backend, HID devices from the real
``hid`` package on the stand-in libhidapi, SDK readers from the stand-in vendor libraries, and
a USB-serial reader is the pty simulator presented by an injected port listing (the OS's
listing is the one part that cannot be real without hardware).
"""

from __future__ import annotations

import ctypes
import json
from types import SimpleNamespace

import pytest

from drivers.base import DeviceState
from drivers.idcard import IdCardReader, PortError
from drivers.reader_models import load_models
from drivers.reader_watch import AutoTransport, ReaderWatcher
from tests.drivers.test_idcard_reader import Recorder
from tests.fixtures.idcard import card_path
from tests.fixtures.virtual_hid import VirtualHidReader
from tests.fixtures.virtual_usb import VirtualReader, VirtualUsbBus

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

MODELS = {m.model: m for m in load_models()}


def nothing() -> list:
    return []


def no_sdk(library: str) -> bool:
    return False


def expected(card: str) -> dict:
    return json.loads(card_path(card).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_auto_picks_the_transport_every_model_file_needs(name, request):
    """For each model file, present one such reader and read a card through what auto chose;
    a UART model without USB ids cannot be found, and auto says so for its port."""
    model = MODELS[name]
    kwargs: dict = {"list_usb": nothing, "list_hid": nothing, "list_serial": nothing,
                    "sdk_loads": no_sdk}
    if model.transport == "usb":
        bus = VirtualUsbBus()
        device = bus.plug(VirtualReader(model.vid, model.pid, model.endpoint_out,
                                        model.endpoint_in, model.chunk))
        kwargs.pop("list_usb")
        kwargs["usb_backend"] = bus
    elif model.transport == "hid":
        device = request.getfixturevalue("hid_bus").plug(VirtualHidReader(model.vid, model.pid))
        kwargs.pop("list_hid")
    elif model.transport == "serial":
        device = request.getfixturevalue("idcard_sim")
        port = SimpleNamespace(device=str(device.link), vid=model.vid, pid=model.pid)
        kwargs["list_serial"] = lambda: [port]
    else:
        libraries = request.getfixturevalue("sdk_libraries")
        device = request.getfixturevalue("sdk_reader")
        ctypes.CDLL(str(libraries[model.family]))  # as if on the library path: found by soname
        # only this vendor's library is installed (the other one may be loaded in this process)
        kwargs["sdk_loads"] = lambda library: library == model.library and ctypes.CDLL(library)
    watcher = ReaderWatcher(list(MODELS.values()), **kwargs)
    transport = AutoTransport(watcher)
    reader = IdCardReader(transport=transport)
    device.place("hmt_residence")
    if model.vid is None and model.transport == "serial":
        with pytest.raises(PortError, match="none a known reader"):
            reader.read_once(timeout=2)
        assert [d.reason for d in watcher.unused()] == [
            "no USB ids: a reader on a board UART needs serial:///dev/… in config"]
        return
    identity = reader.read_once(timeout=5)
    assert identity.id_number == expected("hmt_residence")["id_number"]
    assert transport.found is not None and transport.found.model == model
    assert transport.found.kind == model.transport


def test_unknown_devices_are_listed_with_the_reason(hid_bus):
    bus = VirtualUsbBus()
    bus.plug(VirtualReader(0x0BDA, 0x8153))  # a network adapter, say
    hid_model = MODELS["ss628-100h"]
    bus.plug(VirtualReader(hid_model.vid, hid_model.pid))  # a HID reader also shows on USB
    ports = [SimpleNamespace(device="/dev/ttyS0", vid=None, pid=None),
             SimpleNamespace(device="/dev/ttyACM0", vid=0x2341, pid=0x0043)]
    watcher = ReaderWatcher(list(MODELS.values()), usb_backend=bus, list_serial=lambda: ports,
                            sdk_loads=no_sdk)
    added, removed = watcher.scan()
    assert removed == []
    lines = sorted(d.line() for d in watcher.unused())
    assert lines == [
        "serial /dev/ttyS0: no USB ids: a reader on a board UART needs serial:///dev/… in config",
        "serial 2341:0043 /dev/ttyACM0: no serial model file in config/readers for 2341:0043",
        "usb 0bda:8153 bus 1 address 2: no model file in config/readers for 0bda:8153",
    ]
    assert watcher.readers() == []  # the HID reader is not plugged on the HID bus
    with pytest.raises(PortError, match="3 device"):
        AutoTransport(watcher).open()


def test_scan_diffs_added_and_removed():
    bus = VirtualUsbBus()
    model = MODELS["ss628-100u"]
    watcher = ReaderWatcher(list(MODELS.values()), usb_backend=bus, list_hid=nothing,
                            list_serial=nothing, sdk_loads=no_sdk)
    assert watcher.scan() == ([], [])
    device = bus.plug(VirtualReader(model.vid, model.pid))
    added, removed = watcher.scan()
    assert [d.model for d in added] == [model] and removed == []
    assert watcher.scan() == ([], [])
    bus.unplug(device)
    added, removed = watcher.scan()
    assert added == [] and [d.id for d in removed] == [f"usb:1:{device.address}"]


def test_auto_follows_unplug_replug_and_a_swap_to_another_model(hid_bus):
    bus = VirtualUsbBus()
    usb_model, hid_model = MODELS["ss628-100u"], MODELS["ss628-100h"]
    watcher = ReaderWatcher(list(MODELS.values()), usb_backend=bus, list_serial=nothing,
                            sdk_loads=no_sdk)
    reader = IdCardReader(transport=AutoTransport(watcher), poll_interval=0.05,
                          reconnect_interval=0.05)
    rec = Recorder(reader)
    try:
        reader.open()
        rec.wait_status(DeviceState.OFFLINE, "port_missing")  # nothing plugged yet
        first = bus.plug(VirtualReader(usb_model.vid, usb_model.pid))
        first.place("resident")
        rec.wait_for(lambda: rec.of("card"))
        assert "SS628-100U" in reader.transport.description
        bus.unplug(first)
        rec.wait_for(lambda: rec.of("removed"))
        again = bus.plug(VirtualReader(usb_model.vid, usb_model.pid))  # replugged: new address
        again.place("foreign_permanent")
        rec.wait_for(lambda: len(rec.of("card")) == 2)
        bus.unplug(again)
        rec.wait_for(lambda: len(rec.of("removed")) == 2)
        swapped = hid_bus.plug(VirtualHidReader(hid_model.vid, hid_model.pid))
        swapped.place("hmt_residence")
        rec.wait_for(lambda: len(rec.of("card")) == 3)
        assert [c.card_type for c in rec.of("card")] == [
            "resident", "foreign_permanent", "hmt_residence"]
        assert reader.transport.description.startswith("auto: hid 261a:0007")
    finally:
        reader.close()


def test_auto_uri_builds_an_auto_reader():
    reader = IdCardReader("auto")
    assert isinstance(reader.transport, AutoTransport)
