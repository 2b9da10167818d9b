"""Reads for the bid team's records, always scoped to one tenant."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from cothon.models import Tenant
from opportunities.models import Appointment, BidAnalysis, Comment, Contact, Department, Opportunity, Requirement


def department_list(*, tenant: Tenant) -> QuerySet[Department]:
    return Department.objects.filter(tenant=tenant)


def department_get(*, tenant: Tenant, pk: Any) -> Department:
    return get_object_or_404(Department, tenant=tenant, pk=pk)


def contact_list(*, tenant: Tenant) -> QuerySet[Contact]:
    return Contact.objects.filter(tenant=tenant).select_related("department")


def opportunity_list(
    *,
    tenant: Tenant,
    search: str = "",
    status: str | list[str] | None = None,
    department_id: int | None = None,
    closing_after: date | None = None,
    closing_before: date | None = None,
) -> QuerySet[Opportunity]:
    qs = Opportunity.objects.filter(tenant=tenant).select_related("department", "assignee")
    if search:
        qs = qs.filter(Q(title__icontains=search) | Q(reference__icontains=search) | Q(department__name__icontains=search))
    if status:
        qs = qs.filter(status__in=[status] if isinstance(status, str) else status)
    if department_id:
        qs = qs.filter(department_id=department_id)
    if closing_after:
        qs = qs.filter(closing_date__gte=closing_after)
    if closing_before:
        qs = qs.filter(closing_date__lte=closing_before)
    return qs


def opportunity_get(*, tenant: Tenant, pk: Any) -> Opportunity:
    """The opportunity of this tenant, or 404 — another tenant's id is indistinguishable from none."""
    return get_object_or_404(Opportunity.objects.select_related("department", "assignee"), tenant=tenant, pk=pk)


def analysis_list(*, tenant: Tenant) -> QuerySet[BidAnalysis]:
    return BidAnalysis.objects.filter(tenant=tenant).select_related("opportunity").prefetch_related("requirements")


def analysis_get(*, tenant: Tenant, pk: Any) -> BidAnalysis:
    return get_object_or_404(analysis_list(tenant=tenant), pk=pk)


def requirement_list(*, tenant: Tenant, analysis: BidAnalysis) -> QuerySet[Requirement]:
    return Requirement.objects.filter(tenant=tenant, analysis=analysis)


def comment_list(*, tenant: Tenant, opportunity: Opportunity) -> QuerySet[Comment]:
    return Comment.objects.filter(tenant=tenant, opportunity=opportunity).select_related("author")


def appointment_list(*, tenant: Tenant) -> QuerySet[Appointment]:
    return Appointment.objects.filter(tenant=tenant)


# --- web UI reads (appended for the HTML views) ----------------------------------------------

def opportunity_analyses(*, tenant: Tenant, opportunity: Opportunity) -> QuerySet[BidAnalysis]:
    """The bid analyses of one opportunity, newest first, with their requirements."""
    return (
        BidAnalysis.objects.filter(tenant=tenant, opportunity=opportunity)
        .select_related("created_by")
        .prefetch_related("requirements")
    )


def assignable_users(*, tenant: Tenant) -> QuerySet:
    """Users who can be assigned an opportunity: the members of this tenant."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(memberships__tenant=tenant, is_active=True).order_by("username").distinct()


# The Salesforce state of a record, as the record pages show it. The sync tables live in a
# higher layer (integrations, sync_engine), so they are imported where used: domain code above
# this section never depends on them.

def salesforce_connection_list(*, tenant: Tenant) -> QuerySet:
    from integrations.models import SalesforceConnection

    return SalesforceConnection.objects.filter(tenant=tenant).select_related("connected_by")


def salesforce_default_connection(*, tenant: Tenant):
    """The tenant's default Salesforce connection (the sync target of every change), or None."""
    return salesforce_connection_list(tenant=tenant).filter(is_default=True).first()


def opportunity_salesforce_link(*, tenant: Tenant, opportunity: Opportunity) -> dict[str, Any]:
    """What the record page's Salesforce panel shows: the default connection, how many
    connections the tenant has, and this opportunity's SyncLink in the default connection
    (None when it was never pushed)."""
    from sync_engine.models import RecordType, SyncLink

    connection = salesforce_default_connection(tenant=tenant)
    link = None
    if connection is not None:
        link = (
            SyncLink.objects.filter(
                tenant=tenant, connection=connection, record_type=RecordType.OPPORTUNITY,
                record_id=opportunity.pk, sobject="Opportunity",
            )
            .select_related("connection")
            .first()
        )
    return {
        "connection": connection,
        "connection_count": salesforce_connection_list(tenant=tenant).count() if connection is None else None,
        "link": link,
    }


# --- REST API reads (appended for the API) ----------------------------------------------------

def opportunity_salesforce_links(*, tenant: Tenant, opportunity_ids: list[int]) -> dict[int, Any]:
    """SyncLinks of these opportunities in the tenant's default connection, by opportunity id.

    One query whatever the number of ids, so a page of opportunities costs one extra query.
    Opportunities without a link (or with no default connection) are simply absent.
    """
    from sync_engine.models import RecordType, SyncLink

    if not opportunity_ids:
        return {}
    links = (
        SyncLink.objects.filter(
            tenant=tenant, connection__tenant=tenant, connection__is_default=True,
            record_type=RecordType.OPPORTUNITY, record_id__in=list(opportunity_ids), sobject="Opportunity",
        )
        .select_related("connection")
    )
    return {link.record_id: link for link in links}


def comment_list_all(*, tenant: Tenant) -> QuerySet[Comment]:
    """Every comment of the tenant (the API's /comments/ endpoint filters by opportunity)."""
    return Comment.objects.filter(tenant=tenant).select_related("author")
