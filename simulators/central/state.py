"""Everything the simulator remembers between requests; reset by ``POST /_admin/reset``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

DEFAULT_FAULTS: dict[str, Any] = {
    "latency": 0.0,          # seconds added before every /v1 answer
    "error_rate": 0.0,       # fraction of /v1 calls answered 500 (deterministic: every 1/rate-th)
    "down": False,           # whole platform answers 503
    "services_down": [],     # these service ids answer 503
    "rate_limited": False,   # every /v1 call answers 429 with Retry-After: 2
    "drop": False,           # close the connection without answering
}


@dataclass
class State:
    lock: threading.RLock = field(default_factory=threading.RLock)
    faults: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_FAULTS, services_down=[]))
    received: list[dict] = field(default_factory=list)
    transactions: dict[str, dict] = field(default_factory=dict)  # key -> transaction, first wins
    idempotent_replies: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    documents: dict[str, dict] = field(default_factory=dict)
    bookings: dict[str, int] = field(default_factory=dict)       # slot id -> booked count
    evaluations: list[dict] = field(default_factory=list)
    used_codes: set[str] = field(default_factory=set)  # nonces of phone codes honoured
    counter: int = 0
    calls: int = 0
    updates: dict[str, Any] = field(default_factory=lambda: {
        "software": {"version": "0.1.0", "channel": "stable"},
        "catalog": {"version": "2026.11.1"},
        "repository_url": None,
    })

    def next_number(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def reset(self) -> None:
        with self.lock:
            fresh = State()
            for name in ("faults", "received", "transactions", "idempotent_replies", "documents",
                         "bookings", "evaluations", "counter", "calls", "used_codes",
                         "updates"):
                setattr(self, name, getattr(fresh, name))
