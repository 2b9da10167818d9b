"""Reads of the routing rules and routed files, always scoped by tenant (another tenant's id is
a DoesNotExist, which pages and the API answer with 404)."""

from __future__ import annotations

import datetime
import zoneinfo

from django.db.models import QuerySet
from django.utils import timezone

from integrations.models import SalesforceConnection
from opportunities.models import Appointment
from sync_engine.appointments.models import DeliveryStatus, RoutedFile, RoutingKind, RoutingRule

DOCUMENT_KINDS = (RoutingKind.CONTRACT, RoutingKind.PROPOSAL, RoutingKind.CUSTOM_DOCUMENT)
# A file still "waiting to upload" this long after its last change lost its task (a broker
# restart): Retry is offered for it too.
STALLED_AFTER = datetime.timedelta(minutes=5)


def tenant_zone(tenant) -> datetime.tzinfo:
    """The organization's time zone (UTC when it is not a known zone name): file names and
    e-mails show its dates, also from a worker."""
    try:
        return zoneinfo.ZoneInfo(tenant.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return datetime.UTC


def routing_rule_for(*, connection: SalesforceConnection, kind: str) -> RoutingRule:
    """The connection's rule of this kind, or an unsaved one with the defaults (off)."""
    if kind not in RoutingKind.values:
        raise RoutingRule.DoesNotExist(f"No routing kind {kind!r}")
    rule = RoutingRule.objects.filter(connection=connection, kind=kind).first()
    return rule or RoutingRule(connection=connection, kind=kind)


def routing_rules_by_kind(*, connection: SalesforceConnection) -> dict[str, RoutingRule]:
    saved = {rule.kind: rule for rule in RoutingRule.objects.filter(connection=connection)}
    return {kind: saved.get(kind) or RoutingRule(connection=connection, kind=kind) for kind in RoutingKind.values}


def routed_file_list(*, tenant, connection: SalesforceConnection | None = None, status: str | None = None) -> QuerySet[RoutedFile]:
    qs = RoutedFile.objects.filter(tenant=tenant).select_related("appointment", "connection", "created_by")
    if connection is not None:
        qs = qs.filter(connection=connection)
    if status:
        qs = qs.filter(status=status)
    return qs


def routed_file_get(*, tenant, pk) -> RoutedFile:
    return RoutedFile.objects.select_related("appointment", "connection").get(tenant=tenant, pk=pk)


def routed_file_can_retry(routed_file: RoutedFile, *, now: datetime.datetime | None = None) -> bool:
    if routed_file.status == DeliveryStatus.FAILED:
        return True
    now = now or timezone.now()
    return routed_file.status == DeliveryStatus.PENDING and routed_file.updated_at < now - STALLED_AFTER


def routed_file_counts(*, tenant, connection: SalesforceConnection) -> dict[str, int]:
    counts = {status: 0 for status in DeliveryStatus.values}
    for status in RoutedFile.objects.filter(tenant=tenant, connection=connection).values_list("status", flat=True):
        counts[status] += 1
    return counts


def appointment_for_member(*, tenant, membership, pk) -> Appointment:
    """An appointment the member may act on: admins any of the tenant's, others their own
    (another member's appointment is a DoesNotExist, as another tenant's)."""
    qs = Appointment.objects.filter(tenant=tenant)
    if membership.role != "admin":
        qs = qs.filter(assigned_to_id=membership.user_id)
    return qs.get(pk=pk)
