"""``kiosk-sim sscard``: a virtual Chinese social-security card (社会保障卡) for pcscd's vpcd.

The card is plain Python: it speaks vpcd's socket protocol as a TCP *client* of the vpcd
reader driver inside pcscd (default ``127.0.0.1:35963`` = reader "Virtual PCD 00 00").
Connecting is inserting the card; disconnecting is pulling it. Frames are a 2-byte big-endian
length and a payload: one-byte payloads are control (0 power off, 1 power on, 2 reset,
4 get ATR), anything longer is a command APDU answered with a response APDU.

What the card holds (synthetic, from ``simulators/cards/ss_*.json``): the application
"sx1.sh.社会保障" with EF05 (card data: 01 identification code, 02 type, 03 version,
05 issue date, 06 expiry date, 07 card number) and EF06 (resident: 08 social-security number,
09 name GBK, 0A sex, 0B nation code, 0D birth date BCD). A record is ``tag len value`` and
READ RECORD's P1 is the tag. A JSON card may set ``"get_response": true`` so case-2 answers
come as ``61xx`` + GET RESPONSE (T=0 style), and ``"ef06_needs_pin": true`` so EF06 answers
``6982`` until VERIFY succeeds.

Independent of ``drivers``/``kiosk`` on purpose: it is the other side of the wire.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

AID = "sx1.sh.社会保障".encode("gbk")
SW_OK = b"\x90\x00"
# Historical bytes spell "SSCARD"; T=0 and T=1 offered. TCK is added by atr().
_ATR_BODY = bytes([0x3B, 0x86, 0x80, 0x01]) + b"SSCARD"

EF05_TAGS = (0x01, 0x02, 0x03, 0x05, 0x06, 0x07)
EF06_TAGS = (0x08, 0x09, 0x0A, 0x0B, 0x0D)
NAME_FIELD_LEN = 30
FAULTS = ("pull_mid_read", "slow", "none")
# pcscd polls vpcd for the card every 0.4 s; a card out for less than that is never seen to
# leave, and its re-insertion is never announced. A hand is slower anyway.
MIN_OUT_S = 0.6


def atr() -> bytes:
    tck = 0
    for b in _ATR_BODY[1:]:
        tck ^= b
    return _ATR_BODY + bytes([tck])


def bcd(digits: str) -> bytes:
    if len(digits) % 2:
        digits += "F"
    return bytes.fromhex(digits)


@dataclass
class CardData:
    """The card file contents as records ``tag -> value`` per EF, plus PIN state."""

    ef05: dict[int, bytes]
    ef06: dict[int, bytes]
    pin: str = "123456"
    pin_tries: int = 3
    get_response: bool = False
    ef06_needs_pin: bool = False
    has_application: bool = True  # False: some other card (bank, transit) → SELECT 6A82
    source: str = ""

    @classmethod
    def from_json(cls, path: str | Path, pin: str | None = None) -> CardData:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        name = data["name"].encode("gbk").ljust(NAME_FIELD_LEN, b"\x00")
        ef05 = {
            0x01: data["card_identification_code"].encode("ascii"),
            0x02: data.get("card_type", "1").encode("ascii"),
            0x03: data.get("version", "2.00").encode("ascii"),
            0x05: bcd(data["issue_date"]),
            0x06: bcd(data["expiry_date"]),
            0x07: data["card_number"].encode("ascii"),
        }
        ef06 = {
            0x08: data["social_security_number"].encode("ascii"),
            0x09: name,
            0x0A: data["sex"].encode("ascii"),
            0x0B: data["nation"].encode("ascii"),
            0x0D: bcd(data["birth_date"]),
        }
        return cls(ef05, ef06, pin=pin or data.get("pin", "123456"),
                   pin_tries=int(data.get("pin_tries", 3)),
                   get_response=bool(data.get("get_response", False)),
                   ef06_needs_pin=bool(data.get("ef06_needs_pin", False)),
                   has_application=bool(data.get("has_application", True)),
                   source=Path(path).name)


@dataclass
class CardApplet:
    """The card's command interpreter: one instance per inserted card, state reset on power."""

    card: CardData
    app_selected: bool = False
    ef: int | None = None
    pin_ok: bool = False
    pending: bytes = b""  # data waiting for GET RESPONSE

    def reset(self) -> None:
        self.app_selected, self.ef, self.pin_ok, self.pending = False, None, False, b""

    def _case2(self, data: bytes) -> bytes:
        """Answer data directly, or T=0 style with 61xx when the card file asks for it."""
        if self.card.get_response and data:
            self.pending = data
            return bytes([0x61, len(data) & 0xFF])
        return data + SW_OK

    def process(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return b"\x67\x00"
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[5:5 + apdu[4]] if len(apdu) > 5 else b""
        if cla != 0x00:
            return b"\x6E\x00"
        if ins != 0xC0:
            self.pending = b""
        if ins == 0xA4:
            return self._select(p1, body)
        if ins == 0xB2:
            le = apdu[4] if len(apdu) == 5 else 0
            return self._read_record(p1, p2, le)
        if ins == 0x20:
            return self._verify(body)
        if ins == 0xC0:
            return self._get_response(apdu[4] if len(apdu) >= 5 else 0)
        return b"\x6D\x00"

    def _select(self, p1: int, name: bytes) -> bytes:
        if p1 == 0x04:
            if name != AID or not self.card.has_application:
                return b"\x6A\x82"
            self.app_selected, self.ef = True, None
            fci = b"\x6F" + bytes([len(AID) + 2]) + b"\x84" + bytes([len(AID)]) + AID
            return self._case2(fci)
        if p1 == 0x02 and len(name) == 2:
            if not self.app_selected:
                return b"\x6A\x82"
            fid = int.from_bytes(name, "big")
            if fid not in (0xEF05, 0xEF06):
                return b"\x6A\x82"
            self.ef = fid
            return SW_OK
        return b"\x6A\x86"

    def _read_record(self, rec: int, p2: int, le: int) -> bytes:
        if p2 != 0x04:
            return b"\x6A\x86"
        if self.ef is None:
            return b"\x69\x86"  # no current EF
        if self.ef == 0xEF06 and self.card.ef06_needs_pin and not self.pin_ok:
            return b"\x69\x82"
        records = self.card.ef05 if self.ef == 0xEF05 else self.card.ef06
        if rec not in records:
            return b"\x6A\x83"
        value = records[rec]
        record = bytes([rec, len(value)]) + value
        if le and le != len(record):
            return bytes([0x6C, len(record)])  # wrong length: tell the right Le
        return self._case2(record)

    def _verify(self, pin_bcd: bytes) -> bytes:
        if self.card.pin_tries <= 0:
            return b"\x69\x83"
        if not pin_bcd:  # case 1: ask how many tries are left
            return bytes([0x63, 0xC0 | self.card.pin_tries])
        if pin_bcd == bcd(self.card.pin):
            self.card.pin_tries, self.pin_ok = 3, True
            return SW_OK
        self.card.pin_tries -= 1
        self.pin_ok = False
        return bytes([0x63, 0xC0 | self.card.pin_tries])

    def _get_response(self, le: int) -> bytes:
        if not self.pending:
            return b"\x69\x85"
        data = self.pending[:le or 256]
        self.pending = self.pending[len(data):]
        if self.pending:
            return data + bytes([0x61, len(self.pending) & 0xFF])
        return data + SW_OK


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("vpcd closed the connection")
        buf += chunk
    return buf


class VirtualCard:
    """Keeps one card 'in the reader' (= connected to vpcd) and serves it on a thread."""

    def __init__(self, host: str, port: int, out=sys.stdout, trace: bool = False) -> None:
        self.host, self.port, self.out, self.trace = host, port, out, trace
        self.fault = "none"
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._out_since = 0.0  # monotonic time the card last left the reader

    def say(self, line: str) -> None:
        with self._lock:
            print(line, file=self.out, flush=True)

    def insert(self, card: CardData, timeout: float = 10.0) -> bool:
        """Connect to vpcd (retrying while pcscd starts); True once the card is in."""
        self.remove(quiet=True)
        time.sleep(max(0.0, self._out_since + MIN_OUT_S - time.monotonic()))
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=2)
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    print(f"sscard: cannot reach vpcd at {self.host}:{self.port}: {exc}",
                          file=sys.stderr, flush=True)
                    return False
                time.sleep(0.2)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if hasattr(socket, "TCP_QUICKACK"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        self._sock = sock
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve_loop, args=(sock, CardApplet(card)),
                                        name="sscard-vpcd", daemon=True)
        self._thread.start()
        return True

    def remove(self, quiet: bool = False) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        self._stop.set()
        self._out_since = time.monotonic()
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2)
        if not quiet:
            self.say("removed")

    def _serve_loop(self, sock: socket.socket, applet: CardApplet) -> None:
        try:
            while not self._stop.is_set():
                length = int.from_bytes(_recv_exact(sock, 2), "big")
                payload = _recv_exact(sock, length) if length else b""
                reply = self._answer(applet, payload)
                if reply is None:  # pulled mid-read: vanish without an answer
                    self.fault = "none"
                    self._sock = None
                    sock.close()
                    self._out_since = time.monotonic()
                    self.say("pulled")
                    return
                if reply:
                    sock.sendall(len(reply).to_bytes(2, "big") + reply)
                if hasattr(socket, "TCP_QUICKACK"):  # Linux resets QUICKACK after use
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        except (ConnectionError, OSError) as exc:
            if not self._stop.is_set():
                log.info("vpcd link closed: %s", exc)
                self._sock = None
                self._out_since = time.monotonic()
                self.say("removed")

    def _answer(self, applet: CardApplet, payload: bytes) -> bytes | None:
        if len(payload) == 1:
            ctrl = payload[0]
            if ctrl in (0, 1, 2):  # power off / on / reset: a fresh card session
                applet.reset()
                return b""
            if ctrl == 4:
                return atr()
            return b""
        if self.fault == "slow":
            time.sleep(0.2)
        if self.fault == "pull_mid_read" and payload[1:2] == b"\xB2" and applet.ef == 0xEF06:
            return None
        reply = applet.process(payload)
        if self.trace:  # "apdu COMMAND RESPONSE" in hex, for byte-exact tests over the wire
            self.say(f"apdu {payload.hex().upper()} {reply.hex().upper()}")
        return reply


