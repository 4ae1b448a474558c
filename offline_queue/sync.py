"""The sync worker: drains the outbox to central in ordered batches, patiently.

* Batches of up to ``batch_size``, filled in stream priority order; within a stream, item
  n+1 is never in an earlier request than item n, never sent while n waits for a retry,
  and a batch lists items in put order (central applies a batch in list order).
* ``upload`` raising one of ``unavailable`` means "central is down": nothing is counted
  against the items, the circuit breaker opens after ``failure_threshold`` such failures
  in a row and keeps it open for an exponentially growing, jittered cool-down; then one
  single-item probe decides whether to close it. A thread waits on an Event meanwhile:
  no busy loop, and ``stop()`` is instant. The wiring puts an answer that is not central's
  among them (the client's BadResponse: a redirect, HTML, garbage, a reply of the wrong
  shape); a reply that is malformed here, or silent about an item, counts the same way:
  nothing is delivered unless central itself acknowledged it, and no item dies of it.
* Only central's own verdict on an item kills it: a rejected item (in the reply's
  ``rejected`` list) goes ``dead`` with the reason; the rest of the batch goes on. Any
  other failure of the upload call (a bug, a batch-level 4xx) counts one attempt; such
  items are retried alone with back-off and go ``dead`` after ``max_attempts`` — but once
  one died of a failure, the same failure on the next item is taken for a systemic fault
  (central down, wrong key) and kills nothing more until a batch succeeds. Undecryptable
  payloads go ``dead`` at once.
* ``in_flight`` rows a crashed worker left behind are sent again when a worker takes the
  drain lock; central deduplicates by idempotency key.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from offline_queue.errors import PayloadSealError, SyncLockHeld
from offline_queue.outbox import Claimed, Outbox, iso_utc

log = logging.getLogger(__name__)

# Sends one batch of {"key", "stream", "created_at", "payload"} transactions; central's reply
# {"accepted": [key, …], "rejected": [{"key": …, "reason": …}, …]} is checked, not trusted.
Upload = Callable[[list[dict[str, object]]], dict[str, object]]


def backoff_delay(failures: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential back-off with "equal jitter": half fixed, half random, never near zero."""
    ceiling = min(cap, base * (2 ** max(0, failures - 1)))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


class CircuitBreaker:
    """Closed → (threshold failures) → open for a cool-down → half-open probe → closed."""

    def __init__(self, threshold: int, base: float, cap: float, rng: random.Random):
        self.threshold, self.base, self.cap, self._rng = threshold, base, cap, rng
        self.failures = 0
        self.opened_until = 0.0

    @property
    def state(self) -> str:
        if self.failures < self.threshold:
            return "closed"
        return "open" if time.monotonic() < self.opened_until else "half_open"

    def remaining(self) -> float:
        return max(0.0, self.opened_until - time.monotonic())

    def success(self) -> None:
        if self.failures >= self.threshold:
            log.info("central reachable again; circuit closed")
        self.failures = 0
        self.opened_until = 0.0

    def failure(self) -> float:
        """Record one "central unavailable"; returns how long to wait before the next try."""
        self.failures += 1
        if self.failures < self.threshold:
            return backoff_delay(self.failures, self.base, self.cap, self._rng)
        delay = backoff_delay(self.failures - self.threshold + 1, self.base, self.cap, self._rng)
        self.opened_until = time.monotonic() + delay
        if self.failures == self.threshold:
            log.warning("central unavailable %d times in a row; circuit open", self.failures)
        return delay


@dataclass
class SyncReport:
    """What one ``sync_once`` did; ``unavailable`` means central could not be reached."""

    batches: int = 0
    sent: int = 0
    dead: int = 0
    retried: int = 0
    unavailable: bool = False
    circuit: str = "closed"
    errors: list[str] = field(default_factory=list)


