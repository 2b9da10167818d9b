"""The Cothon side of a reconciliation: records changed in the window whose link says they are
not in Salesforce as they are now, queued again for the push.

Record types are the ones the push's handler registry knows (contacts excepted: they are never
pushed), with the same selection as a Sync Now (completed analyses and their requirements,
generated proposals). A record is **in step** when:

- opportunity: it is linked and synced, and every field the push would send now equals the
  link's base snapshot (the values both sides last agreed on; the pull's comparison) — a field
  held for review does not count; filtered out or waiting for Match Legacy Records, nothing is
  sent anyway;
- department, analysis, requirement: linked, synced, and not changed since its last sync;
- comment, proposal (Notes and files have no link): a push of it was logged after its change.

A record out of step is queued for this connection with `upsert_pending` at reconciliation
priority — for an opportunity as an update of the Cothon fields that differ, so the push's
conflict guard applies as for an edit (a field Salesforce changed since the base is left to
the pull's rule). Not `record_change`: that fans out to every connection of the tenant, while
the difference was found in this one. Skipped links, records deleted in Salesforce and records
already waiting (a pending or claimed outbox row, or a recorded change not fanned out yet) are
left alone."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from integrations.mapping import opportunity as opportunity_mapping
from integrations.mapping.common import MappingContext
from integrations.mapping.opportunity_inbound import comparable
from integrations.models import SalesforceConnection
from integrations.settings_schema import SyncSettings
from integrations.sync_settings import describe_fields_for, user_ids_for
from opportunities.models import BidAnalysis, BidAnalysisStatus, Comment, Department, Opportunity, Requirement
from proposals.models import Proposal
from sync_engine import wakeups
from sync_engine.conflicts.selectors import held_fields
from sync_engine.handlers.registry import HANDLERS
from sync_engine.legacy.selectors import held_opportunity_ids
from sync_engine.models import (ChangeRecord, LinkStatus, OutboxEntry, OutboxState, SyncDirection, SyncLink, SyncLog,
                                SyncResult)
from sync_engine.outbox import upsert_pending
from sync_engine.vocabulary import Event, Origin, Priority, RecordType

# Never re-queued by a reconciliation: someone decided (skip), or the partner is gone (a person
# re-links, re-creates or skips it).
LEFT_ALONE = (LinkStatus.SKIPPED, LinkStatus.DELETED_IN_SALESFORCE)
LINKLESS = (RecordType.COMMENT, RecordType.PROPOSAL)


@dataclass
class CothonSide:
    examined: int = 0
    requeued: int = 0
    waiting: int = 0  # already pending in the outbox
    left_alone: int = 0  # skipped or deleted in Salesforce
    by_type: dict[str, int] = field(default_factory=dict)  # re-queued per record type


@dataclass(frozen=True)
class Requeue:
    record_type: str
    record_id: int
    event: str
    fields: tuple[str, ...] = ()


def changed_records(connection: SalesforceConnection, since: datetime.datetime) -> dict[str, QuerySet]:
    """The tenant's records of each pushed type changed since `since`, selected as a Sync Now
    selects them."""
    tenant_id = connection.tenant_id
    querysets = {
        RecordType.DEPARTMENT: Department.objects.filter(tenant_id=tenant_id),
        RecordType.OPPORTUNITY: Opportunity.objects.filter(tenant_id=tenant_id).select_related("department", "assignee"),
        RecordType.ANALYSIS: BidAnalysis.objects.filter(tenant_id=tenant_id, status=BidAnalysisStatus.COMPLETED),
        RecordType.REQUIREMENT: Requirement.objects.filter(tenant_id=tenant_id, analysis__status=BidAnalysisStatus.COMPLETED),
        RecordType.COMMENT: Comment.objects.filter(tenant_id=tenant_id),
        RecordType.PROPOSAL: Proposal.objects.filter(tenant_id=tenant_id, generated_at__isnull=False),
    }
    # Only what the registry pushes (a type added there without a selection here is not examined).
    return {t: qs.filter(updated_at__gte=since) for t, qs in querysets.items() if t in HANDLERS}


def cothon_reconcile(*, connection: SalesforceConnection, config: SyncSettings, since: datetime.datetime, client=None
                     ) -> CothonSide:
    """Queue again the records changed since `since` that are not in step in this connection."""
    side = CothonSide()
    requeue: list[Requeue] = []
    for record_type, records in changed_records(connection, since).items():
        rows = list(records)
        if not rows:
            continue
        side.examined += len(rows)
        waiting = _waiting(connection, record_type, [r.pk for r in rows])
        side.waiting += len(waiting)
        rows = [r for r in rows if r.pk not in waiting]
        if record_type in LINKLESS:
            requeue += _linkless(connection, record_type, rows)
            continue
        links = _links(connection, record_type, [r.pk for r in rows])
        alone = {pk for pk, link in links.items() if link.status in LEFT_ALONE}
        side.left_alone += len(alone)
        rows = [r for r in rows if r.pk not in alone]
        if record_type == RecordType.OPPORTUNITY:
            requeue += _opportunities(connection, config, rows, links, client)
        else:
            requeue += [Requeue(record_type, r.pk, Event.SYNC) for r in rows if not _synced_since(links.get(r.pk), r)]
    if requeue:
        now = timezone.now()
        with transaction.atomic():
            for item in requeue:
                upsert_pending(connection, item.record_type, item.record_id, item.event, item.fields, Priority.RECONCILIATION, now)
                side.by_type[item.record_type] = side.by_type.get(item.record_type, 0) + 1
            wakeups.wake_on_commit([connection.pk], Priority.RECONCILIATION)
        side.requeued = len(requeue)
    return side


def _waiting(connection: SalesforceConnection, record_type: str, ids: list[int]) -> set[int]:
    """Records already on their way: an open outbox row of this connection, or a change
    recorded and not fanned out yet (unless it came from this connection's org: the fan-out
    never sends that one back here)."""
    queued = set(OutboxEntry.objects.filter(connection=connection, record_type=record_type, record_id__in=ids,
                                            state__in=[OutboxState.PENDING, OutboxState.CLAIMED])
                 .values_list("record_id", flat=True))
    recorded = set(ChangeRecord.objects.filter(tenant_id=connection.tenant_id, record_type=record_type, record_id__in=ids)
                   .exclude(origin=Origin.SALESFORCE, origin_connection_id=connection.pk).values_list("record_id", flat=True))
    return queued | recorded


def _links(connection: SalesforceConnection, record_type: str, ids: list[int]) -> dict[int, SyncLink]:
    # A record has one link per object; the quote-style second objects are not pushed types.
    return {link.record_id: link for link in SyncLink.objects.filter(connection=connection, record_type=record_type,
                                                                     record_id__in=ids)}


def _synced_since(link: SyncLink | None, record: Any) -> bool:
    return (link is not None and link.status == LinkStatus.SYNCED and link.last_synced_at is not None
            and link.last_synced_at >= record.updated_at)


def _linkless(connection: SalesforceConnection, record_type: str, rows: list) -> list[Requeue]:
    """Comments and proposals: queued again when no push of them was logged after their change."""
    if not rows:
        return []
    since = min(r.updated_at for r in rows)
    logged: dict[int, datetime.datetime] = {}
    for record_id, at in SyncLog.objects.filter(
            connection=connection, direction=SyncDirection.PUSH, record_type=record_type, record_id__in=[r.pk for r in rows],
            created_at__gte=since, result__in=[SyncResult.SUCCESS, SyncResult.SKIPPED]).values_list("record_id", "created_at"):
        logged[record_id] = max(at, logged.get(record_id, at))
    return [Requeue(record_type, r.pk, Event.SYNC) for r in rows if not (r.pk in logged and logged[r.pk] >= r.updated_at)]


def _opportunities(connection: SalesforceConnection, config: SyncSettings, rows: list[Opportunity], links: dict[int, SyncLink],
                   client) -> list[Requeue]:
    if not rows:
        return []
    sobject = config.objects.opportunity
    context = MappingContext(settings=config, describe_fields=describe_fields_for(connection, sobject, client=client),
                             user_ids=user_ids_for(connection), base_url=django_settings.COTHON_BASE_URL,
                             time_zone=connection.tenant.time_zone)
    linked_ids = [pk for pk, link in links.items() if link.salesforce_id]
    held = held_fields(connection_id=connection.pk, record_ids=linked_ids) if linked_ids else {}
    awaiting = held_opportunity_ids(connection_id=connection.pk, record_ids=[r.pk for r in rows if r.pk not in links])
    accounts = _department_accounts(connection, config, {r.department_id for r in rows if r.department_id})
    out: list[Requeue] = []
    for opportunity in rows:
        link = links.get(opportunity.pk)
        if link is None or not link.salesforce_id:
            if opportunity.pk not in awaiting and _would_send(opportunity, context, linked=False):
                out.append(Requeue(RecordType.OPPORTUNITY, opportunity.pk, Event.SYNC))
            continue
        planned = opportunity_mapping.to_salesforce(opportunity, context, linked=True)
        if planned.operation == "skip":
            continue
        if link.status != LinkStatus.SYNCED:
            out.append(Requeue(RecordType.OPPORTUNITY, opportunity.pk, Event.SYNC))
            continue
        differing = differing_fields(planned.fields, link.base_snapshot or {}, accounts.get(opportunity.department_id),
                                     held.get(opportunity.pk, set()))
        if not differing:
            continue
        cothon_fields = opportunity_mapping.cothon_fields_for(config, differing)
        out.append(Requeue(RecordType.OPPORTUNITY, opportunity.pk, Event.UPDATED, tuple(sorted(cothon_fields)))
                   if cothon_fields else Requeue(RecordType.OPPORTUNITY, opportunity.pk, Event.SYNC))
    return out


def _would_send(opportunity: Opportunity, context: MappingContext, *, linked: bool) -> bool:
    return opportunity_mapping.to_salesforce(opportunity, context, linked=linked).operation != "skip"


def _department_accounts(connection: SalesforceConnection, config: SyncSettings, department_ids: set[int]) -> dict[int, str]:
    if not department_ids:
        return {}
    return dict(SyncLink.objects.filter(connection=connection, record_type=RecordType.DEPARTMENT, sobject=config.objects.account,
                                        record_id__in=department_ids).exclude(salesforce_id="")
                .values_list("record_id", "salesforce_id"))


def differing_fields(fields: dict[str, Any], base: dict[str, Any], account_id: str | None, held: set[str]) -> set[str]:
    """The Salesforce fields (lower case) whose value the push would send differs from the
    base snapshot. A field only set on create (RecordTypeId), a placeholder (`@…`) and a field
    held for review do not count; the Account is compared by the department's Account Id."""
    differing: set[str] = set()
    for name, value in fields.items():
        key = name.lower()
        if name.startswith("@") or key == "recordtypeid" or key in held:
            continue
        if isinstance(value, dict):  # the Account, known by the department's link
            if account_id is None:
                continue
            value = account_id
        if _comparable(name, value) != _comparable(name, base.get(name)):
            differing.add(key)
    return differing


def _comparable(name: str, value: Any) -> Any:
    # The pull's comparison, blind to surrounding spaces (a value the push trims).
    value = comparable(name, value)
    return value.strip() if isinstance(value, str) else value
