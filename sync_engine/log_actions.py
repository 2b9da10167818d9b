"""What a person does from the sync log about failed records: **Retry** them (one error group,
everything the current filters show, or everything) and **Skip** the ones that should not sync.

Services (writes). Retry never calls Salesforce: it puts each still-failing record back in the
outbox the normal way — its failed queue row released (as after a settings change), or a new
pending row — and wakes the connection's worker on commit. A record already queued is left
alone, so a second click queues nothing twice. Each record queued gets a SyncLog row naming who
asked (like the partner actions' re-link, skip, re-create). Skip is the opportunity's Skip
(`partner_actions.opportunity_skip`): the only record type whose skip the push honours (its
analyses, requirements, comments and proposals follow their opportunity)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from cothon.models import Tenant
from integrations.models import ConnectionStatus, SalesforceConnection
from opportunities.models import Opportunity
from sync_engine import claim as queue
from sync_engine import partner_actions, wakeups
from sync_engine.log_selectors import FailingRecord, GroupKey, failing_records, open_outbox_keys
from sync_engine.models import OutboxEntry, OutboxState, SyncDirection, SyncLog, SyncResult
from sync_engine.outbox import upsert_pending
from sync_engine.selectors import LogFilters
from sync_engine.vocabulary import Event, Priority, RecordType

# One click queues at most this many records (the oldest failures first); the next click the
# rest — those queued are then skipped as already queued.
RETRY_LIMIT = 5000
# Up to this many records go in the real-time lane (a person is waiting for a few); more go
# in the background lane, so a retry of thousands never holds back people's edits.
REALTIME_RETRY_MAX = 100
SKIPPABLE_TYPES = (RecordType.OPPORTUNITY,)
CHUNK = 500


class LogActionError(ValueError):
    """The action cannot be done as asked; `code` says why (the API answers it)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message, self.code = message, code


@dataclass
class RetryOutcome:
    queued: int = 0  # records put back in the queue now
    already_queued: int = 0  # records that were queued already (left alone)
    not_queued: int = 0  # records of a disconnected connection (its reconnect catches up)
    connections: list[int] = field(default_factory=list)


def _who(actor: AbstractBaseUser | None) -> str:
    if actor is None:
        return "someone"
    return actor.get_full_name() or actor.get_username()


def failed_records_retry(*, tenant: Tenant, filters: LogFilters | None = None, group: GroupKey | None = None,
                         actor: AbstractBaseUser | None, limit: int = RETRY_LIMIT) -> RetryOutcome:
    """Re-queue every record whose push is still failing among the failed rows matching
    `filters` (and `group`): the whole tenant when neither is given. Returns the counts."""
    records = list(failing_records(tenant=tenant, filters=filters, group=group, limit=limit))
    outcome = RetryOutcome()
    if not records:
        return outcome
    connections = {c.pk: c for c in SalesforceConnection.objects.filter(tenant=tenant, pk__in={r.connection_id for r in records})}
    priority = Priority.REALTIME if len(records) <= REALTIME_RETRY_MAX else Priority.INCREMENTAL
    labels = _labels(tenant, records)
    now = timezone.now()
    woken: set[int] = set()
    with transaction.atomic():
        for start in range(0, len(records), CHUNK):
            chunk = records[start:start + CHUNK]
            queued_keys = open_outbox_keys(tenant=tenant, records=chunk)
            failed_rows = _failed_queue_rows(tenant, chunk)
            logs = []
            for record in chunk:
                key = (record.connection_id, record.record_type, record.record_id)
                connection = connections.get(record.connection_id)
                if key in queued_keys:
                    outcome.already_queued += 1
                    continue
                if connection is None or connection.status == ConnectionStatus.DISCONNECTED:
                    outcome.not_queued += 1  # a disconnected connection takes no rows; its reconnect catches up
                    continue
                _requeue(connection, record, failed_rows.get(key, []), priority, now)
                woken.add(connection.pk)
                outcome.queued += 1
                logs.append(SyncLog(
                    tenant=tenant, connection_id=connection.pk, record_type=record.record_type, record_id=record.record_id,
                    record_label=labels.get(key, "")[:255], direction=SyncDirection.PUSH, operation="retry",
                    result=SyncResult.RETRYING, actor=actor,
                    error_message=f"Retry requested by {_who(actor)}: queued to be sent to {connection.name} again."))
            SyncLog.objects.bulk_create(logs, batch_size=CHUNK)
        wakeups.wake_on_commit(woken, priority)
    outcome.connections = sorted(woken)
    return outcome


