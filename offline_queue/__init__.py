"""The terminal's outbox: transactions for central survive crashes and outages, sent once.

``Outbox`` stores (see ``offline_queue.outbox`` for what survives what), ``SyncWorker``
(``offline_queue.sync``) delivers. Imports neither Qt nor ``kiosk``. Wiring, in one place::

    outbox = Outbox(config.path("outbox", "path"),
                    key=load_or_create_key(config.path("outbox", "key_file")))
    worker = SyncWorker(outbox, central.upload_transactions,
                        unavailable=(CentralUnavailable, RateLimited, Unauthorized))
    worker.start()                      # thread; wakes on every put
    outbox.put("evaluation", {...})     # returns the idempotency key once committed
    ...
    worker.stop(); outbox.close()

A put raising ``OutboxFull``/``OutboxError`` means "this terminal cannot accept submissions
right now"; ``outbox.stats()`` feeds the heartbeat, ``dead_items()``/``retry_dead()`` the
technician screen. A damaged file raises ``OutboxDamaged`` (``offline_queue.damage``).
"""

from offline_queue.errors import (
    OutboxBusy,
    OutboxCorrupt,
    OutboxDamaged,
    OutboxError,
    OutboxFull,
    OutboxReadOnly,
    PayloadSealError,
    SyncLockHeld,
)
from offline_queue.outbox import STREAMS, Outbox

__all__ = ["STREAMS", "Outbox", "OutboxBusy", "OutboxCorrupt", "OutboxDamaged", "OutboxError", "OutboxFull",
           "OutboxReadOnly", "PayloadSealError", "SyncLockHeld"]
