"""The fan-out: recorded changes (`ChangeRecord`) become outbox rows, one per target connection.

Runs in the worker — in the real-time task before it pushes, and in the sweeper for changes
left behind (a lost wake-up, a killed worker). Safe with any number of workers: a batch of
change rows is locked (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite serialises
writers) and deleted in the same transaction that writes their outbox rows, so each change is
fanned out exactly once, and a worker killed halfway leaves the rows for the next one.

Targets (`push_targets`): the tenant's default connection, plus any other connection with push
on. A disconnected org gets nothing (a reconnect catches up from the records themselves, see
`sync_engine.services.catch_up_after_reconnect`); one that needs a reconnect keeps receiving
rows, so nothing is lost while an admin fixes it. A change from Salesforce never goes back to
the connection it came from.
"""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, connection as db, transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from sync_engine.models import ChangeRecord, OutboxEntry, OutboxState
from sync_engine.outbox import merge_event, upsert_pending
from sync_engine.vocabulary import Origin

# Connections that accept pushes. A disconnected org stops syncing; one that needs a reconnect
# keeps its queue so nothing is lost while an admin fixes it.
_ACTIVE_STATUSES = (ConnectionStatus.CONNECTED, ConnectionStatus.NEEDS_RECONNECT)
BATCH = 1000

# Coalescing a burst (`await_burst`): push once a full Salesforce collection is waiting, else
# see `push_due_in` and settings.COTHON_COALESCE_QUIET_MS / COTHON_COALESCE_MAX_MS.
BURST_FULL = 200


def push_targets(*, tenant_id: int) -> list[SalesforceConnection]:
    """The default connection, plus any other connection where push is switched on."""
    return list(SalesforceConnection.objects.filter(tenant_id=tenant_id, status__in=_ACTIVE_STATUSES)
                .filter(Q(is_default=True) | Q(push_enabled=True)).order_by("pk"))


@dataclass
class Pending:
    """What one connection's outbox row of one record becomes after the batch's changes."""

    event: str
    fields: set[str]
    priority: int


@dataclass
class FanOutResult:
    changes: int = 0
    # connection id → the most urgent priority queued for it (which lane to wake)
    touched: dict[int, int] = field(default_factory=dict)

    def add(self, other: "FanOutResult") -> None:
        self.changes += other.changes
        for connection_id, priority in other.touched.items():
            self.touched[connection_id] = min(priority, self.touched.get(connection_id, priority))


def fan_out_pending(*, tenant_id: int | None = None, older_than: datetime.timedelta | None = None) -> FanOutResult:
    """Fan out every change row (of one tenant, or all; optionally only those older than
    `older_than`). Returns how many changes and which connections got rows."""
    result = FanOutResult()
    while True:
        batch = _fan_out_batch(tenant_id, older_than)
        result.add(batch)
        if batch.changes < BATCH:
            return result


def _fan_out_batch(tenant_id: int | None, older_than: datetime.timedelta | None) -> FanOutResult:
    result = FanOutResult()
    with transaction.atomic():
        rows = ChangeRecord.objects.order_by("id")
        if tenant_id is not None:
            rows = rows.filter(tenant_id=tenant_id)
        if older_than is not None:
            rows = rows.filter(created_at__lt=timezone.now() - older_than)
        if db.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        changes = list(rows[:BATCH])
        if not changes:
            return result
        by_tenant: dict[int, list[ChangeRecord]] = defaultdict(list)
        for change in changes:
            by_tenant[change.tenant_id].append(change)
        now = timezone.now()
        for tenant, tenant_changes in by_tenant.items():
            for connection in push_targets(tenant_id=tenant):
                merged = _merge_for(connection.pk, tenant_changes)
                if merged:
                    _write(connection, merged, now)
                    result.touched[connection.pk] = min(p.priority for p in merged.values())
        ChangeRecord.objects.filter(id__in=[c.id for c in changes]).delete()
        result.changes = len(changes)
    return result


def _merge_for(connection_id: int, changes: list[ChangeRecord]) -> dict[tuple[str, int], Pending]:
    """The batch's changes that go to this connection, merged per record in the order they
    were made (the same rule as merging into a pending row)."""
    merged: dict[tuple[str, int], Pending] = {}
    for change in changes:
        if change.origin == Origin.SALESFORCE and change.origin_connection_id == connection_id:
            continue  # never sent back to the org it came from
        key = (change.record_type, change.record_id)
        pending = merged.get(key)
        if pending is None:
            merged[key] = Pending(change.event, set(change.fields), change.priority)
        else:
            pending.event = merge_event(pending.event, change.event)
            pending.fields |= set(change.fields)
            pending.priority = min(pending.priority, change.priority)
    return merged


