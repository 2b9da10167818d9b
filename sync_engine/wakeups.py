"""One pending wake-up per connection lane (or tenant fan-out): the only place that enqueues
sync tasks.

A wake-up asks a worker to look at a connection's queue — or, for a tenant, to fan its recorded
changes out to its connections and push them. Saves, the sweeper, retries after a backoff, a
busy org and the end of a governor pause all want one; without a rule they pile up (a slot
held by a dead process once produced ~200 broker messages in five minutes, a paused org ~70 in
fifteen). The rules:

- a lane (real-time, background, or a tenant's fan-out) has at most one wake-up pending;
  asking again while one is pending that runs as early or earlier sends nothing;
- asking for an earlier one than the pending one sends it (a user's change must not wait behind
  a retry scheduled minutes ahead);
- only short waits become broker messages with a countdown; a long wait (a governor pause, a
  busy org's backoff) is a row the sweeper turns into a message when it is due, so the broker
  never holds a pile of delayed tasks;
- while the governor pauses the org, nothing is sent before the pause ends — a save during a
  pause costs one row update, not a task;
- a message due more than `LOST_AFTER` ago that no task has consumed is taken as lost (it died
  with a worker) and is sent again: the outbox, not the broker, is the source of truth.

Tasks are sent by name (`send_task`), so this module never imports `sync_engine.tasks`: tasks
import services, services import this module, and nothing imports back.

With parallel sync on, a connection's background work has up to its concurrency cap of lanes
("default", "default:1", …), each with its own wake-up, so several workers push one org's run
at once (each claims its own batch); the cap on requests in flight is the governor's slots.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable

from celery import current_app
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from sync_engine.governor import get_governor
from sync_engine.models import Priority, WakeUp

logger = logging.getLogger(__name__)

REALTIME = "realtime"
BACKGROUND = "default"
FANOUT = "fanout"
# The real-time pull's contact roles of a connection, read together (sync_engine.pull.contact_roles).
ROLES = "roles"
LANES = (REALTIME, BACKGROUND)
# A sent task due this long ago that has not started is presumed lost.
LOST_AFTER = datetime.timedelta(seconds=30)
# Waits up to this long are broker countdowns; longer ones wait for the sweeper (every 15 s).
SHORT_WAIT_SECONDS = 10.0
# Busy-org backoff: 2 s, 4 s, 8 s … capped.
BUSY_BACKOFF_MAX_SECONDS = 60.0

# Which task serves a lane, and on which queue (decisions.md: real-time work has its own
# worker). Background sub-lanes ("default:2") share the background task and queue.
_TASKS = {REALTIME: ("sync_engine.push_realtime", REALTIME), BACKGROUND: ("sync_engine.push_background", BACKGROUND),
          FANOUT: ("sync_engine.fan_out", REALTIME), ROLES: ("sync_engine.pull.contact_roles", REALTIME)}


def lane_for(priority: int) -> str:
    return REALTIME if priority <= Priority.REALTIME else BACKGROUND


def background_lane(index: int) -> str:
    """The background lanes of one connection: "default", "default:1", … (parallel sync)."""
    return BACKGROUND if index == 0 else f"{BACKGROUND}:{index}"


def _base(lane: str) -> str:
    return lane.split(":", 1)[0]


def busy_backoff(misses: int) -> float:
    return min(BUSY_BACKOFF_MAX_SECONDS, 2.0 ** max(1, misses))


def wake(connection_id: int, lane: str, *, delay: float = 0.0, only_if_idle: bool = False) -> bool:
    """Ask for a worker to look at this lane of the connection in `delay` seconds. Returns
    whether a broker message was sent now. `only_if_idle`: do nothing while any wake-up of the
    lane is pending, however late (the sweeper: a backoff or a pause must not be cut short)."""
    key = _key(connection_id, lane)
    if only_if_idle and WakeUp.objects.filter(due_at__isnull=False, **key).exists():
        return False
    now = timezone.now()
    due = now + datetime.timedelta(seconds=max(0.0, delay))
    paused_until = _paused_until(connection_id)
    if paused_until is not None and paused_until > due:
        due = paused_until  # nothing can run before the pause ends (its own wake-up is pending)
    return _wake(key, due, now)


def wake_quietly(connection_ids: Iterable[int], priority: int, *, delay: float = 0.0, only_if_idle: bool = False) -> None:
    """`wake` for several connections where a failure must not fail the caller (a user's save,
    the sweeper): a database or broker hiccup is logged, and the sweeper wakes them later."""
    lane = lane_for(priority)
    for connection_id in sorted(set(connection_ids)):
        try:
            wake(connection_id, lane, delay=delay, only_if_idle=only_if_idle)
        except Exception:  # noqa: BLE001 - see the docstring
            logger.warning("Could not wake a worker for connection %s; the sweeper will", connection_id, exc_info=True)


def wake_on_commit(connection_ids: Iterable[int], priority: int) -> None:
    """Wake the connections once the caller's transaction commits (never for a rollback)."""
    ids = sorted(set(connection_ids))
    if ids:
        transaction.on_commit(lambda: wake_quietly(ids, priority))


