"""Card placed → identity event, for each reader transport against its virtual reader.

The same ``IdCardReader`` (poll 100 ms) runs over: the pty simulator paced at 115200 baud
(serial: the wire is the real cost), a virtual SS628-100U on a pyusb backend (USB bulk), a
virtual HID reader behind a stand-in libhidapi (HID), and stand-in ``libsdtapi.so`` /
``libtermb.so`` (SDK). The virtual USB, HID and SDK readers answer at once, so their figure
is the driver's cost plus the wait for the next poll; a real device adds its own time.
Median of 20 placements each, the placement phase varied against the poll.

Run: ``.venv/bin/python bench/idcard_transports.py``
"""

from __future__ import annotations

import ctypes
import os
import pathlib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drivers.idcard import IdCardReader  # noqa: E402
from drivers.idcard_hid import HidTransport  # noqa: E402
from drivers.idcard_usb import UsbBulkTransport  # noqa: E402
from drivers.reader_models import load_model  # noqa: E402
from tests.fixtures.procs import start_sim  # noqa: E402
from tests.fixtures.virtual_hid import (  # noqa: E402
    SHIM_SOURCE,
    VirtualHidBus,
    VirtualHidReader,
    build_shared_library,
)
from tests.fixtures.virtual_sdk import SHIM_SOURCE as SDK_SOURCE  # noqa: E402
from tests.fixtures.virtual_sdk import VirtualSdkReader  # noqa: E402
from tests.fixtures.virtual_usb import VirtualReader, VirtualUsbBus  # noqa: E402

POLL = 0.1
RUNS = 20
CARD = str(ROOT / "simulators" / "cards" / "resident.json")


def placements(reader: IdCardReader, place: Callable[[], None],
               remove: Callable[[], None]) -> list[float]:
    got_card, got_removed = threading.Event(), threading.Event()
    reader.on_card(lambda identity: got_card.set())
    reader.on_card_removed(got_removed.set)
    latencies = []
    try:
        reader.open()
        time.sleep(0.5)
        for _ in range(RUNS):
            got_card.clear()
            got_removed.clear()
            start = time.perf_counter()
            place()
            if not got_card.wait(5):
                raise RuntimeError("no card event within 5 s")
            latencies.append(time.perf_counter() - start)
            remove()
            if not got_removed.wait(5):
                raise RuntimeError("no removal event within 5 s")
            time.sleep(0.037 * (1 + len(latencies) % 3))
    finally:
        reader.close()
    return latencies


def bench_serial() -> list[float]:
    sim = start_sim(["idcard", "--pace", "--baud", "115200"])
    try:
        reader = IdCardReader(f"serial://{sim.address}?baud=115200", poll_interval=POLL)
        return placements(reader, lambda: sim.send(f"place {CARD}"), lambda: sim.send("remove"))
    finally:
        sim.stop()


def bench_usb() -> list[float]:
    model = load_model("ss628-100u")
    bus = VirtualUsbBus()
    device = bus.plug(VirtualReader(model.vid, model.pid, model.endpoint_out,
                                    model.endpoint_in, model.chunk))
    reader = IdCardReader(transport=UsbBulkTransport(model, backend=bus), poll_interval=POLL)
    return placements(reader, lambda: device.place("resident"), device.remove)


def bench_hid(tmp: pathlib.Path) -> list[float]:
    library = build_shared_library(SHIM_SOURCE, tmp / "libhidapi-hidraw.so",
                                   "libhidapi-hidraw.so")
    bus = VirtualHidBus(tmp / "hid.sock")
    os.environ["KIOSK_HID_SHIM_SOCKET"] = str(bus.socket_path)
    ctypes.CDLL(str(library))  # the hid package's dlopen finds it by soname
    model = load_model("ss628-100h")
    device = bus.plug(VirtualHidReader(model.vid, model.pid))
    reader = IdCardReader(transport=HidTransport(model), poll_interval=POLL)
    return placements(reader, lambda: device.place("resident"), device.remove)


def bench_sdk(tmp: pathlib.Path, family: str) -> list[float]:
    name, model = {"SDT": ("libsdtapi.so", "sdtapi"), "CVR": ("libtermb.so", "cvr-100ud")}[family]
    where = tmp / family
    where.mkdir()
    library = build_shared_library(SDK_SOURCE, where / name, name)
    device = VirtualSdkReader(where / "sdk.sock")
    os.environ["KIOSK_SDK_SHIM_SOCKET"] = str(device.socket_path)
    reader = IdCardReader(f"sdk://{model}?lib={library}", poll_interval=POLL)
    try:
        return placements(reader, lambda: device.place("resident"), device.remove)
    finally:
        device.close()


def ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = pathlib.Path(tmp_dir)
        rows = [("serial, pty paced at 115200 baud", bench_serial()),
                ("USB bulk, virtual SS628-100U (pyusb backend)", bench_usb()),
                ("USB HID, virtual reader (hid package on stand-in libhidapi)", bench_hid(tmp)),
                ("SDK SDT_* (stand-in libsdtapi.so)", bench_sdk(tmp, "SDT")),
                ("SDK CVR_* (stand-in libtermb.so)", bench_sdk(tmp, "CVR"))]
    print(f"card placed → on_card, poll {ms(POLL)}, n={RUNS} each")
    for label, values in rows:
        print(f"  {label:60s} median {ms(statistics.median(values))}  "
              f"min {ms(min(values))}  max {ms(max(values))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
