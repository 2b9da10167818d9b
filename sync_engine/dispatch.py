"""Wake the workers after a commit. Thin: ids in, a wake-up out. The outbox, not the broker, is
the source of truth — if this enqueue is lost, the sweeper finds the rows."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction

from sync_engine import wakeups

logger = logging.getLogger(__name__)


def enqueue_push(connection_ids: Iterable[int], priority: int, *, delay: float = 0.0, only_if_idle: bool = False) -> None:
    """One pending wake-up per connection and lane (sync_engine.wakeups), never a pile."""
    lane = wakeups.lane_for(priority)
    for connection_id in connection_ids:
        try:
            wakeups.wake(connection_id, lane, delay=delay, only_if_idle=only_if_idle)
        except Exception:  # noqa: BLE001 - a database or broker hiccup must not fail the user's save
            logger.warning("Could not wake a worker for connection %s; the sweeper will", connection_id, exc_info=True)


def enqueue_on_commit(connection_ids: Iterable[int], priority: int) -> None:
    ids = sorted(set(connection_ids))
    if ids:
        transaction.on_commit(lambda: enqueue_push(ids, priority))
