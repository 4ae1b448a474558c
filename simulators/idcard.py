"""``kiosk-sim idcard``: a GA 467 ID-card SAM on a pseudo-terminal.

Prints the pty slave path (or the ``--link`` symlink) as its first stdout line, then answers
GA 467 frames until SIGTERM. Written from the protocol, not from ``drivers`` — an independent
implementation keeps the driver honest. Control lines on stdin while it runs::

    place FILE.json | place resident     present a card (file path or simulators/cards name)
    remove                              take the card away
    fault NAME | fault none             bad_checksum truncate no_card garbage slow silent sam_error
                                        flicker (every other find misses a placed card)

Each control line is answered on stdout with ``ok …`` or ``error …``. When the host closes the
port the simulator prints ``hangup`` (and drops what it was still sending), so a test can see
that a client really let go of the line.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import pathlib
import select
import signal
import sys
import threading
import time
import tty

CARDS_DIR = pathlib.Path(__file__).with_name("cards")
PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
FAULTS = ("bad_checksum", "truncate", "no_card", "garbage", "slow", "silent", "sam_error",
          "flicker", "no_fingerprint_command")
GARBAGE = b"\x00\x13\xffNOISE\r\n\xaa\xaa\x96"  # ends like half a preamble, to test resync
SAM_ID = bytes.fromhex("0501000000000000000000000000002a")

NATION_CODES = {name: f"{i:02d}" for i, name in enumerate((
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白",
    "土家", "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西",
    "景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯",
    "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京",
    "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺"), start=1)}
NATION_CODES.update({"其他": "97", "外国血统": "98"})


# -- card text ------------------------------------------------------------------------------
def _put(text: bytearray, start: int, end: int, value: str | None) -> None:
    raw = (value or "").encode("utf-16-le")
    if len(raw) > end - start:
        raise ValueError(f"{value!r} does not fit bytes {start}-{end - 1}")
    text[start:start + len(raw)] = raw


def _ymd(iso: str | None, *, long_term: bool = False) -> str:
    if iso is None:
        return "长期" if long_term else ""
    return iso.replace("-", "")


def card_text(card: dict) -> bytes:
    """The 256-byte UCS-2LE text a card of ``card['card_type']`` carries (space padded)."""
    text = bytearray(" ".encode("utf-16-le") * 128)
    sex = {"male": "1", "female": "2"}.get(card.get("sex") or "", card.get("sex") or "")
    kind = card.get("card_type", "resident")
    if kind == "foreign_permanent" and card.get("card_edition") == "2023":
        # the 2023 edition ('Y'): an 18-digit number beginning with 9 where the resident's is
        _put(text, 0, 120, card.get("name_en"))
        _put(text, 120, 122, sex)
        _put(text, 122, 158, card["id_number"])
        _put(text, 158, 188, card.get("name"))
        _put(text, 188, 204, _ymd(card.get("valid_from")))
        _put(text, 204, 220, _ymd(card.get("valid_until"), long_term=True))
        _put(text, 220, 236, _ymd(card.get("birth_date")))
        _put(text, 236, 242, card.get("nationality"))
        count = card.get("issue_count")
        _put(text, 242, 246, f"{count:02d}" if count is not None else "")
        _put(text, 248, 250, "Y")
        return bytes(text)
    if kind == "foreign_permanent":
        _put(text, 0, 120, card.get("name_en"))
        _put(text, 120, 122, sex)
        _put(text, 122, 152, card["id_number"])
        _put(text, 152, 158, card.get("nationality"))
        _put(text, 158, 188, card.get("name"))
        _put(text, 188, 204, _ymd(card.get("valid_from")))
        _put(text, 204, 220, _ymd(card.get("valid_until"), long_term=True))
        _put(text, 220, 236, _ymd(card.get("birth_date")))
        _put(text, 236, 240, card.get("card_version", "02"))
        _put(text, 240, 248, card.get("authority"))
        _put(text, 248, 250, "I")
        return bytes(text)
    _put(text, 0, 30, card.get("name"))
    _put(text, 30, 32, sex)
    nation = card.get("nation")
    _put(text, 32, 36, NATION_CODES.get(nation, nation) if nation else "")
    _put(text, 36, 52, _ymd(card.get("birth_date")))
    _put(text, 52, 122, card.get("address"))
    _put(text, 122, 158, card["id_number"])
    _put(text, 158, 188, card.get("authority"))
    _put(text, 188, 204, _ymd(card.get("valid_from")))
    _put(text, 204, 220, _ymd(card.get("valid_until"), long_term=True))
    if kind == "hmt_residence":
        _put(text, 220, 238, card.get("pass_number"))
        count = card.get("issue_count")
        _put(text, 238, 242, f"{count:02d}" if count is not None else "")
        _put(text, 248, 250, "J")
    return bytes(text)


def card_photo(card: dict) -> bytes:
    """The card's WLT photo: from base64 in the file, else 1024 synthetic bytes."""
    if card.get("photo_wlt"):
        return base64.b64decode(card["photo_wlt"])
    seed = hashlib.sha256(card["id_number"].encode()).digest()
    return (b"WLT-SYNTHETIC" + seed * 40)[:1024]


