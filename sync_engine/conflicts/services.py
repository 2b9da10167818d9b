"""Held conflicts: the pull holds them, a person resolves them.

`conflicts_hold` runs inside the pull's transaction, in a fixed number of queries for a page
(read the page's open conflicts, insert the new, update the rest). `conflict_resolve` writes the
chosen value to Cothon through the opportunities services with origin "cothon", so it goes out
to Salesforce at once through the outbox, and settles the link's base on Salesforce's value: the
next pull then sees only Cothon's side changed and keeps it until the push lands."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from integrations.mapping.conflicts import cothon_sources
from integrations.mapping.opportunity_inbound import HeldConflict, InboundContext, convert_salesforce_value, id18
from integrations.models import SalesforceConnection
from integrations.sync_settings import settings_current
from opportunities import services as opportunity_services
from opportunities.models import Department, Opportunity
from sync_engine.models import ConflictResolution, ConflictStatus, SyncConflict, SyncLink
from sync_engine.outbox import record_change
from sync_engine.rows import update_rows
from sync_engine.vocabulary import Event, Origin, RecordType

_UPDATED = ["record_label", "rule", "base_value", "cothon_value", "cothon_changed_at", "cothon_changed_by", "salesforce_value",
            "salesforce_changed_at", "salesforce_changed_by", "updated_at"]


@dataclass(frozen=True)
class Held:
    """One held field of one pulled record (`opportunity`: the Cothon record — a Department for
    an Account's name)."""

    link: SyncLink
    opportunity: Opportunity | Department
    record: dict[str, Any]
    conflict: HeldConflict

    @property
    def label(self) -> str:
        return getattr(self.opportunity, "title", None) or getattr(self.opportunity, "name", "") or ""


def conflicts_hold(*, connection: SalesforceConnection, held: Sequence[Held], record_type: str = RecordType.OPPORTUNITY) -> int:
    """Open (or refresh) a conflict per held field of records of `record_type`; a field already
    open keeps its row with the latest values on both sides. Returns how many were new."""
    if not held:
        return 0
    existing = {(c.record_id, c.sf_field): c for c in SyncConflict.objects.filter(
        connection=connection, record_type=record_type, status=ConflictStatus.OPEN,
        record_id__in={h.opportunity.pk for h in held})}
    now = timezone.now()
    new, changed = [], []
    for item in held:
        c = item.conflict
        row = existing.get((item.opportunity.pk, c.sf_field))
        if row is None:
            row = SyncConflict(tenant_id=connection.tenant_id, connection=connection, link=item.link,
                               record_type=record_type, record_id=item.opportunity.pk, sf_field=c.sf_field,
                               cothon_field=c.cothon_field)
            new.append(row)
        else:
            changed.append(row)
        row.record_label = item.label[:255]
        row.rule = c.rule
        row.base_value = c.base  # a conflict always has a base (without one, Salesforce's change is taken)
        row.cothon_value, row.salesforce_value = c.cothon, c.salesforce
        row.cothon_changed_at, row.salesforce_changed_at = c.cothon_changed_at, c.salesforce_changed_at
        row.cothon_changed_by_id = c.cothon_changed_by
        row.salesforce_changed_by = id18(item.record.get("LastModifiedById") or "")
        row.updated_at = now
    SyncConflict.objects.bulk_create(new, batch_size=500)
    update_rows(SyncConflict, changed, _UPDATED)
    return len(new)


def conflicts_supersede(*, connection: SalesforceConnection, fields: dict[int, set[str]],
                        record_type: str = RecordType.OPPORTUNITY) -> list[tuple[int, str]]:
    """Settle the open conflicts on `fields` (record id → Salesforce fields no longer changed on
    both sides): a later change decided them, nobody did. Returns (record id, field) of each."""
    rows = [c for c in SyncConflict.objects.filter(connection=connection, record_type=record_type, status=ConflictStatus.OPEN,
                                                   record_id__in=list(fields))
            if c.sf_field in fields.get(c.record_id, ())]
    now = timezone.now()
    for row in rows:
        row.status, row.resolution, row.resolved_at, row.updated_at = ConflictStatus.RESOLVED, ConflictResolution.SUPERSEDED, now, now
    update_rows(SyncConflict, rows, ["status", "resolution", "resolved_at", "updated_at"])
    return [(row.record_id, row.sf_field) for row in rows]


@transaction.atomic
def conflict_resolve(*, tenant, conflict_ids: Iterable[int], choice: str, value: Any = None, actor=None) -> list[SyncConflict]:
    """Resolve open conflicts of the tenant: keep Cothon's value, keep Salesforce's, or enter a
    value (in Salesforce's terms, as the queue shows them: a stage name, an amount, a date).
    The value is written to Cothon (origin cothon: pushed at once) and the link's base settles
    on Salesforce's value. An id of another tenant (or none) raises SyncConflict.DoesNotExist;
    one already resolved, a bad choice or a value Cothon cannot take, ValidationError (nothing
    is written)."""
    ids = sorted({int(i) for i in conflict_ids})
    if choice not in ConflictResolution.values:
        raise ValidationError({"choice": [f"Choose one of: {', '.join(ConflictResolution.values)}."]})
    if choice == ConflictResolution.VALUE and value in (None, ""):
        raise ValidationError({"value": ["Enter the value to keep."]})
    if not ids:
        raise ValidationError({"conflict_ids": ["Choose at least one conflict."]})
    rows = list(SyncConflict.objects.select_for_update().filter(tenant_id=tenant.pk, pk__in=ids)
                .select_related("connection", "link"))
    if len(rows) != len(ids):
        raise SyncConflict.DoesNotExist("No such conflict.")
    done = [r.pk for r in rows if r.status != ConflictStatus.OPEN]
    if done:
        raise ValidationError({"conflict_ids": [f"Already resolved: {', '.join(map(str, done))}."]})
    opportunities = Opportunity.objects.select_for_update(of=("self",)).in_bulk(
        {r.record_id for r in rows if r.record_type == RecordType.OPPORTUNITY})
    departments = Department.objects.select_for_update().in_bulk({r.record_id for r in rows if r.record_type == RecordType.DEPARTMENT})
    contexts: dict[int, tuple[dict, InboundContext]] = {}
    now = timezone.now()
    for row in rows:
        if row.record_type == RecordType.DEPARTMENT:
            kept = _resolve_department(tenant, row, departments.get(row.record_id), choice, value, actor)
            _settle(row, choice, kept, actor, now)
            continue
        opportunity = opportunities.get(row.record_id)
        if opportunity is None or opportunity.tenant_id != tenant.pk:
            raise SyncConflict.DoesNotExist("The conflict's opportunity is gone.")
        if row.connection_id not in contexts:
            contexts[row.connection_id] = _context(row.connection)
        settings, ctx = contexts[row.connection_id]
        kept = row.cothon_value
        if choice == ConflictResolution.KEEP_COTHON:
            _push(tenant, opportunity, row.cothon_field)
        else:
            kept = row.salesforce_value if choice == ConflictResolution.KEEP_SALESFORCE else value
            mapping = next((m for m in settings.get("opportunity_mappings") or [] if m["sf_field"] == row.sf_field), None)
            if mapping is None:
                raise ValidationError({"value": [f"{row.sf_field} is no longer mapped: keep Cothon's value instead."]})
            changes, reason = convert_salesforce_value(mapping, kept, opportunity, ctx)
            if reason:
                raise ValidationError({"value": [f"{row.sf_field}: {reason}"]})
            if changes:
                opportunity_services.opportunity_update(tenant=tenant, opportunity=opportunity, data=_instances(changes),
                                                        origin=Origin.COTHON, changed_by=actor)
            else:
                _push(tenant, opportunity, row.cothon_field)  # Cothon holds it already: Salesforce still needs it
        _settle(row, choice, kept, actor, now)
    return rows


def _settle(row: SyncConflict, choice: str, kept: Any, actor, now) -> None:
    """Mark the conflict resolved. Salesforce still holds its value until the push lands: as
    the base, the next pull sees Cothon's side changed only (no new conflict); a newer
    Salesforce edit is one."""
    link = SyncLink.objects.select_for_update().get(pk=row.link_id)
    link.base_snapshot = {**(link.base_snapshot or {}), row.sf_field: row.salesforce_value}
    link.save(update_fields=["base_snapshot", "updated_at"])
    row.status, row.resolution, row.resolved_value = ConflictStatus.RESOLVED, choice, kept
    row.resolved_by = actor if getattr(actor, "pk", None) else None
    row.resolved_at = now
    row.save(update_fields=["status", "resolution", "resolved_value", "resolved_by", "resolved_at", "updated_at"])


def _resolve_department(tenant, row: SyncConflict, department: Department | None, choice: str, value: Any, actor) -> Any:
    """An Account's name renamed on both sides: the kept name becomes the department's (a
    department needs a name, unique in the organization) and is queued for the push."""
    if department is None or department.tenant_id != tenant.pk:
        raise SyncConflict.DoesNotExist("The conflict's department is gone.")
    if choice == ConflictResolution.KEEP_COTHON:
        kept = row.cothon_value
    else:
        kept = row.salesforce_value if choice == ConflictResolution.KEEP_SALESFORCE else value
        kept = " ".join(str(kept or "").split())[:255]
        if not kept:
            raise ValidationError({"value": ["Name: a department needs a name."]})
        try:
            opportunity_services.department_validate_name(tenant=tenant, name=kept, department=department)
        except ValidationError as exc:
            raise ValidationError({"value": [f"Name: {' '.join(exc.messages)}"]}) from exc
    if kept != department.name:
        opportunity_services.department_update(tenant=tenant, department=department, data={"name": kept},
                                               origin=Origin.COTHON, changed_by=actor)
    else:  # Cothon holds it already: Salesforce still needs it
        record_change(tenant=tenant, record_type=RecordType.DEPARTMENT, record_id=department.pk, event=Event.UPDATED,
                      changed_fields=["name"], origin=Origin.COTHON)
    return kept


def _push(tenant, opportunity: Opportunity, cothon_field: str) -> None:
    record_change(tenant=tenant, record_type=RecordType.OPPORTUNITY, record_id=opportunity.pk, event=Event.UPDATED,
                  changed_fields=list(cothon_sources(cothon_field)), origin=Origin.COTHON)


def _context(connection: SalesforceConnection) -> tuple[dict, InboundContext]:
    """What converting a Salesforce value needs: settings, user and department links."""
    settings = settings_current(connection=connection)
    users = {id18(sf): user for user, sf in connection.user_links.exclude(salesforce_user_id="")
             .values_list("user_id", "salesforce_user_id")}
    departments = dict(SyncLink.objects.filter(connection=connection, record_type=RecordType.DEPARTMENT)
                       .exclude(salesforce_id="").values_list("record_id", "salesforce_id"))
    return settings, InboundContext(settings=settings, users_by_salesforce_id=users,
                                    account_departments={id18(a): d for d, a in departments.items()},
                                    department_accounts=departments, integration_user_id=id18(connection.sf_user_id))


def _instances(changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(changes)
    if out.get("department") is not None:
        out["department"] = Department.objects.get(pk=out["department"])
    if out.get("assignee") is not None:
        out["assignee"] = get_user_model().objects.get(pk=out["assignee"])
    return out
