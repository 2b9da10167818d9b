"""One pending wake-up per connection and lane: the only way push tasks are enqueued.

A wake-up asks a worker to look at a connection's queue. Saves, the sweeper, retries after a
backoff, a busy org and the end of a governor pause all want one; without a rule they pile up
(a slot held by a dead process once produced ~200 broker messages in five minutes, a paused org
~70 in fifteen). The rules:

- a lane (real-time or background) of a connection has at most one wake-up pending; asking
  again while one is pending that runs as early or earlier sends nothing;
- asking for an earlier one than the pending one sends it (a user's change must not wait behind
  a retry scheduled minutes ahead);
- only short waits become broker messages with a countdown; a long wait (a governor pause, a
  busy org's backoff) is a row the sweeper turns into a message when it is due, so the broker
  never holds a pile of delayed tasks;
- while the governor pauses the org, nothing is sent before the pause ends — a save during a
  pause costs one row update, not a task;
- a message due more than `LOST_AFTER` ago that no task has consumed is taken as lost (it died
  with a worker) and is sent again: the outbox, not the broker, is the source of truth.

The row lives in the database on both stacks: every process shares it, and its cost is one
small write per wake-up, never per record.
"""

from __future__ import annotations

import datetime
import logging

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from sync_engine.models import Priority, WakeUp

logger = logging.getLogger(__name__)

REALTIME = "realtime"
BACKGROUND = "default"
LANES = (REALTIME, BACKGROUND)
# A sent task due this long ago that has not started is presumed lost.
LOST_AFTER = datetime.timedelta(seconds=30)
# Waits up to this long are broker countdowns; longer ones wait for the sweeper (every 15 s).
SHORT_WAIT_SECONDS = 10.0
# Busy-org backoff: 2 s, 4 s, 8 s … capped.
BUSY_BACKOFF_MAX_SECONDS = 60.0


def lane_for(priority: int) -> str:
    return REALTIME if priority <= Priority.REALTIME else BACKGROUND


def busy_backoff(misses: int) -> float:
    return min(BUSY_BACKOFF_MAX_SECONDS, 2.0 ** max(1, misses))


def wake(connection_id: int, lane: str, *, delay: float = 0.0, only_if_idle: bool = False) -> bool:
    """Ask for a worker to look at this lane of the connection in `delay` seconds. Returns
    whether a broker message was sent now. `only_if_idle`: do nothing while any wake-up of the
    lane is pending, however late (the sweeper: a backoff or a pause must not be cut short)."""
    now = timezone.now()
    if only_if_idle and WakeUp.objects.filter(connection_id=connection_id, lane=lane, due_at__isnull=False).exists():
        return False
    due = now + datetime.timedelta(seconds=max(0.0, delay))
    paused_until = _paused_until(connection_id)
    if paused_until is not None and paused_until > due:
        due = paused_until  # nothing can run before the pause ends (its own wake-up is pending)
    send = (due - now).total_seconds() <= SHORT_WAIT_SECONDS
    if not _reserve(connection_id, lane, due, now, send):
        return False
    if send:
        _send(connection_id, lane, max(0.0, (due - now).total_seconds()))
    return send


def _paused_until(connection_id: int) -> datetime.datetime | None:
    from sync_engine.governor import get_governor

    try:
        paused = get_governor().status(connection_id).paused_until
    except Exception:  # noqa: BLE001 - the governor's store being down must not block a save
        return None
    return datetime.datetime.fromtimestamp(paused, tz=datetime.timezone.utc) if paused else None


def _reserve(connection_id: int, lane: str, due: datetime.datetime, now: datetime.datetime, send: bool) -> bool:
    """Record `due` as the lane's pending wake-up unless one as early is already pending."""
    for _ in range(3):
        with transaction.atomic():
            row = WakeUp.objects.select_for_update().filter(connection_id=connection_id, lane=lane).first()
            if row is None:
                try:
                    with transaction.atomic():
                        WakeUp.objects.create(connection_id=connection_id, lane=lane, due_at=due, enqueued=send)
                    return True
                except IntegrityError:
                    continue  # another process created it first: look again
            lost = row.enqueued and row.due_at is not None and row.due_at < now - LOST_AFTER
            if row.due_at is not None and not lost and row.due_at <= due:
                return False
            WakeUp.objects.filter(pk=row.pk).update(due_at=due, enqueued=send)
            return True
    return False


def _send(connection_id: int, lane: str, countdown: float) -> None:
    from sync_engine import tasks

    try:
        if lane == REALTIME:
            tasks.push_realtime.apply_async(args=[connection_id], queue=REALTIME, countdown=countdown or None)
        else:
            tasks.push_background.apply_async(args=[connection_id], queue=BACKGROUND, countdown=countdown or None)
    except Exception:  # noqa: BLE001 - a broker hiccup must not fail the user's save
        # Leave it to the sweeper: the row goes back to "not sent yet, due now".
        WakeUp.objects.filter(connection_id=connection_id, lane=lane).update(enqueued=False)
        logger.warning("Could not enqueue a push for connection %s; the sweeper will retry", connection_id, exc_info=True)


def started(connection_id: int, lane: str) -> None:
    """A task of this lane is running: its wake-up is consumed (a later one, asked for after
    this task was sent, stays)."""
    WakeUp.objects.filter(connection_id=connection_id, lane=lane, due_at__lte=timezone.now()).update(due_at=None, enqueued=False)


def send_due() -> int:
    """The sweeper's part: send the wake-ups that are due but not sent (long waits), and again
    those whose message was lost. Returns how many were sent."""
    now = timezone.now()
    rows = list(WakeUp.objects.filter(due_at__lte=now).filter(Q(enqueued=False) | Q(due_at__lt=now - LOST_AFTER))
                .values_list("connection_id", "lane"))
    sent = 0
    for connection_id, lane in rows:
        # Conditional: two sweepers (or a save) racing send one message.
        updated = WakeUp.objects.filter(connection_id=connection_id, lane=lane, due_at__lte=now).filter(
            Q(enqueued=False) | Q(due_at__lt=now - LOST_AFTER)).update(enqueued=True, due_at=now)
        if updated:
            _send(connection_id, lane, 0.0)
            sent += 1
    return sent


def note_busy(connection_id: int, lane: str) -> float:
    """The org's request slots were all held: back off a little more each time. Returns the delay."""
    with transaction.atomic():
        row, _ = WakeUp.objects.select_for_update().get_or_create(connection_id=connection_id, lane=lane)
        misses = row.misses + 1
        WakeUp.objects.filter(pk=row.pk).update(misses=misses)
    return busy_backoff(misses)


def note_progress(connection_id: int, lane: str) -> None:
    WakeUp.objects.filter(connection_id=connection_id, lane=lane, misses__gt=0).update(misses=0)


def pending(connection_id: int) -> dict[str, datetime.datetime]:
    return dict(WakeUp.objects.filter(connection_id=connection_id, due_at__isnull=False).values_list("lane", "due_at"))
