"""Which transport a reader URI means: the one place that knows every ``ReaderTransport``.

Kept apart from :mod:`drivers.idcard_transport` so that the transports (and the ``auto``
watcher, which builds them) never import the factory that imports them.
"""

from __future__ import annotations

from drivers.idcard_transport import DEFAULT_BAUD, ReaderTransport, SerialTransport
from drivers.uri import parse_device_uri


def transport_for_uri(uri: str) -> ReaderTransport:
    """The transport a reader URI names: ``serial:///dev/ttyUSB0?baud=115200``,
    ``usb://0400:c35a?model=ss628-100u``, ``hid://261a:0007``, ``sdk://sdtapi?lib=…``.
    ``auto`` lists the buses on every open. ValueError naming the URI otherwise."""
    if uri == "auto":
        from drivers.reader_watch import AutoTransport

        return AutoTransport()
    parsed = parse_device_uri(uri)
    if parsed.scheme == "serial" and parsed.path:
        return SerialTransport(parsed.path,
                               int(parsed.param("baud", str(DEFAULT_BAUD)) or DEFAULT_BAUD))
    if parsed.scheme == "usb":
        from drivers.idcard_usb import usb_transport_for_uri

        return usb_transport_for_uri(parsed)
    if parsed.scheme == "hid":
        from drivers.idcard_hid import HidTransport
        from drivers.reader_models import model_for_uri_ids

        return HidTransport(model_for_uri_ids(parsed.host, parsed.param("model"), "hid"))
    if parsed.scheme == "sdk":
        from drivers.idcard_sdk import sdk_transport_for_uri

        return sdk_transport_for_uri(parsed)
    raise ValueError(f"ID-card reader needs a serial:///dev/…, usb://VID:PID, hid://VID:PID or "
                     f"sdk://MODEL URI, got {uri!r}")
