"""The one call domain services make to record a change for the sync engine.

A narrow module: it reads the tenant's connections and writes outbox rows, and wakes the
workers after commit (sync_engine.dispatch). It runs inside the caller's transaction, so the
change and its outbox row commit (or roll back) together — nothing is lost between "saved in
Cothon" and "queued for Salesforce".
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from cothon.models import Tenant
from integrations.models import ConnectionStatus, SalesforceConnection
from sync_engine.dispatch import enqueue_on_commit
from sync_engine.models import OutboxEntry, OutboxState
from sync_engine.vocabulary import Event, Origin, Priority

# Connections that accept pushes. A disconnected org stops syncing; one that needs a reconnect
# keeps its queue so nothing is lost while an admin fixes it.
_ACTIVE_STATUSES = (ConnectionStatus.CONNECTED, ConnectionStatus.NEEDS_RECONNECT)


def push_targets(*, tenant: Tenant) -> list[SalesforceConnection]:
    """The default connection, plus any other connection where push is switched on."""
    return list(
        SalesforceConnection.objects.filter(tenant=tenant, status__in=_ACTIVE_STATUSES).filter(
            Q(is_default=True) | Q(push_enabled=True)
        )
    )


def record_change(
    *,
    tenant: Tenant,
    record_type: str,
    record_id: int,
    event: str,
    changed_fields: Iterable[str] = (),
    priority: int = Priority.REALTIME,
    origin: str = Origin.COTHON,
    origin_connection_id: int | None = None,
) -> list[OutboxEntry]:
    """Queue a push of one record to every target connection, coalescing with pending rows.

    A change applied from Salesforce (`origin=Origin.SALESFORCE`) is never sent back to the
    connection it came from (`origin_connection_id`); other push-enabled orgs still get it."""
    fields = sorted(set(changed_fields))
    entries: list[OutboxEntry] = []
    now = timezone.now()
    for connection in push_targets(tenant=tenant):
        if origin == Origin.SALESFORCE and connection.pk == origin_connection_id:
            continue
        entries.append(upsert_pending(connection, tenant, record_type, record_id, event, fields, priority, now))
    if entries:
        enqueue_on_commit([e.connection_id for e in entries], priority)
    return entries


def upsert_pending(connection, tenant, record_type, record_id, event, fields, priority, now) -> OutboxEntry:
    """The pending row of (connection, record), created or merged (fields united, the higher
    priority kept, due now). Call inside a transaction."""
    lookup = dict(connection=connection, record_type=record_type, record_id=record_id, state=OutboxState.PENDING)
    for _ in range(3):
        entry = OutboxEntry.objects.select_for_update().filter(**lookup).first()
        if entry is not None:
            entry.changed_fields = sorted(set(entry.changed_fields) | set(fields))
            entry.priority = min(entry.priority, priority)
            if event == Event.DELETED or entry.event != Event.CREATED:
                entry.event = event
            entry.available_at = min(entry.available_at, now)
            entry.save(update_fields=["changed_fields", "priority", "event", "available_at", "updated_at"])
            return entry
        try:
            with transaction.atomic():
                return OutboxEntry.objects.create(
                    tenant=tenant, changed_fields=fields, event=event, priority=priority, available_at=now, **lookup
                )
        except IntegrityError:
            continue  # another transaction inserted the pending row first: merge into it
    raise RuntimeError("Could not record the change in the outbox after 3 attempts")
