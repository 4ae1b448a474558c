"""The terminal's outbox: transactions for central survive crashes and outages, sent once.

``Outbox`` stores (see ``offline_queue.outbox`` for what survives what), ``SyncWorker``
(``offline_queue.sync``) delivers. Imports neither Qt nor ``kiosk``.
"""

from offline_queue.errors import (
    OutboxBusy,
    OutboxCorrupt,
    OutboxError,
    OutboxFull,
    OutboxReadOnly,
    PayloadSealError,
    SyncLockHeld,
)
from offline_queue.outbox import STREAMS, Outbox

__all__ = ["STREAMS", "Outbox", "OutboxBusy", "OutboxCorrupt", "OutboxError", "OutboxFull",
           "OutboxReadOnly", "PayloadSealError", "SyncLockHeld"]