class SyncWorker:
    """Uploads ready transactions through ``upload``; ``sync_once()`` or a thread."""

    def __init__(self, outbox: Outbox, upload: Upload, *, batch_size: int = 200,
                 max_attempts: int = 8, unavailable: tuple[type[BaseException], ...] = (ConnectionError,),
                 failure_threshold: int = 3, backoff_base: float = 0.5, backoff_cap: float = 300.0,
                 idle_poll: float = 30.0, sent_retention: float = 86400.0,
                 rng: random.Random | None = None):
        if batch_size < 1 or max_attempts < 1:
            raise ValueError("batch_size and max_attempts must be at least 1")
        self.outbox, self.upload = outbox, upload
        self.batch_size, self.max_attempts = batch_size, max_attempts
        self.unavailable = unavailable
        self.backoff_base, self.backoff_cap, self.idle_poll = backoff_base, backoff_cap, idle_poll
        self.sent_retention = sent_retention  # tombstones kept this long (local dedup of re-puts)
        self._rng = rng or random.Random()
        self.breaker = CircuitBreaker(failure_threshold, backoff_base, backoff_cap, self._rng)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._retry_at = 0.0  # monotonic; before this, a closed circuit still waits (back-off)
        self._interrupted = False  # a batch is claimed but its outcome not yet recorded
        self._killer: str | None = None  # failure kind that last sent an item to dead

    # -- one pass --------------------------------------------------------------------------

    def sync_once(self, *, force: bool = False) -> SyncReport:
        """Upload everything due now, batch after batch, until nothing is due or central fails.

        ``force`` ignores the circuit breaker and per-item back-off (a technician's flush).
        Takes the outbox's drain lock for the duration (SyncLockHeld if another worker has it).
        """
        report = SyncReport()
        held = self.outbox.holds_sync_lock
        if not held:
            self.outbox.acquire_sync_lock()
        try:
            if self._interrupted:  # an earlier pass died between claim and settle
                self.outbox.recover_in_flight()
                self._interrupted = False
            while not self._stop.is_set():
                state = self.breaker.state
                if not force and (state == "open" or time.monotonic() < self._retry_at):
                    report.unavailable = state == "open"
                    break
                limit = 1 if state == "half_open" and not force else self.batch_size
                batch = self.outbox.claim(limit, force=force)
                if not batch:
                    break
                report.batches += 1
                self._interrupted = True
                delivered = self._deliver(batch, report)
                self._interrupted = False
                if not delivered:
                    break
        finally:
            if not held:
                self.outbox.release_sync_lock()
        report.circuit = self.breaker.state
        return report

    def _deliver(self, batch: list[Claimed], report: SyncReport) -> bool:
        """Upload one claimed batch and record the outcome; False when central is down."""
        transactions: list[dict[str, object]] = []
        keys: list[str] = []
        unreadable: dict[str, str] = {}
        for item in batch:
            try:
                transactions.append({"key": item.key, "stream": item.stream,
                                     "created_at": iso_utc(item.created_at),
                                     "payload": self.outbox.open_payload(item)})
            except PayloadSealError as exc:
                unreadable[item.key] = str(exc)
            else:
                keys.append(item.key)
        if unreadable:
            report.dead += self.outbox.mark_dead(unreadable)
            log.error("%d transactions cannot be decrypted; moved to dead", len(unreadable))
        if not transactions:
            return True
        try:
            reply = self.upload(transactions)
        except self.unavailable as exc:
            return self._unavailable(keys, f"{type(exc).__name__}: {exc}", report,
                                     float(getattr(exc, "retry_after", None) or 0))
        except Exception as exc:  # noqa: BLE001 — foreign callable; the worker must survive it
            log.exception("upload of %d transactions failed", len(keys))
            return self._failed(batch, keys, f"{type(exc).__name__}: {exc}", report)
        accepted, rejected, problem = _parse_reply(reply, set(keys))
        if problem:  # not an answer about these transactions: none of them is delivered
            log.warning("central reply unusable: %s", problem)
            return self._unavailable(keys, f"reply unusable: {problem}", report)
        self.breaker.success()
        self._retry_at = 0.0
        self._killer = None
        report.sent += self.outbox.mark_sent(accepted)
        if rejected:
            report.dead += self.outbox.mark_dead(rejected)
            log.warning("central rejected %d transactions; moved to dead", len(rejected))
        missing = [k for k in keys if k not in accepted and k not in rejected]
        if missing:  # central has not acknowledged them: they wait, uncounted, like in an outage
            return self._unavailable(missing, f"central's reply did not mention {len(missing)} "
                                     "of the transactions sent", report)
        return True

    def _unavailable(self, keys: list[str], reason: str, report: SyncReport,
                     retry_after: float = 0.0) -> bool:
        """Central did not take these: back to ready, no attempt counted, the breaker told."""
        self.outbox.release(keys, next_attempt_at=time.time(), count_attempt=False)
        delay = max(self.breaker.failure(), retry_after)
        self._retry_at = time.monotonic() + delay
        report.unavailable = True
        report.errors.append(f"central unavailable: {reason}")
        log.info("central unavailable (%s); next try in %.1fs", reason, delay)
        return False

    def _failed(self, batch: list[Claimed], keys: list[str], reason: str, report: SyncReport) -> bool:
        """A failure that may be the item's fault: count it, back off, kill a lone repeat offender.

        If a *different* transaction fails the same way right after one was killed for it,
        with no success in between, the cause is central or our configuration (a wrong
        terminal key, a proxy answering HTML), not the data: treat it as "central down" so
        residents' submissions are not killed one after another. Returns False to end the pass.
        """
        report.errors.append(reason)
        kind = reason.split(":", 1)[0]
        if self._killer == kind:
            log.error("upload keeps failing with %s for different transactions; treating central "
                      "as unavailable", kind)
            return self._unavailable(keys, reason, report)
        if len(batch) == 1 and batch[0].attempts + 1 >= self.max_attempts:
            report.dead += self.outbox.mark_dead(
                {batch[0].key: f"gave up after {batch[0].attempts + 1} attempts: {reason}"})
            self._killer = kind
            return True
        attempts = max(b.attempts for b in batch) + 1
        delay = backoff_delay(attempts, self.backoff_base, self.backoff_cap, self._rng)
        report.retried += self.outbox.release(keys, next_attempt_at=time.time() + delay,
                                              count_attempt=True)
        return True

    # -- thread mode -----------------------------------------------------------------------

    def start(self) -> None:
        """Drain in a background thread until ``stop()``; wakes up on every put."""
        if self._thread is not None:
            return
        try:
            self.outbox.acquire_sync_lock()
        except SyncLockHeld as exc:  # e.g. a technician's `kiosk queue sync`; the thread waits
            log.warning("%s; the sync thread will wait for it", exc)
        self._stop.clear()
        self.outbox.add_listener(self._wake.set)
        self._thread = threading.Thread(target=self._run, name="outbox-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop at once (an upload in progress finishes first) and free the drain lock."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.outbox.release_sync_lock()

    def wake(self) -> None:
        self._wake.set()

    @property
    def thread_ident(self) -> int | None:
        return self._thread.ident if self._thread else None

    def _run(self) -> None:
        next_prune = time.monotonic() + 60
        while not self._stop.is_set():
            try:
                if not self.outbox.holds_sync_lock:
                    self.outbox.acquire_sync_lock()
                report = self.sync_once()
                if time.monotonic() >= next_prune:
                    self.outbox.prune_sent(self.sent_retention)
                    next_prune = time.monotonic() + 3600
                delay = self._next_delay(report)
            except SyncLockHeld:
                delay = min(self.idle_poll, 5.0)
            except Exception:  # noqa: BLE001 — e.g. disk error; log, wait, never die
                log.exception("outbox sync pass failed")
                delay = self.idle_poll
            self._wake.wait(delay)
            self._wake.clear()

    def _next_delay(self, report: SyncReport) -> float:
        if self.breaker.state == "open":
            return self.breaker.remaining()
        wait_backoff = self._retry_at - time.monotonic()
        if wait_backoff > 0:
            return wait_backoff
        due = self.outbox.next_due()
        if due is None:
            return self.idle_poll
        return min(self.idle_poll, max(0.05, due - time.time()))


def _parse_reply(reply: object, keys: set[str]) -> tuple[set[str], dict[str, str], str | None]:
    """Accepted keys and rejection reasons for OUR keys; a malformed reply accepts nothing."""
    if not isinstance(reply, dict):
        return set(), {}, f"reply is {type(reply).__name__}, not an object"
    accepted_raw, rejected_raw = reply.get("accepted", []), reply.get("rejected", [])
    if not isinstance(accepted_raw, list) or not isinstance(rejected_raw, list):
        return set(), {}, "reply's accepted/rejected are not lists"
    accepted = {k for k in accepted_raw if isinstance(k, str) and k in keys}
    rejected: dict[str, str] = {}
    for entry in rejected_raw:
        if isinstance(entry, dict) and entry.get("key") in keys and entry["key"] not in accepted:
            rejected[entry["key"]] = str(entry.get("reason") or "rejected by central")
    stray = len(accepted_raw) + len(rejected_raw) - len(accepted) - len(rejected)
    if stray:
        log.warning("central's reply names %d keys that were not in the batch", stray)
    return accepted, rejected, None
