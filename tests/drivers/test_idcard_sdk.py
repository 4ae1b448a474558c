"""IdCardReader over a vendor SDK (ctypes): the SDT_* and CVR_* families.

No vendor library here: the test builds a small C library exporting the SDK calls
(``tests/fixtures/c/reader_sdk_shim.c``) as ``libsdtapi.so`` and ``libtermb.so``; each call
asks the simulator's GA 467 card emulator in this process, as the real SDK asks its reader.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers import ga467
from drivers.base import DeviceState
from drivers.idcard import IdCardReader, PortError
from drivers.idcard_connect import transport_for_uri
from drivers.idcard_sdk import SdkTransport
from drivers.reader_models import load_model
from simulators.idcard import SAM_ID
from tests.drivers.test_idcard_reader import Recorder
from tests.fixtures.idcard import card_path

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

MODELS = {"SDT": "sdtapi", "CVR": "cvr-100ud"}


def sdk_reader_for(family: str, libraries, **kwargs) -> IdCardReader:
    uri = f"sdk://{MODELS[family]}?lib={libraries[family]}&port=1001"
    return IdCardReader(uri, **kwargs)


@pytest.mark.parametrize("family", ["SDT", "CVR"])
@pytest.mark.parametrize("card", ["resident", "hmt_residence", "foreign_permanent"])
def test_read_once_through_the_sdk_returns_the_placed_card(sdk_libraries, sdk_reader, family,
                                                           card):
    sdk_reader.place(card)
    identity = sdk_reader_for(family, sdk_libraries).read_once(timeout=5)
    want = json.loads(card_path(card).read_text(encoding="utf-8"))
    got = identity.to_json()
    for key in ("card_type", "name", "id_number", "valid_until", "nationality", "pass_number"):
        assert got[key] == want[key], key
    assert len(identity.photo_wlt) == 1024


def test_sdt_calls_reach_the_reader_as_the_ga467_commands_they_stand_for(sdk_libraries,
                                                                         sdk_reader):
    sdk_reader.place("resident")
    sdk_reader_for("SDT", sdk_libraries).read_once(timeout=5)
    # SDT_OpenPort probes the SAM, then the reader's own SAM check, find, select, read
    assert [body[:2] for body in sdk_reader.requests] == [
        bytes(ga467.SAM_STATUS), bytes(ga467.SAM_STATUS), bytes(ga467.FIND_CARD),
        bytes(ga467.SELECT_CARD), bytes(ga467.READ_TEXT_PHOTO)]


def test_sam_id_through_sdt_and_not_offered_by_cvr(sdk_libraries, sdk_reader):
    assert sdk_reader_for("SDT", sdk_libraries).sam_id() == SAM_ID.hex()
    with pytest.raises(ga467.SamError) as info:
        sdk_reader_for("CVR", sdk_libraries).sam_id()
    assert info.value.fault == "unknown_command"


def test_sdk_checksum_error_is_typed(sdk_libraries, sdk_reader):
    """The SDT shim reports the damaged frame as code 0x10, which stays a checksum error."""
    sdk_reader.place("resident")
    sdk_reader.fault("bad_checksum")
    with pytest.raises(ga467.SamError) as info:
        sdk_reader_for("SDT", sdk_libraries).read_once(timeout=2)
    assert info.value.fault == "checksum"


def test_missing_sdk_library_is_a_port_error(tmp_path):
    with pytest.raises(PortError) as info:
        IdCardReader(f"sdk://sdtapi?lib={tmp_path}/libnone.so").read_once(timeout=1)
    assert info.value.fault == "port_missing" and "libnone.so" in str(info.value)


@pytest.mark.parametrize("family", ["SDT", "CVR"])
def test_reader_unplugged_behind_the_sdk_then_back(sdk_libraries, sdk_reader, family):
    reader = sdk_reader_for(family, sdk_libraries, poll_interval=0.05, reconnect_interval=0.05)
    rec = Recorder(reader)
    try:
        reader.open()
        sdk_reader.place("resident")
        rec.wait_for(lambda: rec.of("card"))
        sdk_reader.plugged = False
        rec.wait_for(lambda: rec.of("removed"))
        rec.wait_status(DeviceState.OFFLINE)
        sdk_reader.plugged = True
        sdk_reader.place("hmt_residence")
        rec.wait_for(lambda: len(rec.of("card")) == 2)
    finally:
        reader.close()


def test_sdk_uri_and_model_must_agree():
    transport = transport_for_uri("sdk://cvr-100ud?lib=/opt/x/libtermb.so")
    assert isinstance(transport, SdkTransport) and transport.files_dir == "/opt/x"
    assert load_model("sdtapi").family == "SDT"
    with pytest.raises(ValueError, match="not sdk"):
        transport_for_uri("sdk://ss628-100u")


def test_cvr_files_with_the_card_do_not_stay_on_disk(sdk_libraries, sdk_reader):
    """Termb leaves the card text and photo as files next to itself; read, then deleted."""
    sdk_reader.place("resident")
    sdk_reader_for("CVR", sdk_libraries).read_once(timeout=5)
    where = sdk_libraries["CVR"].parent
    assert not (where / "wz.txt").exists() and not (where / "zp.wlt").exists()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.tuples(st.integers(0, 255), st.integers(0, 255)),
       family=st.sampled_from(["SDT", "CVR"]), card=st.booleans())
def test_fuzz_any_request_gets_one_well_formed_frame(sdk_libraries, sdk_reader, command, family,
                                                     card):
    """Whatever GA 467 command the reader class sends, the SDK adapter answers with exactly
    one frame that decodes cleanly (unknown commands: SW3 0x21), never garbage or an error."""
    if card:
        sdk_reader.place("resident")
    else:
        sdk_reader.remove()
    transport = SdkTransport(load_model(MODELS[family]), library=str(sdk_libraries[family]))
    transport.open()
    try:
        transport.write(ga467.encode_request(command))
        decoder = ga467.FrameDecoder()
        decoder.feed(transport.read(time.monotonic() + 1))
        response = decoder.next_response()
        assert response is not None and decoder.pending() == 0
        known = {ga467.SAM_STATUS, ga467.SAM_ID, ga467.FIND_CARD, ga467.SELECT_CARD,
                 ga467.READ_TEXT_PHOTO}
        if command not in known or (family == "CVR" and command == ga467.SAM_ID):
            assert response.sw3 == ga467.SW_UNKNOWN_COMMAND
    finally:
        transport.close()