def _labels(tenant: Tenant, records: list[FailingRecord]) -> dict[tuple[int, str, int], str]:
    """The record label of each record's latest failed row (the log's own name for it)."""
    labels: dict[tuple[int, str, int], str] = {}
    for start in range(0, len(records), CHUNK):
        chunk = records[start:start + CHUNK]
        wanted = {(r.connection_id, r.record_type, r.record_id) for r in chunk}
        for key in (SyncLog.objects.filter(tenant=tenant, result=SyncResult.FAILED, record_id__in={r.record_id for r in chunk})
                    .order_by("id").values_list("connection_id", "record_type", "record_id", "record_label")):
            if key[:3] in wanted:
                labels[key[:3]] = key[3]
    return labels


def _failed_queue_rows(tenant: Tenant, records: list[FailingRecord]) -> dict[tuple[int, str, int], list[OutboxEntry]]:
    wanted = {(r.connection_id, r.record_type, r.record_id) for r in records}
    rows: dict[tuple[int, str, int], list[OutboxEntry]] = defaultdict(list)
    for entry in (OutboxEntry.objects.filter(tenant=tenant, state=OutboxState.FAILED, record_id__in={r.record_id for r in records})
                  .order_by("-id")):
        key = (entry.connection_id, entry.record_type, entry.record_id)
        if key in wanted:
            rows[key].append(entry)
    return rows


def _requeue(connection: SalesforceConnection, record: FailingRecord, failed: list[OutboxEntry], priority: int, now) -> None:
    """The record's newest failed queue row back to pending (keeping what it carries: a
    creation, a deletion, the changed fields), older failed rows merged into it; or, when the
    queue kept none (the failure was a background run's), a new pending row."""
    if not failed:
        upsert_pending(connection, record.record_type, record.record_id, Event.SYNC, [], priority, now)
        return
    newest, older = failed[0], failed[1:]
    fields = set(newest.changed_fields)
    for entry in older:
        fields |= set(entry.changed_fields)
    # A retry is its own request, not part of the run that failed (that run is finished).
    OutboxEntry.objects.filter(pk=newest.pk).update(priority=min(newest.priority, priority), run=None,
                                                    changed_fields=sorted(fields))
    if older:
        OutboxEntry.objects.filter(pk__in=[e.pk for e in older]).delete()
    newest.priority, newest.run_id, newest.changed_fields = min(newest.priority, priority), None, sorted(fields)
    # No attempt counted: nothing was sent; the retry starts a new series of attempts' backoff.
    queue.release([newest], delay=datetime.timedelta(0), count_attempt=False)


# --- skip ------------------------------------------------------------------------------------

@dataclass
class SkipOutcome:
    skipped: list[int] = field(default_factory=list)  # opportunity ids skipped now
    unchanged: list[int] = field(default_factory=list)  # skipped already
    not_skippable: int = 0  # records of other types (they follow their opportunity)
    refused: dict[int, str] = field(default_factory=dict)


def log_record_skip(*, tenant: Tenant, log: SyncLog, actor: AbstractBaseUser | None) -> bool:
    """Skip the record of one log row in that row's connection (opportunities only). False when
    it was skipped already."""
    if log.tenant_id != tenant.pk:
        raise LogActionError("No such log row in this organization.", "not_found")
    if log.record_type not in SKIPPABLE_TYPES or log.record_id is None:
        raise LogActionError("Only opportunities can be skipped; their analyses, requirements, comments and proposals "
                             "follow them. Skip the opportunity this record belongs to.", "not_skippable")
    opportunity = Opportunity.objects.filter(tenant=tenant, pk=log.record_id).first()
    if opportunity is None:
        raise LogActionError("This opportunity no longer exists in Cothon: there is nothing to skip.", "record_gone")
    try:
        return partner_actions.opportunity_skip(connection=log.connection, opportunity=opportunity, actor=actor)
    except partner_actions.PartnerActionError as exc:
        raise LogActionError(exc.messages[0], exc.code) from exc


def failed_records_skip(*, tenant: Tenant, filters: LogFilters | None = None, group: GroupKey | None = None,
                        actor: AbstractBaseUser | None, limit: int = RETRY_LIMIT) -> SkipOutcome:
    """Skip every still-failing opportunity among the failed rows matching the filters (and
    group), each in its own connection. Other record types are counted, not skipped."""
    outcome = SkipOutcome()
    by_connection: dict[int, list[int]] = defaultdict(list)
    for record in failing_records(tenant=tenant, filters=filters, group=group, limit=limit):
        if record.record_type in SKIPPABLE_TYPES:
            by_connection[record.connection_id].append(record.record_id)
        else:
            outcome.not_skippable += 1
    for connection in SalesforceConnection.objects.filter(tenant=tenant, pk__in=list(by_connection)):
        try:
            result = partner_actions.opportunities_bulk_action(connection=connection, action="skip",
                                                               opportunity_ids=by_connection[connection.pk], actor=actor)
        except partner_actions.PartnerActionError as exc:
            for pk in by_connection[connection.pk]:
                outcome.refused[pk] = exc.messages[0]
            continue
        outcome.skipped += result.done
        outcome.unchanged += result.unchanged
        outcome.refused.update(result.refused)
    return outcome