def _write(connection: SalesforceConnection, merged: dict[tuple[str, int], Pending], now: datetime.datetime) -> None:
    """Merge into the connection's pending rows of these records, create the others. Sorted, so
    two workers lock rows in the same order."""
    by_type: dict[str, list[int]] = defaultdict(list)
    for record_type, record_id in sorted(merged):
        by_type[record_type].append(record_id)
    existing: dict[tuple[str, int], OutboxEntry] = {}
    for record_type, ids in by_type.items():
        for start in range(0, len(ids), 900):
            for entry in (OutboxEntry.objects.select_for_update()
                          .filter(connection=connection, state=OutboxState.PENDING, record_type=record_type,
                                  record_id__in=ids[start:start + 900]).order_by("record_id")):
                existing[(entry.record_type, entry.record_id)] = entry
    updated = []
    for key, entry in existing.items():
        pending = merged[key]
        entry.changed_fields = sorted(set(entry.changed_fields) | pending.fields)
        entry.priority = min(entry.priority, pending.priority)
        entry.event = merge_event(entry.event, pending.event)
        entry.available_at = min(entry.available_at, now)
        entry.updated_at = now
        updated.append(entry)
    if updated:
        OutboxEntry.objects.bulk_update(updated, ["changed_fields", "priority", "event", "available_at", "updated_at"])
    new = [key for key in sorted(merged) if key not in existing]
    try:
        with transaction.atomic():
            OutboxEntry.objects.bulk_create([
                OutboxEntry(tenant_id=connection.tenant_id, connection=connection, record_type=record_type,
                            record_id=record_id, event=merged[(record_type, record_id)].event,
                            changed_fields=sorted(merged[(record_type, record_id)].fields),
                            priority=merged[(record_type, record_id)].priority, available_at=now)
                for record_type, record_id in new])
    except IntegrityError:
        # Another transaction (a Sync Now, a manual sync, a released claim) created one of these
        # pending rows meanwhile: merge one by one instead.
        for record_type, record_id in new:
            pending = merged[(record_type, record_id)]
            upsert_pending(connection, record_type, record_id, pending.event, pending.fields, pending.priority, now)


# How often a waiting fan-out looks at the queue again (at most): often enough to catch a full
# collection soon after it fills, rarely enough not to load the database the saves write to.
BURST_POLL_SECONDS = 0.05
# What a real-time push (fan-out, claim, the call, the links) is assumed to take before one was
# measured in this process.
PUSH_SECONDS_INITIAL = 0.25
_push_seconds = PUSH_SECONDS_INITIAL


def note_push_seconds(seconds: float) -> None:
    """A real-time push of this process took `seconds`: the running estimate `await_burst`
    subtracts from the budget (weighted towards the recent pushes)."""
    global _push_seconds
    _push_seconds = 0.7 * _push_seconds + 0.3 * max(0.0, seconds)


def push_due_in(*, waiting: int, oldest_age: float, newest_age: float, quiet: float, budget: float, push_seconds: float,
                full: int = BURST_FULL) -> float:
    """Seconds until the real-time push of what is waiting should start (0: now). Now when
    nothing waits or a full collection does; otherwise when no change came for the quiet time
    (the burst paused: a lone edit waits only `quiet`), or when the oldest change's age plus the
    expected push time reaches `budget` (the burst keeps coming: its oldest change still
    reaches Salesforce within the budget of its save), whichever comes first.

    The quiet time follows the burst's pace: three of its average gaps, between `quiet` and
    twice that, so a burst whose saves come unevenly (a loaded server) is not cut at every
    longer gap into pushes of a few records."""
    if waiting <= 0 or waiting >= full:
        return 0.0
    if waiting > 1:
        quiet = min(2 * quiet, max(quiet, 3 * (oldest_age - newest_age) / (waiting - 1)))
    return max(0.0, min(quiet - newest_age, budget - push_seconds - oldest_age))


def await_burst(*, tenant_id: int, full: int = BURST_FULL) -> None:
    """Wait (briefly) while a burst of changes is still arriving, so that while changes keep
    coming each push carries as many as the latency budget allows (up to a full collection),
    and a lone edit goes after the quiet time (see `push_due_in`; settings
    COTHON_COALESCE_QUIET_MS and COTHON_COALESCE_MAX_MS, either 0: push at once)."""
    quiet = settings.COTHON_COALESCE_QUIET_MS / 1000
    budget = settings.COTHON_COALESCE_MAX_MS / 1000
    if quiet <= 0 or budget <= 0:
        return
    while True:
        stats = ChangeRecord.objects.filter(tenant_id=tenant_id).aggregate(n=Count("id"), oldest=Min("created_at"),
                                                                           newest=Max("created_at"))
        now = timezone.now()
        due = push_due_in(waiting=stats["n"] or 0, full=full, quiet=quiet, budget=budget, push_seconds=_push_seconds,
                          oldest_age=(now - stats["oldest"]).total_seconds() if stats["n"] else 0.0,
                          newest_age=(now - stats["newest"]).total_seconds() if stats["n"] else 0.0)
        if due <= 0:
            return
        time.sleep(min(due, BURST_POLL_SECONDS))
