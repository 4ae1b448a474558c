"""How fast a placed ID card becomes an identity event, against the wire's own time.

1. Card placed → ``on_card`` through the real pty, the simulator pacing bytes at 115200 baud
   (10 bits/byte), median of 20 placements. Goal: ≤ wire time + poll interval + 10 ms.
2. The driver's own cost per read without pacing: find → select → read round trips over the
   pty, and the pure decode + parse of one read response in process. Goal: ≤ 5 ms.

Run: ``.venv/bin/python bench/idcard_bench.py``
"""

from __future__ import annotations

import pathlib
import statistics
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drivers import ga467  # noqa: E402
from drivers.idcard import IdCardReader  # noqa: E402
from drivers.idcard_text import parse_card_text  # noqa: E402
from tests.fixtures.procs import start_sim  # noqa: E402

BAUD = 115200
POLL = 0.1
RUNS = 20
CARD = ROOT / "simulators" / "cards" / "resident.json"


def wire_bytes_per_placement() -> int:
    """Bytes on the line from the poll that sees the card to the read response's last byte."""
    requests = 3 * len(ga467.encode_request(ga467.FIND_CARD))
    responses = (len(ga467.encode_response((0, 0, 0x9F), bytes(4)))
                 + len(ga467.encode_response((0, 0, 0x90), bytes(8)))
                 + len(ga467.encode_response((0, 0, 0x90), bytes(4 + 256 + 1024))))
    return requests + responses


def bench_placement() -> list[float]:
    sim = start_sim(["idcard", "--pace", "--baud", str(BAUD)])
    reader = IdCardReader(f"serial://{sim.address}?baud={BAUD}", poll_interval=POLL)
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
            sim.send(f"place {CARD}")
            if not got_card.wait(5):
                raise RuntimeError("no card event within 5 s")
            latencies.append(time.perf_counter() - start)
            sim.send("remove")
            if not got_removed.wait(5):
                raise RuntimeError("no removal event within 5 s")
            time.sleep(0.037 * (1 + len(latencies) % 3))  # vary the phase against the poll
    finally:
        reader.close()
        sim.stop()
    return latencies


def bench_unpaced_round_trip() -> list[float]:
    sim = start_sim(["idcard", "--card", str(CARD)])
    reader = IdCardReader(f"serial://{sim.address}?baud={BAUD}")
    times = []
    try:
        reader._open_port()  # bench only: drive one conversation directly, no poll thread
        for _ in range(RUNS * 5):
            start = time.perf_counter()
            assert reader._find_card()
            reader._read_card()
            times.append(time.perf_counter() - start)
    finally:
        reader._close_port()
        sim.stop()
    return times


def bench_decode_parse() -> list[float]:
    text = bytearray(" ".encode("utf-16-le") * 128)
    for (start, value) in ((0, "林晓梅"), (30, "2"), (32, "01"), (36, "19850312"),
                           (52, "广东省广州市越秀区东风中路123号"), (122, "440104198503120020"),
                           (158, "广州市公安局越秀分局"), (188, "20160520"), (204, "20360520")):
        raw = value.encode("utf-16-le")
        text[start:start + len(raw)] = raw
    wire = ga467.encode_response((0, 0, 0x90), b"\x01\x00\x04\x00" + bytes(text) + bytes(1024))
    times = []
    for _ in range(1000):
        start = time.perf_counter()
        decoder = ga467.FrameDecoder()
        for offset in range(0, len(wire), 64):  # as a UART would hand it over
            decoder.feed(wire[offset:offset + 64])
            response = decoder.next_response()
        record = ga467.split_read_data(response.data, with_fingerprint=False)
        parse_card_text(record.text, record.photo)
        times.append(time.perf_counter() - start)
    return times


def ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def main() -> int:
    nbytes = wire_bytes_per_placement()
    wire = nbytes * 10 / BAUD
    goal = wire + POLL + 0.010
    placement = bench_placement()
    median = statistics.median(placement)
    print(f"placement → on_card at {BAUD} baud, paced, poll {ms(POLL)}, n={len(placement)}")
    print(f"  wire: {nbytes} bytes = {ms(wire)};  goal ≤ {ms(goal)}")
    print(f"  median {ms(median)}  min {ms(min(placement))}  max {ms(max(placement))}  "
          f"→ {'MET' if median <= goal else 'MISSED'}")
    trips = bench_unpaced_round_trip()
    print(f"find+select+read over the pty, unpaced, n={len(trips)}: "
          f"median {ms(statistics.median(trips))}  max {ms(max(trips))}  "
          f"→ {'MET' if statistics.median(trips) <= 0.005 else 'MISSED'} (goal ≤ 5 ms)")
    cpu = bench_decode_parse()
    print(f"decode + parse of one read response in process, n={len(cpu)}: "
          f"median {statistics.median(cpu) * 1e6:.0f} µs  max {max(cpu) * 1e6:.0f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