def card_fingerprint(card: dict) -> bytes:
    """1024 synthetic fingerprint bytes for a card marked ``"fingerprint": true``; zeros
    (none recorded) otherwise, as most cards answer."""
    if not card.get("fingerprint"):
        return bytes(1024)
    seed = hashlib.sha256(b"fingerprint|" + card["id_number"].encode()).digest()
    return (b"FP-SYNTHETIC" + seed * 40)[:1024]


def load_card(name_or_path: str) -> dict:
    """A card from a JSON file, or by short name from ``simulators/cards``."""
    path = pathlib.Path(name_or_path)
    if not path.exists():
        path = CARDS_DIR / f"{name_or_path}.json"
    card = json.loads(path.read_text(encoding="utf-8"))
    card_text(card)  # fail now, not at the first read
    return card


# -- frames -----------------------------------------------------------------------------------
def frame(body: bytes) -> bytes:
    length = (len(body) + 1).to_bytes(2, "big")
    chk = 0
    for byte in length + body:
        chk ^= byte
    return PREAMBLE + length + body + bytes([chk])


def take_request(buffer: bytearray) -> tuple[bytes | None, bool] | None:
    """Cut the next request from ``buffer``: (body, checksum_ok), or None if incomplete."""
    start = buffer.find(PREAMBLE)
    if start < 0:
        del buffer[:max(0, len(buffer) - 4)]
        return None
    del buffer[:start]
    if len(buffer) < 7:
        return None
    length = int.from_bytes(buffer[5:7], "big")
    if not 3 <= length <= 512:
        del buffer[:1]
        return (None, False)
    if len(buffer) < 7 + length:
        return None
    chk = 0
    for byte in buffer[5:6 + length]:
        chk ^= byte
    body = bytes(buffer[7:6 + length])
    ok = chk == buffer[6 + length]
    del buffer[:7 + length]
    return (body, ok)


class SamSimulator:
    """The reader's brain: current card, fault, and the answer to each request."""

    def __init__(self, card: dict | None = None, fault: str | None = None) -> None:
        self.card = card
        self.fault = fault
        self.lock = threading.Lock()
        self.finds = 0

    def answer(self, body: bytes | None, checksum_ok: bool) -> bytes:
        with self.lock:
            card, fault = self.card, self.fault
        if body is None or not checksum_ok:
            return frame(b"\x00\x00\x10")
        if fault == "sam_error":
            return frame(b"\x00\x00\x60")
        command = body[:2]
        if command == b"\x11\xff":
            return frame(b"\x00\x00\x90")
        if command == b"\x12\xff":
            return frame(b"\x00\x00\x90" + SAM_ID)
        present = card is not None and fault != "no_card"
        if command == b"\x20\x01":
            self.finds += 1
            if fault == "flicker" and self.finds % 2:
                present = False
            return frame(b"\x00\x00\x9f" + bytes(4)) if present else frame(b"\x00\x00\x80")
        if command == b"\x20\x02":
            return frame(b"\x00\x00\x90" + bytes(8)) if present else frame(b"\x00\x00\x81")
        if command == b"\x30\x10" and fault == "no_fingerprint_command":
            return frame(b"\x00\x00\x21")
        if command in (b"\x30\x01", b"\x30\x10"):
            if not present:
                return frame(b"\x00\x00\x41")
            text, photo = card_text(card), card_photo(card)
            if command == b"\x30\x01":
                data = b"\x01\x00\x04\x00" + text + photo
            else:
                data = b"\x01\x00\x04\x00\x04\x00" + text + photo + card_fingerprint(card)
            return frame(b"\x00\x00\x90" + data)
        return frame(b"\x00\x00\x21")


