"""Departments (government buyers; the quotes' "companies") in the browser: list, a read-only
page (its people, quotes and opportunities), add, edit, delete. Each department
becomes a Salesforce Account when its organization is connected; saving one queues that sync."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from cothon.tenancy.pages import tenant_page
from integrations import selectors as integration_selectors
from opportunities import selectors, services
from opportunities.department_forms import DepartmentForm
from proposals import selectors as proposal_selectors
from sync_engine import links as sync_links
from sync_engine.vocabulary import RecordType

PAGE_SIZE = 50
LIST_LIMIT = 10  # per section of a department's page; each links to the full list


@tenant_page("viewer")
@require_GET
def department_list(request: HttpRequest) -> HttpResponse:
    search = (request.GET.get("q") or "").strip()[:200]
    queryset = selectors.department_list_with_counts(tenant=request.tenant, search=search)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    departments = list(page.object_list)
    accounts = sync_links.salesforce_links(
        tenant=request.tenant, record_type=RecordType.DEPARTMENT,
        record_ids=[d.pk for d in departments])
    for department in departments:
        department.salesforce_link = accounts.get(department.pk)
    return render(request, "departments/list.html", {
        "page": page, "departments": departments, "search": search,
        "has_default_connection": integration_selectors.salesforce_default_connection(tenant=request.tenant) is not None,
    })


@tenant_page("viewer")
@require_GET
def department_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Every role reads it: the quote page and the People pages link here for the company."""
    department = selectors.department_get(tenant=request.tenant, pk=pk)
    opportunities = selectors.opportunity_list(tenant=request.tenant, department_id=department.pk)
    people = proposal_selectors.contact_search(tenant=request.tenant, department_id=department.pk)
    quotes = proposal_selectors.quotes_of_company(tenant=request.tenant, department_id=department.pk)
    return render(request, "departments/detail.html", {
        "department": department,
        "people": list(people[:LIST_LIMIT]), "people_count": people.count(),
        "quotes": list(quotes[:LIST_LIMIT]), "quote_count": quotes.count(),
        "opportunities": list(opportunities[:LIST_LIMIT]), "opportunity_count": opportunities.count(),
        "has_default_connection": integration_selectors.salesforce_default_connection(tenant=request.tenant) is not None,
        "salesforce_link": sync_links.salesforce_links(tenant=request.tenant, record_type=RecordType.DEPARTMENT,
                                                       record_ids=[department.pk]).get(department.pk),
    })


def _form_page(request: HttpRequest, form: DepartmentForm) -> HttpResponse:
    return render(request, "departments/form.html", {"form": form, "department": form.instance},
                  status=400 if form.errors else 200)


@tenant_page("member")
@require_http_methods(["GET", "POST"])
def department_create(request: HttpRequest) -> HttpResponse:
    form = DepartmentForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST":
        department = form.save(user=request.user)
        if department is not None:
            messages.success(request, f"Department “{department.name}” added. You can now choose it on opportunities.")
            return redirect("departments:list")
    return _form_page(request, form)


@tenant_page("member")
@require_http_methods(["GET", "POST"])
def department_edit(request: HttpRequest, pk: int) -> HttpResponse:
    department = selectors.department_get(tenant=request.tenant, pk=pk)
    form = DepartmentForm(request.POST or None, tenant=request.tenant, instance=department)
    if request.method == "POST":
        saved = form.save(user=request.user)
        if saved is not None:
            messages.success(request, f"Department “{saved.name}” saved.")
            return redirect("departments:detail", pk=saved.pk)
        form.instance = selectors.department_get(tenant=request.tenant, pk=pk)  # the page shows the stored name
    return _form_page(request, form)


@tenant_page("member")
@require_http_methods(["GET", "POST"])
def department_delete(request: HttpRequest, pk: int) -> HttpResponse:
    department = selectors.department_get(tenant=request.tenant, pk=pk)
    if request.method == "POST":
        try:
            services.department_delete(tenant=request.tenant, department=department)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages) + " Nothing was deleted.")
            return redirect("departments:list")
        messages.success(request, f"Department “{department.name}” deleted.")
        return redirect("departments:list")
    return render(request, "departments/confirm_delete.html",
                  {"department": department, "in_use": department.opportunities.count()})
