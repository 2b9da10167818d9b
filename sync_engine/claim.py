"""The outbox as a queue: claim with a lease, release with backoff, finish.

Portable claim (decisions.md): a conditional UPDATE that sets a lease (owner + expiry), so the
rows of a killed worker come back when the lease expires. On PostgreSQL the candidate rows are
first locked with SELECT … FOR UPDATE SKIP LOCKED, so concurrent workers never wait on each
other; SQLite serialises writers (IMMEDIATE transactions), which gives the same guarantee.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable

from django.conf import settings
from django.db import connection as db, transaction
from django.utils import timezone

from cothon.bulk import ids_in
from sync_engine.models import LinkStatus, OutboxEntry, OutboxState, Priority, SyncLink
from sync_engine.vocabulary import Event, RecordType

def lease() -> datetime.timedelta:
    """How long a claim holds before the sweeper may hand the rows to another worker."""
    return datetime.timedelta(seconds=settings.COTHON_OUTBOX_LEASE_SECONDS)

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 15 * 60


def backoff(attempts: int) -> datetime.timedelta:
    """Exponential backoff with full jitter: 2 s, 4 s, 8 s … capped at 15 min."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * (2 ** max(0, attempts - 1)))
    return datetime.timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def claim(*, connection_id: int, owner: str, limit: int, max_priority: int | None = None,
          sobject_of: Callable[[str], str] | None = None) -> list[OutboxEntry]:
    """Lease up to `limit` pending rows of the connection to `owner` (see the module docstring).
    `sobject_of` (record type → its Salesforce object, the connection's settings) lets a child
    whose parent already has its Salesforce Id go while that parent is being re-pushed."""
    now = timezone.now()
    with transaction.atomic():
        candidates = OutboxEntry.objects.filter(connection_id=connection_id, state=OutboxState.PENDING, available_at__lte=now)
        if max_priority is not None:
            candidates = candidates.filter(priority__lte=max_priority)
        candidates = candidates.order_by("priority", "id")
        first = candidates.values_list("priority", "record_type").first()
        if first is None:
            return []
        if first[0] <= Priority.REALTIME:
            # Manual and real-time work goes out on its own, never in one batch with background
            # rows (after a pause the queue holds both; the user's change must not wait).
            candidates = candidates.filter(priority__lte=Priority.REALTIME)
        else:
            # Background runs: one record type per batch, so every batch is full collections
            # of one object (≤200 records a call) instead of a few calls split at type borders.
            candidates = _parents_landed(candidates.filter(priority=first[0], record_type=first[1]),
                                         connection_id, first[0], first[1], now, sobject_of)
            if candidates is None:
                return []
        if db.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        # Whole rows, locked (PostgreSQL) or alone to write (SQLite): the claim sets them in
        # memory too instead of reading them back.
        entries = list(candidates[:limit])
        if not entries:
            return []
        ids = [e.id for e in entries]
        taken = OutboxEntry.objects.filter(ids_in("id", ids), state=OutboxState.PENDING).update(
            state=OutboxState.CLAIMED, lease_owner=owner, lease_expires_at=now + lease(), updated_at=now)
    if taken != len(entries):
        # Some rows were not pending any more (a backend without row locks): ours are the rest.
        return list(OutboxEntry.objects.filter(ids_in("id", ids), state=OutboxState.CLAIMED, lease_owner=owner).order_by("priority", "id"))
    for entry in entries:
        entry.state, entry.lease_owner, entry.lease_expires_at, entry.updated_at = OutboxState.CLAIMED, owner, now + lease(), now
    return entries


# Parents before children (the executor's order): a background batch of a type waits while a
# batch of an earlier type of the same run is in flight — or, for a type whose handler names its
# parent, only while that row's own parent is.
TYPE_ORDER = (RecordType.DEPARTMENT, RecordType.CONTACT, RecordType.OPPORTUNITY, RecordType.ANALYSIS,
              RecordType.REQUIREMENT, RecordType.COMMENT, RecordType.PROPOSAL, RecordType.QUOTE, RecordType.APPOINTMENT)