def _control_loop(card: VirtualCard, pin: str | None) -> None:
    """stdin lines: ``insert FILE.json``, ``remove``, ``fault NAME``, ``fault none``.

    Each is acknowledged on stdout (``inserted FILE.json``, ``removed``, ``fault NAME``), so a
    test knows the card is in before it waits for pcscd to notice."""
    for raw in sys.stdin:
        words = raw.split(maxsplit=1)
        if not words:
            continue
        cmd, arg = words[0], (words[1].strip() if len(words) > 1 else "")
        try:
            if cmd == "insert":
                if card.insert(CardData.from_json(arg, pin)):
                    card.say(f"inserted {Path(arg).name}")
            elif cmd == "remove":
                card.remove(quiet=True)
                card.say("removed")
            elif cmd == "fault" and arg in FAULTS:
                card.fault = arg
                card.say(f"fault {arg}")
            else:
                print(f"sscard: unknown control line {raw.strip()!r}", file=sys.stderr, flush=True)
        except (OSError, ValueError, KeyError) as exc:
            print(f"sscard: {cmd} failed: {exc!r}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    host, _, port = args.vpcd.rpartition(":")
    card = VirtualCard(host or "127.0.0.1", int(port), trace=args.trace)
    card.fault = args.fault or "none"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.card:
        if not card.insert(CardData.from_json(args.card, args.pin)):
            return 4
    card.say(f"vpcd://{card.host}:{card.port}")
    try:
        _control_loop(card, args.pin)
        # stdin closed: keep serving until SIGTERM/SIGINT (simulator convention)
        threading.Event().wait()
    finally:
        card.remove(quiet=True)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("sscard", help="virtual social-security card for pcscd/vpcd")
    parser.add_argument("--card", help="card JSON (simulators/cards/ss_*.json); none = removed")
    parser.add_argument("--pin", help="override the card's PIN (digits)")
    parser.add_argument("--vpcd", default="127.0.0.1:35963", help="vpcd HOST:PORT")
    parser.add_argument("--fault", choices=FAULTS, help="pull_mid_read | slow")
    parser.add_argument("--trace", action="store_true",
                        help="print 'apdu CMD RESP' (hex) for every command served")
    parser.set_defaults(func=run)
