"""Renew a worker's leases while it works.

Claims on outbox rows and the governor's request slot are leases with a short expiry, so a
worker that dies (`kill -9`, OOM, a lost machine) gives its rows and its slot back within about
a minute. A live worker keeps them with this heartbeat: a daemon thread that renews both every
third of the lease while a batch runs (a Bulk API job can take minutes).

The thread uses its own database connection and closes it when it stops. It is not started
when the caller is inside a transaction (unit tests wrap each test in one): rows claimed in an
uncommitted transaction are invisible to another connection — and on PostgreSQL its UPDATE
would wait on their row locks — so there is nothing a second connection could renew.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection as db, connections

logger = logging.getLogger(__name__)


def interval_seconds() -> float:
    return max(0.5, settings.COTHON_OUTBOX_LEASE_SECONDS / 3)


@contextmanager
def lease_heartbeat(renew: Callable[[], None], *, interval: float | None = None) -> Iterator[None]:
    """Call `renew()` every `interval` seconds in the background until the block ends."""
    if db.in_atomic_block:
        yield
        return
    stop = threading.Event()
    every = interval if interval is not None else interval_seconds()

    def beat() -> None:
        try:
            while not stop.wait(every):
                try:
                    renew()
                except Exception:  # noqa: BLE001 - a missed beat only shortens the lease
                    logger.warning("Lease renewal failed; retrying at the next beat", exc_info=True)
        finally:
            connections.close_all()

    thread = threading.Thread(target=beat, name="cothon-lease-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 30)