def _parents_landed(candidates, connection_id: int, priority: int, record_type: str, now: datetime.datetime,
                    sobject_of: Callable[[str], str] | None = None):
    """The candidate rows whose parents are not being written right now (None: none can go).

    With parallel sync another lane may still be writing parents (the last analyses, say):
    children claimed now would only fail and back off. Rows whose own parent is in a batch in
    flight wait; the others go, so a lane finishing its part of one record type starts on the
    next instead of idling until the other lanes' last batches of the type land.

    A parent whose link already holds its Salesforce Id (a re-sync of linked records) does not
    hold its children back: its push updates that record by Id, which keeps the Id the child
    needs, so parent and children go out side by side — a full run of linked records has no
    barrier between its record types. (A link deleted in Salesforce still waits.)"""
    from sync_engine.handlers.registry import handler_for

    in_flight = OutboxEntry.objects.filter(connection_id=connection_id, state=OutboxState.CLAIMED, priority=priority,
                                           lease_expires_at__gt=now)
    handler = handler_for(record_type)
    if handler is None or handler.parent is None:
        earlier = TYPE_ORDER[:TYPE_ORDER.index(record_type)] if record_type in TYPE_ORDER else TYPE_ORDER
        return None if in_flight.filter(record_type__in=earlier).exists() else candidates
    parent_type, model, field = handler.parent
    parents = in_flight.filter(record_type=parent_type)
    parent_sobject = sobject_of(parent_type) if sobject_of is not None else ""
    if parent_sobject:
        parents = parents.exclude(record_id__in=SyncLink.objects.filter(
            connection_id=connection_id, record_type=parent_type, sobject=parent_sobject).exclude(salesforce_id="").exclude(
            status=LinkStatus.DELETED_IN_SALESFORCE).values("record_id"))
    return candidates.exclude(record_id__in=model.objects.filter(**{f"{field}__in": parents.values("record_id")}).values("pk"))


def renew(*, owner: str, ids: list[int]) -> int:
    """The heartbeat of a live worker: its claims stay its own for another lease. A dead
    worker renews nothing, so its rows come back within one lease (≈ a minute)."""
    if not ids:
        return 0
    return OutboxEntry.objects.filter(id__in=ids, state=OutboxState.CLAIMED, lease_owner=owner).update(
        lease_expires_at=timezone.now() + lease())


def finish(entries: list[OutboxEntry]) -> None:
    """Pushed: the sync log keeps the history, the queue forgets the row. One DELETE statement:
    nothing refers to a queue row and no signal listens, so Django's delete() (which wraps it in
    a transaction: two more round trips every batch) has nothing to collect."""
    if entries:
        rows = OutboxEntry.objects.filter(ids_in("id", [e.id for e in entries]), state=OutboxState.CLAIMED)
        rows._raw_delete(rows.db)


def fail(entries: list[OutboxEntry]) -> None:
    """A permanent error: kept as failed until the record or the mapping changes."""
    OutboxEntry.objects.filter(id__in=[e.id for e in entries]).update(state=OutboxState.FAILED, lease_owner="",
                                                                      lease_expires_at=None, updated_at=timezone.now())


def release(entries: list[OutboxEntry], *, delay: datetime.timedelta | None = None, count_attempt: bool = True) -> None:
    """Back to pending (after a retryable error or a governor pause). If the record changed
    meanwhile (a newer pending row exists), the two rows merge so nothing is pushed twice."""
    now = timezone.now()
    for entry in entries:
        available = now + (delay if delay is not None else backoff(entry.attempts + 1))
        with transaction.atomic():
            newer = OutboxEntry.objects.select_for_update().filter(
                connection_id=entry.connection_id, record_type=entry.record_type, record_id=entry.record_id,
                state=OutboxState.PENDING).first()
            if newer is not None:
                newer.changed_fields = sorted(set(newer.changed_fields) | set(entry.changed_fields))
                newer.priority = min(newer.priority, entry.priority)
                newer.attempts = max(newer.attempts, entry.attempts + (1 if count_attempt else 0))
                if entry.event == Event.CREATED:
                    newer.event = Event.CREATED
                newer.run_id = newer.run_id or entry.run_id
                newer.save()
                OutboxEntry.objects.filter(pk=entry.pk).delete()
            else:
                OutboxEntry.objects.filter(pk=entry.pk).update(
                    state=OutboxState.PENDING, available_at=available, lease_owner="", lease_expires_at=None,
                    attempts=entry.attempts + (1 if count_attempt else 0), updated_at=now)


def reclaim_expired() -> int:
    """The sweeper: rows whose worker died mid-batch come back to the queue, at once. The
    attempt counts: the dead worker's write may have landed, so the row goes out again as a
    retry (the push reads the fields a later Salesforce edit may have changed before sending)."""
    expired = list(OutboxEntry.objects.filter(state=OutboxState.CLAIMED, lease_expires_at__lt=timezone.now()))
    release(expired, delay=datetime.timedelta(0))
    return len(expired)