def wake_fanout(tenant_id: int, *, only_if_idle: bool = False) -> bool:
    """Ask for a worker to fan the tenant's recorded changes out to its connections (and push
    the real-time ones). One pending per tenant: a burst of saves sends one message per turn."""
    key = _key(tenant_id, FANOUT)
    if only_if_idle and WakeUp.objects.filter(due_at__isnull=False, **key).exists():
        return False
    now = timezone.now()
    # During a burst every save finds the fan-out already pending: one plain read tells so,
    # without the locked read-modify-write of `_reserve` (a transaction and a row lock that the
    # saves of every client and the worker queue on). Unlocked is safe: a row seen pending was
    # not yet consumed when this save's change was already committed, so the task that
    # consumes it fans this change out too.
    if WakeUp.objects.filter(due_at__isnull=False, due_at__lte=now, **key).exclude(
            enqueued=True, due_at__lt=now - LOST_AFTER).exists():
        return False
    return _wake(key, now, now)


def wake_fanout_on_commit(tenant_id: int) -> None:
    def send() -> None:
        try:
            wake_fanout(tenant_id)
        except Exception:  # noqa: BLE001 - a database or broker hiccup must not fail the user's save
            logger.warning("Could not wake the fan-out of tenant %s; the sweeper will", tenant_id, exc_info=True)

    transaction.on_commit(send)


def _wake(key: dict, due: datetime.datetime, now: datetime.datetime) -> bool:
    send = (due - now).total_seconds() <= SHORT_WAIT_SECONDS
    if not _reserve(key, due, now, send):
        return False
    if send:
        _send(key["tenant_id"] if key["lane"] == FANOUT else key["connection_id"], key["lane"],
              max(0.0, (due - now).total_seconds()))
    return send


def _paused_until(connection_id: int) -> datetime.datetime | None:
    try:
        paused = get_governor().status(connection_id).paused_until
    except Exception:  # noqa: BLE001 - the governor's store being down must not block a save
        return None
    return datetime.datetime.fromtimestamp(paused, tz=datetime.timezone.utc) if paused else None


def _reserve(key: dict, due: datetime.datetime, now: datetime.datetime, send: bool) -> bool:
    """Record `due` as the lane's pending wake-up unless one as early is already pending."""
    for _ in range(3):
        with transaction.atomic():
            row = WakeUp.objects.select_for_update().filter(**key).first()
            if row is None:
                try:
                    with transaction.atomic():
                        WakeUp.objects.create(due_at=due, enqueued=send, **key)
                    return True
                except IntegrityError:
                    continue  # another process created it first: look again
            lost = row.enqueued and row.due_at is not None and row.due_at < now - LOST_AFTER
            if row.due_at is not None and not lost and row.due_at <= due:
                return False
            WakeUp.objects.filter(pk=row.pk).update(due_at=due, enqueued=send)
            return True
    return False


def _key(target: int, lane: str) -> dict:
    """A wake-up row's key: a connection's lane, or a tenant's fan-out."""
    return {"tenant_id": target, "connection_id": None, "lane": lane} if lane == FANOUT else {"connection_id": target, "lane": lane}


def _send(target: int, lane: str, countdown: float) -> None:
    """The one place a sync task is enqueued. `target`: the connection (the tenant for the
    fan-out lane)."""
    name, queue = _TASKS[_base(lane)]
    kwargs = {"lane": lane} if _base(lane) == BACKGROUND and lane != BACKGROUND else {}
    try:
        current_app.send_task(name, args=[target], kwargs=kwargs, queue=queue, countdown=countdown or None)
    except Exception:  # noqa: BLE001 - a broker hiccup must not fail the user's save
        # Leave it to the sweeper: the row goes back to "not sent yet, due now".
        WakeUp.objects.filter(**_key(target, lane)).update(enqueued=False)
        logger.warning("Could not enqueue %s for %s; the sweeper will retry", name, target, exc_info=True)


def send_named(name: str, *, args: list, queue: str, countdown: float | None = None) -> None:
    """Enqueue a sync task that has no wake-up row (the pull's tasks: an incremental pull, the
    processing of stored notifications, the org's Outbound Message setup; a quote's Send to
    Salesforce and its short retries), by name, so nothing in the sync engine imports the task
    modules. Raises what the broker raises: the caller decides whether its sweeper covers a lost
    message."""
    current_app.send_task(name, args=args, queue=queue, countdown=countdown)


def started(connection_id: int, lane: str) -> None:
    """A task of this lane is running: its wake-up is consumed (a later one, asked for after
    this task was sent, stays)."""
    WakeUp.objects.filter(connection_id=connection_id, lane=lane, due_at__lte=timezone.now()).update(due_at=None, enqueued=False)


def fanout_started(tenant_id: int) -> None:
    WakeUp.objects.filter(tenant_id=tenant_id, connection__isnull=True, lane=FANOUT,
                          due_at__lte=timezone.now()).update(due_at=None, enqueued=False)


def send_due() -> int:
    """The sweeper's part: send the wake-ups that are due but not sent (long waits), and again
    those whose message was lost. Returns how many were sent."""
    now = timezone.now()
    rows = list(WakeUp.objects.filter(due_at__lte=now).filter(Q(enqueued=False) | Q(due_at__lt=now - LOST_AFTER))
                .values_list("connection_id", "tenant_id", "lane"))
    sent = 0
    for connection_id, tenant_id, lane in rows:
        target = tenant_id if lane == FANOUT else connection_id
        # Conditional: two sweepers (or a save) racing send one message.
        updated = WakeUp.objects.filter(due_at__lte=now, **_key(target, lane)).filter(
            Q(enqueued=False) | Q(due_at__lt=now - LOST_AFTER)).update(enqueued=True, due_at=now)
        if updated:
            _send(target, lane, 0.0)
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
