"""Wake the workers after a commit. Thin: ids in, a task out. The outbox, not the broker, is
the source of truth — if this enqueue is lost, the sweeper finds the rows."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction

from sync_engine.models import Priority

logger = logging.getLogger(__name__)
REALTIME_QUEUE = "realtime"
BACKGROUND_QUEUE = "default"


def enqueue_push(connection_ids: Iterable[int], priority: int, *, run_id: int | None = None) -> None:
    from sync_engine import tasks

    for connection_id in connection_ids:
        try:
            if priority <= Priority.REALTIME:
                tasks.push_realtime.apply_async(args=[connection_id], queue=REALTIME_QUEUE)
            else:
                tasks.push_background.apply_async(args=[connection_id, run_id], queue=BACKGROUND_QUEUE)
        except Exception:  # noqa: BLE001 - a broker hiccup must not fail the user's save
            logger.warning("Could not enqueue a push for connection %s; the sweeper will pick it up", connection_id, exc_info=True)


def enqueue_on_commit(connection_ids: Iterable[int], priority: int, *, run_id: int | None = None) -> None:
    ids = sorted(set(connection_ids))
    if ids:
        transaction.on_commit(lambda: enqueue_push(ids, priority, run_id=run_id))
