"""Reads for proposals, quotes, custom quote fields and contacts (people), always scoped to one
tenant: another tenant's id is a 404."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from cothon.models import Tenant
from opportunities.models import Contact, OpportunityContact
from proposals.models import Proposal, Quote, QuoteCustomField, QuoteLineItem


def proposal_list(*, tenant: Tenant) -> QuerySet[Proposal]:
    return Proposal.objects.filter(tenant=tenant).select_related("opportunity").prefetch_related("sections")


def proposal_get(*, tenant: Tenant, pk: Any) -> Proposal:
    return get_object_or_404(proposal_list(tenant=tenant), pk=pk)


def quote_list(*, tenant: Tenant) -> QuerySet[Quote]:
    return (Quote.objects.filter(tenant=tenant).select_related("opportunity", "company", "person", "owner")
            .prefetch_related("line_items"))


def quote_get(*, tenant: Tenant, pk: Any) -> Quote:
    return get_object_or_404(quote_list(tenant=tenant), pk=pk)


def quote_search(*, tenant: Tenant, search: str = "", status: str = "", company_id: int | None = None) -> QuerySet[Quote]:
    """The quote list page: no lines loaded (the totals are stored on the quote)."""
    quotes = Quote.objects.filter(tenant=tenant).select_related("company", "person", "opportunity")
    if search:
        quotes = quotes.filter(Q(number__icontains=search) | Q(title__icontains=search)
                               | Q(company__name__icontains=search) | Q(company_name__icontains=search)
                               | Q(person__first_name__icontains=search) | Q(person__last_name__icontains=search)
                               | Q(contact_name__icontains=search))
    if status:
        quotes = quotes.filter(status=status)
    if company_id is not None:
        quotes = quotes.filter(company_id=company_id)
    return quotes.order_by("-created_at", "-id")


def quotes_of_opportunity(*, tenant: Tenant, opportunity_id: int) -> QuerySet[Quote]:
    return Quote.objects.filter(tenant=tenant, opportunity_id=opportunity_id).order_by("-created_at", "-id")


def quote_line_get(*, tenant: Tenant, quote: Quote, pk: Any) -> QuoteLineItem:
    return get_object_or_404(QuoteLineItem.objects.filter(tenant=tenant, quote=quote).select_related("quote"), pk=pk)


def quote_custom_field_list(*, tenant: Tenant) -> QuerySet[QuoteCustomField]:
    return QuoteCustomField.objects.filter(tenant=tenant).order_by("position", "id")


def quote_custom_field_get(*, tenant: Tenant, pk: Any) -> QuoteCustomField:
    return get_object_or_404(quote_custom_field_list(tenant=tenant), pk=pk)


def contact_list(*, tenant: Tenant, search: str = "", department_id: int | None = None) -> QuerySet[Contact]:
    contacts = Contact.objects.filter(tenant=tenant).select_related("department")
    if search:
        contacts = contacts.filter(Q(first_name__icontains=search) | Q(last_name__icontains=search)
                                   | Q(email__icontains=search))
    if department_id is not None:
        contacts = contacts.filter(department_id=department_id)
    return contacts.order_by("last_name", "first_name", "id")


def contact_get(*, tenant: Tenant, pk: Any) -> Contact:
    return get_object_or_404(contact_list(tenant=tenant), pk=pk)


# --- people pages (proposals/people_views.py) -----------------------------------------------

def contact_search(*, tenant: Tenant, search: str = "", department_id: int | None = None) -> QuerySet[Contact]:
    """The People page: name, e-mail or job title matches; each person with how many quotes are
    addressed to them and how many opportunities they have a role on."""
    search = (search or "").replace("\x00", "").strip()  # PostgreSQL refuses a NUL in a query
    contacts = Contact.objects.filter(tenant=tenant).select_related("department")
    for word in search.split()[:5]:
        contacts = contacts.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word)
                                   | Q(email__icontains=word) | Q(job_title__icontains=word))
    if department_id is not None:
        contacts = contacts.filter(department_id=department_id)
    return contacts.annotate(quote_count=Count("quotes", distinct=True),
                             opportunity_count=Count("opportunity_roles", distinct=True)
                             ).order_by("last_name", "first_name", "id")


def quotes_of_person(*, tenant: Tenant, contact: Contact) -> QuerySet[Quote]:
    return Quote.objects.filter(tenant=tenant, person=contact).select_related("company").order_by("-created_at", "-id")


def quotes_of_company(*, tenant: Tenant, department_id: int) -> QuerySet[Quote]:
    return (Quote.objects.filter(tenant=tenant, company_id=department_id).select_related("person")
            .order_by("-created_at", "-id"))


def opportunity_roles_of_person(*, tenant: Tenant, contact: Contact) -> QuerySet[OpportunityContact]:
    """The opportunities a person has a role on (Salesforce's contact roles), newest first."""
    return (OpportunityContact.objects.filter(tenant=tenant, contact=contact).select_related("opportunity")
            .order_by("-opportunity__updated_at", "-id"))
