"""The one call domain services make to record a change for the sync engine.

A leaf: it knows nothing of connections (nothing of `integrations/`). `record_change` writes a
tenant-level `ChangeRecord` inside the caller's transaction — the change and its record commit
(or roll back) together, so nothing is lost between "saved in Cothon" and "queued for
Salesforce" — and, once the transaction commits, wakes the tenant's fan-out. `record_changes`
does the same for many records at once (one INSERT, one wake-up). The worker
(`sync_engine.fanout`) then writes one outbox row per target connection and pushes the
real-time ones.

`upsert_pending` is the outbox's merge rule, shared by the fan-out and the manual record sync.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from sync_engine import wakeups
from sync_engine.models import ChangeRecord, OutboxEntry, OutboxState
from sync_engine.vocabulary import Event, Origin, Priority, RecordType


def record_change(
    *,
    tenant,
    record_type: str,
    record_id: int,
    event: str,
    changed_fields: Iterable[str] = (),
    priority: int = Priority.REALTIME,
    origin: str = Origin.COTHON,
    origin_connection_id: int | None = None,
) -> ChangeRecord:
    """Record that a local record changed; the worker fans it out to the tenant's connections.

    A change applied from Salesforce (`origin=Origin.SALESFORCE`) is never sent back to the
    connection it came from (`origin_connection_id`); other push-enabled orgs still get it.
    Unknown record types, events or origins are refused (ValueError): they are stored values."""
    change = ChangeRecord.objects.create(
        tenant_id=tenant.pk, record_type=RecordType(record_type), record_id=record_id, event=Event(event),
        fields=sorted(set(changed_fields)), origin=Origin(origin), priority=Priority(priority),
        origin_connection_id=origin_connection_id if origin == Origin.SALESFORCE else None)
    wakeups.wake_fanout_on_commit(tenant.pk)
    return change


@dataclass(frozen=True)
class Change:
    """One change for `record_changes` (the arguments of `record_change` that vary per record)."""

    record_type: str
    record_id: int
    event: str
    changed_fields: Iterable[str] = ()


def record_changes(*, tenant, changes: Sequence[Change], priority: int = Priority.REALTIME, origin: str = Origin.COTHON,
                   origin_connection_id: int | None = None) -> int:
    """`record_change` for many records of one tenant in one INSERT and one wake-up (a pulled
    page of thousands of records). Same rules: inside the caller's transaction, unknown values
    refused, a Salesforce change never sent back to its own connection. Returns how many."""
    if not changes:
        return 0
    source = Origin(origin)
    rows = [ChangeRecord(tenant_id=tenant.pk, record_type=RecordType(c.record_type), record_id=c.record_id,
                         event=Event(c.event), fields=sorted(set(c.changed_fields)), origin=source,
                         priority=Priority(priority),
                         origin_connection_id=origin_connection_id if source == Origin.SALESFORCE else None)
            for c in changes]
    ChangeRecord.objects.bulk_create(rows, batch_size=1000)
    wakeups.wake_fanout_on_commit(tenant.pk)
    return len(rows)


def merge_event(current: str, new: str) -> str:
    """The event a pending row keeps when a change merges into it: `deleted` beats everything,
    `created` stays `created` until pushed, otherwise the latest."""
    if new == Event.DELETED or current != Event.CREATED:
        return new
    return current


def upsert_pending(connection, record_type: str, record_id: int, event: str, fields: Iterable[str], priority: int,
                   now: datetime.datetime) -> OutboxEntry:
    """The pending row of (connection, record), created or merged (fields united, the higher
    priority kept, due now). Call inside a transaction."""
    lookup = dict(connection=connection, record_type=record_type, record_id=record_id, state=OutboxState.PENDING)
    for _ in range(3):
        entry = OutboxEntry.objects.select_for_update().filter(**lookup).first()
        if entry is not None:
            entry.changed_fields = sorted(set(entry.changed_fields) | set(fields))
            entry.priority = min(entry.priority, priority)
            entry.event = merge_event(entry.event, event)
            entry.available_at = min(entry.available_at, now)
            entry.save(update_fields=["changed_fields", "priority", "event", "available_at", "updated_at"])
            return entry
        try:
            with transaction.atomic():
                return OutboxEntry.objects.create(
                    tenant_id=connection.tenant_id, changed_fields=sorted(set(fields)), event=event, priority=priority, available_at=now, **lookup
                )
        except IntegrityError:
            continue  # another transaction inserted the pending row first: merge into it
    raise RuntimeError("Could not record the change in the outbox after 3 attempts")
