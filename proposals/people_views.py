"""People (contacts: the seed's "person", Salesforce's Contact) in the browser: list (search,
company filter, paging), a person's page (company, quotes, opportunities), add, edit, delete.
Every lookup is scoped to request.tenant (another tenant's id is a 404); every write is one
service call (opportunities.services.contact_create, proposals.services.contact_update/delete)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from cothon.forms import add_service_errors
from cothon.tenancy.pages import tenant_page
from opportunities import selectors as opportunity_selectors
from opportunities.services import contact_create
from proposals import selectors, services
from proposals.people_forms import PersonForm

PAGE_SIZE = 25


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) <= 18 else None


@tenant_page("viewer")
@require_GET
def person_list(request: HttpRequest) -> HttpResponse:
    search = (request.GET.get("q") or "").strip()[:200]
    company_id = _int_or_none(request.GET.get("company"))
    people = selectors.contact_search(tenant=request.tenant, search=search, department_id=company_id)
    page = Paginator(people, PAGE_SIZE).get_page(request.GET.get("page"))
    companies = (opportunity_selectors.department_list(tenant=request.tenant)
                 .filter(contacts__isnull=False).distinct().order_by("name"))
    return render(request, "people/list.html", {
        "page": page, "people": page.object_list, "search": search, "company_id": company_id,
        "companies": companies, "filtered": bool(search or company_id),
    })


@tenant_page("viewer")
@require_GET
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.contact_get(tenant=request.tenant, pk=pk)
    return render(request, "people/detail.html", {
        "person": person,
        "quotes": list(selectors.quotes_of_person(tenant=request.tenant, contact=person)[:50]),
        "roles": list(selectors.opportunity_roles_of_person(tenant=request.tenant, contact=person)[:50]),
    })


def _form_page(request: HttpRequest, form: PersonForm, person=None) -> HttpResponse:
    return render(request, "people/form.html", {"form": form, "person": person},
                  status=400 if form.errors else 200)


@tenant_page("member")
@require_http_methods(["GET", "POST"])
def person_create(request: HttpRequest) -> HttpResponse:
    initial = {}
    company_id = _int_or_none(request.GET.get("company"))
    if company_id is not None:  # "Add person" on a department's page
        initial["department"] = opportunity_selectors.department_get(tenant=request.tenant, pk=company_id)
    form = PersonForm(request.POST or None, tenant=request.tenant, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            person = contact_create(tenant=request.tenant, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{person} added. You can now address quotes to them.")
            return redirect("people:detail", pk=person.pk)
    return _form_page(request, form)


@tenant_page("member")
@require_http_methods(["GET", "POST"])
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.contact_get(tenant=request.tenant, pk=pk)
    form = PersonForm(request.POST or None, tenant=request.tenant, initial=PersonForm.initial_of(person))
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.contact_update(tenant=request.tenant, contact=person, data=form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{saved} saved.")
            return redirect("people:detail", pk=saved.pk)
    return _form_page(request, form, selectors.contact_get(tenant=request.tenant, pk=pk))  # the stored name


@tenant_page("member")
@require_http_methods(["GET", "POST"])
def person_delete(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.contact_get(tenant=request.tenant, pk=pk)
    if request.method == "POST":
        services.contact_delete(tenant=request.tenant, contact=person)
        messages.success(request, f"{person} deleted.")
        return redirect("people:list")
    return render(request, "people/confirm_delete.html", {
        "person": person, "quote_count": person.quotes.count(), "role_count": person.opportunity_roles.count()})
