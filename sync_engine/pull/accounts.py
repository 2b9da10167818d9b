"""accounts_apply: pulled Account records in, the linked departments renamed.

Only Accounts linked to a Cothon department in this connection matter; any other Account of the
org is passed over without a write or a log row (a commercial org has many). For a linked one:
deleted in Salesforce → the link says so and the department stays (deletes never propagate);
already seen at this SystemModstamp → skipped (the overlap window, replays); its mapped values
equal to the base snapshot (what we last pushed or agreed on) → our own echo: nothing written,
nothing pushed; otherwise `integrations.mapping.account.from_salesforce` and
`department_update` with `origin=salesforce`, so the rename is never pushed back to this org.
A department renamed on both sides since the base is a conflict, as an opportunity's field
(docs/conflicts.md): held for review, or settled by the rule of `Account.Name` (default last
write wins) — Cothon's name kept and queued for the push, or Salesforce's applied.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from integrations.mapping import account as mapping
from integrations.mapping.conflicts import salesforce_time
from integrations.mapping.opportunity_inbound import id18, parse_datetime
from integrations.models import SalesforceConnection
from integrations.settings_schema import conflict_rule_for
from opportunities import services as opportunity_services
from opportunities.models import Department
from sync_engine.conflicts.services import Held, conflicts_hold
from sync_engine.models import LinkStatus, SyncLink, SyncResult
from sync_engine.outbox import record_change
from sync_engine.pull.apply import PullContext, PullSummary, pull_context
from sync_engine.rows import update_rows
from sync_engine.vocabulary import Event, Origin, RecordType

# Hybrid: the Account's name is pulled unless its direction is set to push only.
HYBRID_KEY = "Account.Name"


def account_object(settings: dict[str, Any]) -> str:
    return (settings.get("objects") or {}).get("account", "Account")


def account_fields() -> list[str]:
    """What the pull reads of an Account: the mapped fields, what the cycle needs, and who
    changed it last and when (a conflict's Salesforce side)."""
    return ["Id", "SystemModstamp", "IsDeleted", "LastModifiedDate", "LastModifiedById", *mapping.PULLED_FIELDS]


def accounts_pulled(settings: dict[str, Any]) -> bool:
    direction = settings.get("direction", "bidirectional")
    if direction == "push":
        return False
    if direction == "hybrid":
        return (settings.get("field_directions") or {}).get(HYBRID_KEY, "both") != "push"
    return True


def accounts_linked(connection: SalesforceConnection, settings: dict[str, Any]) -> bool:
    """Whether any department of this connection has an Account (else nothing to pull)."""
    return SyncLink.objects.filter(connection=connection, record_type=RecordType.DEPARTMENT, sobject=account_object(settings)) \
        .exclude(salesforce_id="").exists()


def accounts_apply(*, connection: SalesforceConnection, sobject_records: list[dict[str, Any]], settings: dict[str, Any] | None = None,
                   client_factory=None, source: str = "incremental") -> PullSummary:
    """Apply pulled Account records of one connection to their departments. Raises only for
    infrastructure errors (the caller keeps its watermark or notification and tries again)."""
    ctx = pull_context(connection=connection, settings=settings, source=source, client_factory=client_factory)
    data = ctx.settings
    summary = PullSummary(seen=len(sobject_records))
    if not accounts_pulled(data) or not sobject_records:
        summary.skipped = len(sobject_records)
        return summary  # push-only (or hybrid with the Account name pushed only) never writes Cothon
    try:
        with transaction.atomic():
            _apply(ctx, account_object(data), sobject_records, summary)
    finally:
        summary.api_calls += ctx.calls
        ctx.flush()
    return summary


def _apply(ctx: PullContext, sobject: str, records: list[dict[str, Any]], summary: PullSummary) -> None:
    connection = ctx.connection
    ids = [id18(r.get("Id")) for r in records if r.get("Id")]
    links = {link.salesforce_id: link for link in SyncLink.objects.filter(
        connection=connection, record_type=RecordType.DEPARTMENT, sobject=sobject, salesforce_id__in=ids)}
    if not links:
        return  # none of these Accounts is a department of ours
    departments = {d.pk: d for d in Department.objects.select_for_update().filter(
        tenant_id=connection.tenant_id, pk__in=[link.record_id for link in links.values()])}
    settled: list[SyncLink] = []
    held: list[Held] = []
    rule = conflict_rule_for(ctx.settings.get("conflict_rules") or {}, mapping.RULE_KEY)
    review = bool(ctx.settings.get("flag_conflicts_for_review"))
    now = timezone.now()
    for record in records:
        link = links.get(id18(record.get("Id")))
        if link is None:
            continue
        stamp = parse_datetime(record.get("SystemModstamp") or "")
        department = departments.get(link.record_id)
        if _is_deleted(record):
            _mark_deleted(ctx, sobject, link, department, stamp, summary)
            continue
        if stamp is not None and link.salesforce_modstamp and stamp <= link.salesforce_modstamp:
            summary.already_seen += 1
            continue
        if department is None:
            summary.skipped += 1
            continue  # deleted in Cothon: never re-created
        base = link.base_snapshot or {}
        if base and all(record.get(name) == base.get(name) for name in mapping.PULLED_FIELDS if name in record):
            summary.echoes += 1  # what we pushed (or agreed on) coming back
        else:
            result = mapping.from_salesforce(record, department, base=base, rule=rule, review=review)
            if result.held is not None:
                held.append(Held(link=link, opportunity=department, record=record, conflict=result.held))
                summary.conflicts_held += 1
            elif result.settled is not None:
                summary.conflicts_settled += 1
            if result.push_back:
                # Cothon's name won: it goes out (to every org of the tenant that pushes) so both sides converge.
                record_change(tenant=connection.tenant, record_type=RecordType.DEPARTMENT, record_id=department.pk,
                              event=Event.UPDATED, changed_fields=["name"], origin=Origin.COTHON)
            if not _rename(ctx, sobject, record, link, department, result, summary):
                continue
            link.base_snapshot = {**base, **result.agreed}
        link.salesforce_modstamp = stamp or link.salesforce_modstamp
        # After the rename's own timestamp: a department not changed since it was last synced
        # is in step (reconciliation compares the two).
        link.last_synced_at = link.updated_at = max(now, department.updated_at) if department else now
        if link.status == LinkStatus.DELETED_IN_SALESFORCE:
            link.status = LinkStatus.SYNCED  # undeleted in Salesforce
        settled.append(link)
    update_rows(SyncLink, settled, ["base_snapshot", "salesforce_modstamp", "last_synced_at", "status", "updated_at"])
    conflicts_hold(connection=connection, held=held, record_type=RecordType.DEPARTMENT)


def _rename(ctx: PullContext, sobject: str, record: dict, link: SyncLink, department: Department,
            result: mapping.DepartmentInbound, summary: PullSummary) -> bool:
    """Apply the department's changes; False when Cothon refuses them (logged)."""
    reasons = "; ".join(f"{name}: {why}" for name, why in result.skipped)
    if not result.changes:
        summary.unchanged += 1
        if result.skipped:
            ctx.log(operation="skip", result=SyncResult.SKIPPED, record_type=RecordType.DEPARTMENT, record_id=department.pk,
                    sobject=sobject, salesforce_id=link.salesforce_id, label=department.name, code="FIELDS_SKIPPED",
                    message=f"Not applied: {reasons}")
        return True
    old_name = department.name
    try:
        with transaction.atomic():
            opportunity_services.department_update(tenant=ctx.connection.tenant, department=department, data=result.changes,
                                                   origin=Origin.SALESFORCE, origin_connection_id=ctx.connection.pk,
                                                   changed_at=salesforce_time(record))
    except ValidationError as exc:
        department.name = old_name
        summary.failed += 1
        message = "; ".join(f"{k}: {' '.join(v)}" for k, v in getattr(exc, "message_dict", {"name": exc.messages}).items())
        ctx.log(operation="update", result=SyncResult.FAILED, record_type=RecordType.DEPARTMENT, record_id=department.pk,
                sobject=sobject, salesforce_id=link.salesforce_id, label=old_name, code="INVALID_VALUE", message=message,
                hint="Another department may already use this name: rename one of them; the next change is pulled again.")
        return False
    summary.applied += 1
    ctx.log(operation="update", result=SyncResult.SUCCESS, record_type=RecordType.DEPARTMENT, record_id=department.pk,
            sobject=sobject, salesforce_id=link.salesforce_id, label=department.name,
            code="FIELDS_SKIPPED" if result.skipped else "",
            message=f"Renamed from “{old_name}” to “{department.name}” in Salesforce." + (f" Not applied: {reasons}" if reasons else ""))
    return True


def _is_deleted(record: dict[str, Any]) -> bool:
    value = record.get("IsDeleted")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _mark_deleted(ctx: PullContext, sobject: str, link: SyncLink, department: Department | None, stamp,
                  summary: PullSummary) -> None:
    summary.deleted += 1
    if link.status == LinkStatus.DELETED_IN_SALESFORCE:
        return
    SyncLink.objects.filter(pk=link.pk).update(status=LinkStatus.DELETED_IN_SALESFORCE, updated_at=timezone.now(),
                                               salesforce_modstamp=stamp or link.salesforce_modstamp)
    ctx.log(operation="deleted", result=SyncResult.SUCCESS, record_type=RecordType.DEPARTMENT, record_id=link.record_id,
            sobject=sobject, salesforce_id=link.salesforce_id, label=department.name if department else "",
            code="DELETED_IN_SALESFORCE",
            message="Account deleted in Salesforce: the Cothon department stays and no longer syncs with it.")