class PtyPort:
    """The master side of a raw pty; writes paced at the baud rate when asked.

    Our own slave fd keeps the pty alive until the first host speaks; then it is closed, so
    the host closing its end shows here as POLLHUP (:meth:`hung_up`), as DCD drop would."""

    def __init__(self, baud: int, pace: bool) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo, no line discipline: bytes as on a real UART
        tty.setraw(self.master)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.baud, self.pace = baud, pace
        self._own_slave = True

    def host_spoke(self) -> None:
        """A host has the port open: from now on its close is a hang-up we can see."""
        if self._own_slave:
            self._own_slave = False
            os.close(self.slave)

    def hung_up(self) -> bool:
        if self._own_slave:
            return False
        poller = select.poll()
        poller.register(self.master, select.POLLIN)
        return any(events & select.POLLHUP for _, events in poller.poll(0))

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` of wire time; False (at once) when the host hangs up meanwhile."""
        end = time.monotonic() + seconds
        while True:
            if self.hung_up():
                return False
            remaining = end - time.monotonic()
            if remaining <= 0:
                return True
            time.sleep(min(remaining, 0.02))

    def wire_delay(self, nbytes: int) -> bool:
        return self._wait(nbytes * 10 / self.baud) if self.pace else True

    def send(self, data: bytes, *, chunk: int = 16, gap: float = 0.0) -> None:
        start = time.monotonic()
        for offset in range(0, len(data), chunk):
            piece = data[offset:offset + chunk]
            if self.pace:
                due = start + (offset + len(piece)) * 10 / self.baud
                if not self._wait(due - time.monotonic()):
                    return
            elif gap:
                time.sleep(gap)
            self._write_all(piece)

    def _write_all(self, data: bytes) -> None:
        while data:
            _, writable, _ = select.select([], [self.master], [], 1.0)
            if not writable:
                return  # nobody reads the slave and its buffer is full: drop, like a UART
            try:
                data = data[os.write(self.master, data):]
            except BlockingIOError:
                continue
            except OSError:  # the host hung up mid-reply
                return

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def serve(port: PtyPort, sam: SamSimulator, stop: threading.Event) -> None:
    buffer = bytearray()
    connected = False
    while not stop.is_set():
        if connected and port.hung_up():
            connected = False
            buffer.clear()
            print("hangup", flush=True)
        readable, _, _ = select.select([port.master], [], [], 0.1)
        if not readable:
            continue
        try:
            data = os.read(port.master, 4096)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:  # EIO: no slave open at the moment
            time.sleep(0.05)
            continue
        buffer += data
        if data:
            connected = True
            port.host_spoke()
        while (request := take_request(buffer)) is not None:
            body, ok = request
            if not port.wire_delay(len(body or b"") + 8):
                break
            reply = sam.answer(body, ok)
            fault = sam.fault
            if fault == "silent":
                continue
            if fault == "bad_checksum":
                reply = reply[:-1] + bytes([reply[-1] ^ 0x5A])
            elif fault == "truncate":
                reply = reply[: max(8, len(reply) // 2)]
            elif fault == "garbage":
                reply = GARBAGE + reply
            if fault == "slow":
                time.sleep(0.03)
                port.send(reply, chunk=64, gap=0.005)
            else:
                port.send(reply, chunk=64 if port.pace else len(reply) or 1)


def control(sam: SamSimulator, line: str) -> str:
    """Apply one stdin control line; the answer goes to stdout."""
    words = line.split(maxsplit=1)
    if not words:
        return ""
    verb, arg = words[0], (words[1].strip() if len(words) > 1 else "")
    try:
        if verb == "place" and arg:
            card = load_card(arg)
            with sam.lock:
                sam.card = card
        elif verb == "remove":
            with sam.lock:
                sam.card = None
        elif verb == "fault" and (arg == "none" or arg in FAULTS):
            with sam.lock:
                sam.fault = None if arg == "none" else arg
        else:
            return f"error unknown control line: {line.strip()}"
    except (OSError, ValueError, KeyError) as exc:
        return f"error {verb}: {exc}"
    return f"ok {line.strip()}"


def _read_controls(sam: SamSimulator) -> None:
    for line in sys.stdin:
        answer = control(sam, line)
        if answer:
            print(answer, flush=True)


def run(args: argparse.Namespace) -> int:
    card = load_card(args.card) if args.card else None
    sam = SamSimulator(card, None if args.fault in (None, "none") else args.fault)
    port = PtyPort(args.baud, args.pace)
    address = port.path
    if args.link:
        tmp = f"{args.link}.{os.getpid()}.tmp"
        os.symlink(port.path, tmp)
        os.replace(tmp, args.link)
        address = args.link
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(address, flush=True)
    threading.Thread(target=_read_controls, args=(sam,), daemon=True).start()
    try:
        serve(port, sam, stop)
    finally:
        if args.link and os.path.islink(args.link) and os.readlink(args.link) == port.path:
            os.unlink(args.link)
        port.close()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("idcard", help="GA 467 ID-card reader on a pty",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--card", help="card JSON file (or name in simulators/cards) to place")
    parser.add_argument("--fault", choices=(*FAULTS, "none"), help="misbehave from the start")
    parser.add_argument("--pace", action="store_true", help="send at the baud rate (10 bits/byte)")
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--link", help="make this path a symlink to the pty (stable across restarts)")
    parser.set_defaults(func=run)
