"""SocialSecurityCardReader through a real pcscd, the vpcd reader and the card emulator
running as a subprocess: what the kiosk sees when a resident inserts, pulls or mistypes."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import time

import pytest

from drivers.base import DeviceState
from drivers.sscard import (
    CardRemoved,
    CardTimeout,
    PinBlocked,
    ReaderNotFound,
    SecurityStatusNotSatisfied,
    SocialSecurityCardError,
    SocialSecurityCardReader,
    WrongPin,
)
from drivers.sscard_errors import FileNotFound, NoCard

WAIT = 10  # generous: pcscd polls the reader every 0.4 s


class Events:
    """Collects the reader's callbacks (they arrive on pyscard's threads)."""

    def __init__(self, reader: SocialSecurityCardReader) -> None:
        self.q: queue.Queue = queue.Queue()
        self.states: list = []
        reader.on_card(lambda identity: self.q.put(("card", identity)))
        reader.on_card_removed(lambda: self.q.put(("removed", None)))
        reader.on_card_error(lambda err: self.q.put(("error", err)))
        reader.on_status(lambda status: self.states.append(status))

    def next(self, timeout: float = WAIT) -> tuple[str, object]:
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no reader event within {timeout} s") from None


@pytest.fixture
def reader(sscard_sim):
    device = SocialSecurityCardReader(sscard_sim.reader_uri)
    yield device
    device.close()


def test_read_once_reads_the_inserted_card(sscard_sim, reader) -> None:
    sscard_sim.insert("ss_basic")
    identity = reader.read_once(WAIT)
    assert (identity.card_type, identity.source) == ("social_security", "ss_card")
    assert (identity.name, identity.id_number) == ("欧阳秀兰", "440104194805170244")
    assert (identity.sex, identity.nation, identity.birth_date) == ("female", "汉", "1948-05-17")
    assert identity.card_number == "G03145926"
    assert "440104194805170244" not in repr(identity)


def test_first_reader_holding_a_card_with_bare_uri(sscard_sim) -> None:
    sscard_sim.insert("ss_basic")
    assert SocialSecurityCardReader("pcsc://").read_once(WAIT).card_number == "G03145926"


def test_61xx_get_response_path_over_pcsc(sscard_sim, reader) -> None:
    sscard_sim.insert("ss_t0")
    identity = reader.read_once(WAIT)
    assert identity.name == "马志强"
    wire = sscard_sim.apdus()
    assert ("00C0000013", "6F11840F7378312E73682EC9E7BBE1B1A3D5CF9000") in wire
    # every 61xx the card answered was followed by GET RESPONSE for exactly xx bytes (which
    # records come back as 61xx depends on the card's T=0 chaining, not on the order)
    chained = [i for i, (_, resp) in enumerate(wire) if resp.startswith("61")]
    assert len(chained) >= 2
    for i in chained:
        assert wire[i + 1][0] == "00C00000" + wire[i][1][2:]


def test_insert_and_remove_events(sscard_sim, reader) -> None:
    events = Events(reader)
    reader.open()
    assert reader.status().state is DeviceState.READY
    sscard_sim.insert("ss_basic")
    kind, identity = events.next()
    assert kind == "card" and identity.id_number == "440104194805170244"
    sscard_sim.remove()
    assert events.next() == ("removed", None)
    sscard_sim.insert("ss_t0")
    kind, identity = events.next()
    assert kind == "card" and identity.name == "马志强"
    assert [s.state for s in events.states][:2] == [DeviceState.STARTING, DeviceState.READY]
    assert DeviceState.BUSY in [s.state for s in events.states]


def test_card_already_in_reader_is_read_on_open(sscard_sim, reader) -> None:
    sscard_sim.insert("ss_basic")
    reader.read_once(WAIT)  # pcscd has seen it
    events = Events(reader)
    reader.open()
    kind, identity = events.next()
    assert kind == "card" and identity.card_number == "G03145926"


def test_wrong_pin_shows_tries_then_blocks(sscard_sim, reader) -> None:
    events = Events(reader)
    reader.open()
    sscard_sim.insert("ss_basic")
    assert events.next()[0] == "card"
    with pytest.raises(WrongPin) as first:
        reader.verify_pin("000000")
    with pytest.raises(WrongPin) as second:
        reader.verify_pin("111111")
    with pytest.raises(PinBlocked) as third:
        reader.verify_pin("222222")
    with pytest.raises(PinBlocked) as after:
        reader.verify_pin("123456")
    assert (first.value.remaining, second.value.remaining) == (2, 1)
    assert [e.value.native for e in (first, second, third, after)] == [
        "63C2", "63C1", "63C0", "6983"]
    assert ("0020000003000000", "63C2") in sscard_sim.apdus()


def test_right_pin_reveals_a_pin_protected_card(sscard_sim, reader) -> None:
    events = Events(reader)
    reader.open()
    sscard_sim.insert("ss_pin")
    kind, err = events.next()
    assert kind == "error" and isinstance(err, SecurityStatusNotSatisfied)
    assert err.native == "6982"
    assert reader.status().fault == "pin_required"
    reader.verify_pin("123456")
    kind, identity = events.next()
    assert kind == "card" and identity.name == "韦丽芳" and identity.nation == "壮"


def test_verify_pin_without_card_is_typed(sscard_sim, reader) -> None:
    with pytest.raises(NoCard):
        reader.verify_pin("123456")


def test_card_pulled_mid_read_gives_typed_error_not_hang(sscard_sim, reader) -> None:
    events = Events(reader)
    reader.open()
    sscard_sim.fault("pull_mid_read")
    sscard_sim.insert("ss_basic")
    kinds = {}
    for _ in range(2):  # the error, then pcscd notices the card is gone
        kind, payload = events.next()
        kinds[kind] = payload
    assert isinstance(kinds["error"], CardRemoved)
    assert kinds["error"].native  # the PC/SC result or "no response APDU"
    assert "removed" in kinds and "card" not in kinds
    sscard_sim.insert("ss_basic")  # the fault is one-shot: the resident tries again
    assert events.next()[0] == "card"


def test_read_once_pulled_mid_read_raises(sscard_sim, reader) -> None:
    sscard_sim.fault("pull_mid_read")
    sscard_sim.insert("ss_basic")
    with pytest.raises(CardRemoved):
        reader.read_once(WAIT)


def test_other_card_in_reader_is_named(sscard_sim, reader) -> None:
    sscard_sim.insert("ss_bank_card")
    with pytest.raises(FileNotFound) as info:
        reader.read_once(WAIT)
    assert info.value.native == "6A82"


def test_no_card_times_out(sscard_sim, reader) -> None:
    with pytest.raises(CardTimeout):
        reader.read_once(0.3)


def test_unknown_reader_is_not_a_timeout(pcsc) -> None:
    with pytest.raises(ReaderNotFound) as info:
        SocialSecurityCardReader("pcsc://No Such Reader").read_once(0.2)
    assert pcsc.reader_name in str(info.value.native)
    assert isinstance(info.value, SocialSecurityCardError)


# -- the technician command -------------------------------------------------------------
def kiosk(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_cli_json_read(sscard_sim) -> None:
    sscard_sim.insert("ss_basic")
    done = kiosk("sscard", "--reader", sscard_sim.reader_name, "--json", "--timeout", "10")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["card_type"] == "social_security"
    assert (record["name"], record["id_number"]) == ("欧阳秀兰", "440104194805170244")
    assert (record["sex"], record["nation"], record["birth_date"], record["card_number"]) == (
        "female", "汉", "1948-05-17", "G03145926")


def test_cli_human_summary_is_masked(sscard_sim) -> None:
    sscard_sim.insert("ss_basic")
    done = kiosk("sscard", "--reader", sscard_sim.reader_name, "--timeout", "10")
    assert done.returncode == 0, done.stderr
    assert "440104********0244" in done.stdout and "欧***" in done.stdout
    assert "440104194805170244" not in done.stdout and "欧阳秀兰" not in done.stdout


def test_cli_no_card_exits_3_with_one_line(sscard_sim) -> None:
    done = kiosk("sscard", "--reader", sscard_sim.reader_name, "--json", "--timeout", "0.5")
    assert done.returncode == 3
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1


def test_cli_wrong_pin_exits_4_naming_sw(sscard_sim) -> None:
    sscard_sim.insert("ss_basic")
    done = kiosk("sscard", "--reader", sscard_sim.reader_name, "--json", "--pin", "000000")
    assert done.returncode == 4
    assert "63C2" in done.stderr and "WrongPin" in done.stderr


def test_cli_pin_protected_card_with_pin(sscard_sim) -> None:
    sscard_sim.insert("ss_pin")
    refused = kiosk("sscard", "--reader", sscard_sim.reader_name, "--json")
    read = kiosk("sscard", "--reader", sscard_sim.reader_name, "--json", "--pin", "123456")
    assert refused.returncode == 4 and "6982" in refused.stderr
    assert read.returncode == 0 and json.loads(read.stdout)["name"] == "韦丽芳"


def test_cli_unknown_reader_exits_4(pcsc) -> None:
    done = kiosk("sscard", "--reader", "No Such Reader", "--json", "--timeout", "0.2")
    assert done.returncode == 4 and "no_reader" in done.stderr


def test_cli_malformed_pin_is_a_usage_error(sscard_sim) -> None:
    sscard_sim.insert("ss_basic")
    done = kiosk("sscard", "--reader", sscard_sim.reader_name, "--json", "--pin", "12")
    assert done.returncode == 2 and "4 to 12 digits" in done.stderr
    assert not [cmd for cmd, _ in sscard_sim.apdus() if cmd.startswith("0020")]


def test_cli_without_pcscd_exits_4_naming_pcsc_result(tmp_path) -> None:
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd.comm")}
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "sscard", "--json", "--timeout",
                           "0.2"], capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode == 4
    assert "no_service" in done.stderr and "0x8010001D" in done.stderr


def test_missing_reader_shows_offline_status(pcsc) -> None:
    device = SocialSecurityCardReader("pcsc://No Such Reader")
    device.open()
    try:
        status = device.status()
        assert (status.state, status.fault) == (DeviceState.OFFLINE, "no_reader")
    finally:
        device.close()


def test_slow_card_is_still_read(sscard_sim, reader) -> None:
    sscard_sim.fault("slow")  # 0.2 s per APDU, like a worn contact plate
    sscard_sim.insert("ss_t0")
    assert reader.read_once(WAIT).card_number == "G05271834"


def test_survives_a_pcscd_outage(pcsc, sscard_sim, reader) -> None:
    if not pcsc.private:
        pytest.skip("needs the test run's private pcscd (unshare unavailable here)")
    events = Events(reader)
    reader.open()
    sscard_sim.insert("ss_basic")
    assert events.next()[0] == "card"
    pcsc.stop_daemon()
    assert events.next() == ("removed", None)
    deadline = time.monotonic() + WAIT
    while reader.status().state is DeviceState.READY and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (reader.status().state, reader.status().fault) == (DeviceState.ERROR, "no_service")
    pcsc.start_daemon()
    sscard_sim.insert("ss_t0")  # the emulator lost its vpcd link with pcscd: insert again
    kind, identity = events.next()
    assert kind == "card" and identity.name == "马志强"
    assert reader.status().state is DeviceState.READY


def test_reader_unplug_while_card_in(sscard_sim, reader) -> None:
    # vpcd's reader cannot be unplugged, so pyscard's reader-monitor observer is driven the
    # way ReaderMonitor calls it when a USB reader goes away and comes back
    events = Events(reader)
    reader.open()
    sscard_sim.insert("ss_basic")
    assert events.next()[0] == "card"
    watch = reader._reader_watch
    watch.update(None, ([], [sscard_sim.reader_name]))
    assert events.next() == ("removed", None)
    watch.update(None, ([sscard_sim.reader_name], []))
    assert reader.status().state is DeviceState.READY
