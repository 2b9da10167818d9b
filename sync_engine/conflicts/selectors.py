"""Reading held conflicts, always tenant-scoped."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, QuerySet

from integrations.mapping.opportunity_inbound import id18
from integrations.models import SalesforceUserLink
from sync_engine.models import ConflictStatus, SyncConflict
from sync_engine.vocabulary import RecordType


def conflicts_list(*, tenant, status: str | None = ConflictStatus.OPEN, connection_id: int | None = None,
                   record_id: int | None = None, sf_field: str = "", search: str = "") -> QuerySet[SyncConflict]:
    """The queue, newest first; `status=None` for every status."""
    rows = SyncConflict.objects.filter(tenant_id=tenant.pk).select_related("connection", "resolved_by", "cothon_changed_by").order_by("-id")
    if status:
        rows = rows.filter(status=status)
    if connection_id:
        rows = rows.filter(connection_id=connection_id)
    if record_id:
        rows = rows.filter(record_type=RecordType.OPPORTUNITY, record_id=record_id)
    if sf_field:
        rows = rows.filter(sf_field__iexact=sf_field)
    if search:
        rows = rows.filter(record_label__icontains=search)
    return rows


def conflict_get(*, tenant, conflict_id: int) -> SyncConflict:
    """One conflict of the tenant (another tenant's id: SyncConflict.DoesNotExist)."""
    return SyncConflict.objects.select_related("connection", "resolved_by", "cothon_changed_by").get(tenant_id=tenant.pk, pk=conflict_id)


def conflicts_open_counts(*, tenant, connection_id: int | None = None) -> list[dict]:
    """Open conflicts by connection and record type: one GROUP BY query."""
    rows = SyncConflict.objects.filter(tenant_id=tenant.pk, status=ConflictStatus.OPEN)
    if connection_id:
        rows = rows.filter(connection_id=connection_id)
    return list(rows.values("connection_id", "connection__name", "record_type").annotate(open=Count("id"))
                .order_by("connection__name", "connection_id", "record_type"))


def conflicts_open_count(*, tenant) -> int:
    return SyncConflict.objects.filter(tenant_id=tenant.pk, status=ConflictStatus.OPEN).count()


def held_fields(*, connection_id: int, record_ids: Iterable[int], record_type: str = RecordType.OPPORTUNITY) -> dict[int, set[str]]:
    """Record id → the Salesforce fields (lower case) held for review: the push does not send
    them until the conflict is resolved. One query."""
    held: dict[int, set[str]] = {}
    for record_id, sf_field in SyncConflict.objects.filter(
            connection_id=connection_id, record_type=record_type, status=ConflictStatus.OPEN,
            record_id__in=list(record_ids)).values_list("record_id", "sf_field"):
        held.setdefault(record_id, set()).add(sf_field.lower())
    return held


def salesforce_authors(*, connection_ids: Iterable[int]) -> dict[tuple[int, str], object]:
    """(connection id, 18-char Salesforce user id) → the Cothon user mapped to it, to name who
    changed Salesforce's side. One query."""
    links = SalesforceUserLink.objects.filter(connection_id__in=list(connection_ids)).exclude(salesforce_user_id="") \
        .select_related("user")
    return {(link.connection_id, id18(link.salesforce_user_id)): link.user for link in links}


def conflicts_open_for_record(*, tenant, record_id: int) -> QuerySet[SyncConflict]:
    """A record's open conflicts (the record page lists them)."""
    return conflicts_list(tenant=tenant, record_id=record_id).order_by("sf_field")
