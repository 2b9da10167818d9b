"""Reads for the bid team's records, always scoped to one tenant."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404

from cothon.models import Tenant
from opportunities.models import BidAnalysis, Comment, Department, Opportunity, OpportunityContact, OpportunityStatus, Requirement

# Columns the list can be sorted by; "-key" sorts descending. Empty values sort last either way,
# and the id breaks ties so pages never overlap.
OPPORTUNITY_SORTS = ("title", "status", "value", "closing", "updated")
DEFAULT_OPPORTUNITY_SORT = "-updated"
_PIPELINE_ORDER = Case(*[When(status=value, then=Value(position))
                         for position, value in enumerate(OpportunityStatus.values)], output_field=IntegerField())


def _opportunity_ordering(sort: str) -> list:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in OPPORTUNITY_SORTS:
        return _opportunity_ordering(DEFAULT_OPPORTUNITY_SORT)
    column = {"title": F("title"), "status": _PIPELINE_ORDER, "value": F("value_max"),
              "closing": F("closing_date"), "updated": F("updated_at")}[key]
    direction = column.desc(nulls_last=True) if descending else column.asc(nulls_last=True)
    return [direction, "-id" if descending else "id"]


def _searchable(search: str) -> str:
    """A search term PostgreSQL can take: a NUL character in a query is an error there (a 500
    from one request), so it is dropped, like the spaces around the term."""
    return (search or "").replace("\x00", "").strip()


def department_list(*, tenant: Tenant) -> QuerySet[Department]:
    return Department.objects.filter(tenant=tenant)


def department_list_with_counts(*, tenant: Tenant, search: str = "") -> QuerySet[Department]:
    """Departments for the Departments page, each with how many opportunities it buys."""
    # Meta.ordering is dropped in GROUP BY queries: order explicitly (stable pages).
    qs = department_list(tenant=tenant).annotate(opportunity_count=Count("opportunities")).order_by("name", "id")
    search = _searchable(search)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(acronym__icontains=search))
    return qs


def department_get(*, tenant: Tenant, pk: Any) -> Department:
    return get_object_or_404(Department, tenant=tenant, pk=pk)


def opportunity_version(*, tenant: Tenant, pk: Any) -> str:
    """The record's version for the live detail page: its updated_at in microseconds, read in
    one query without loading the row. Another tenant's id (or none) is a 404."""
    updated_at = Opportunity.objects.filter(tenant=tenant, pk=pk).values_list("updated_at", flat=True).first()
    if updated_at is None:
        raise Http404("No such opportunity.")
    return version_of(updated_at)


def version_of(updated_at) -> str:
    return str(int(updated_at.timestamp() * 1_000_000))


def opportunity_list(
    *,
    tenant: Tenant,
    search: str = "",
    status: str | list[str] | None = None,
    department_id: int | None = None,
    closing_after: date | None = None,
    closing_before: date | None = None,
    sort: str = DEFAULT_OPPORTUNITY_SORT,
) -> QuerySet[Opportunity]:
    qs = (Opportunity.objects.filter(tenant=tenant).select_related("department", "assignee")
          .order_by(*_opportunity_ordering(sort)))
    search = _searchable(search)
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


def requirement_list(*, tenant: Tenant, analysis: BidAnalysis) -> QuerySet[Requirement]:
    return Requirement.objects.filter(tenant=tenant, analysis=analysis)


def comment_list(*, tenant: Tenant, opportunity: Opportunity) -> QuerySet[Comment]:
    return Comment.objects.filter(tenant=tenant, opportunity=opportunity).select_related("author")


# --- web UI reads (appended for the HTML views) ----------------------------------------------

def opportunity_analyses(*, tenant: Tenant, opportunity: Opportunity) -> QuerySet[BidAnalysis]:
    """The bid analyses of one opportunity, newest first, with their requirements."""
    return (
        BidAnalysis.objects.filter(tenant=tenant, opportunity=opportunity)
        .select_related("created_by")
        .prefetch_related("requirements")
    )


def opportunity_contacts(*, tenant: Tenant, opportunity: Opportunity) -> QuerySet[OpportunityContact]:
    """The opportunity's contacts with their role, the primary one first."""
    return OpportunityContact.objects.filter(tenant=tenant, opportunity=opportunity).select_related("contact")


def analysis_get(*, tenant: Tenant, pk: Any) -> BidAnalysis:
    """One bid analysis of this tenant (with its opportunity and requirements), or 404."""
    return get_object_or_404(analysis_list(tenant=tenant), pk=pk)


def assignable_users(*, tenant: Tenant) -> QuerySet:
    """Users who can be assigned an opportunity: the members of this tenant."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(memberships__tenant=tenant, is_active=True).order_by("username").distinct()


# --- REST API reads (appended for the API) ----------------------------------------------------

def comment_list_all(*, tenant: Tenant) -> QuerySet[Comment]:
    """Every comment of the tenant (the API's /comments/ endpoint filters by opportunity)."""
    return Comment.objects.filter(tenant=tenant).select_related("author")
