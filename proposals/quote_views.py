"""Quote pages: the list (search, status, company, paging), a new quote, the quote page (its
fields, its lines — see quote_line_views.py — and its totals) and delete. Every lookup is scoped
to request.tenant (another tenant's id is a 404); every write is one service call."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cothon.tenancy.pages import tenant_page
from opportunities import selectors as opportunity_selectors
from proposals import quote_services, selectors
from proposals.models import Quote, QuoteStatus
from proposals.people_forms import PersonForm
from proposals.quote_forms import LineForm, QuoteForm

PAGE_SIZE = 25


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) <= 18 else None


@tenant_page("viewer")
@require_GET
def quote_list(request: HttpRequest) -> HttpResponse:
    search = (request.GET.get("q") or "").strip()[:200]
    status = request.GET.get("status") if request.GET.get("status") in QuoteStatus.values else ""
    company_id = _int_or_none(request.GET.get("company"))
    quotes = selectors.quote_search(tenant=request.tenant, search=search, status=status, company_id=company_id)
    page = Paginator(quotes, PAGE_SIZE).get_page(request.GET.get("page"))
    companies = opportunity_selectors.department_list(tenant=request.tenant).filter(quotes__isnull=False).distinct().order_by("name")
    return render(request, "proposals/quotes/list.html", {
        "page": page, "quotes": page.object_list, "search": search, "status": status, "company_id": company_id,
        "statuses": QuoteStatus.choices, "companies": companies,
        "filtered": bool(search or status or company_id),
    })


@tenant_page("member")
@require_http_methods(["GET", "POST"])
def quote_create(request: HttpRequest) -> HttpResponse:
    initial = {"currency": "CAD", "owner": request.user}
    opportunity = None
    opportunity_id = _int_or_none(request.GET.get("opportunity"))
    if opportunity_id is not None:
        opportunity = opportunity_selectors.opportunity_get(tenant=request.tenant, pk=opportunity_id)
        initial.update(opportunity=opportunity, company=opportunity.department, title=f"Quote — {opportunity.title}"[:255])
    form = QuoteForm(request.POST or None, tenant=request.tenant, with_status=False, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            quote = quote_services.quote_create(tenant=request.tenant, **form.service_data())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Quote {quote.number} created. Add its line items below.")
            return redirect("quotes:detail", pk=quote.pk)
    return render(request, "proposals/quotes/form.html", {"form": form, "opportunity": opportunity},
                  status=400 if form.errors else 200)


def detail_context(request: HttpRequest, quote: Quote, *, form: QuoteForm | None = None,
                   line_form: LineForm | None = None, editing: int | None = None, edit_form: LineForm | None = None,
                   person_form=None) -> dict:
    """The quote page's context. `line_form`/`editing`+`edit_form`: a refused line shown in its
    form; `person_form`: the editor's "New person" open (quote_person_views)."""
    return {
        "quote": quote,
        "lines": list(quote.line_items.all()),
        "form": form or QuoteForm(tenant=request.tenant, initial=QuoteForm.initial_of(quote)),
        "line_form": line_form or LineForm(prefix="new"),
        "editing": editing, "edit_form": edit_form,
        "person_form": person_form,
        "custom_values": _custom_values_display(request, quote),
    }


def _custom_values_display(request: HttpRequest, quote: Quote) -> list[tuple[str, object, str]]:
    return [(field.label, (quote.custom_values or {}).get(field.key), field.field_type)
            for field in selectors.quote_custom_field_list(tenant=request.tenant)]


@tenant_page("viewer")
@require_GET
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    quote = selectors.quote_get(tenant=request.tenant, pk=pk)
    person_form = None
    if request.GET.get("new_person") and request.membership.has_role("member"):
        person_form = PersonForm.for_quote()  # "New person" without JavaScript: the page with its form open
    return render(request, "proposals/quotes/detail.html", detail_context(request, quote, person_form=person_form))


@tenant_page("member")
@require_POST
def quote_save(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the quote's own fields (its lines save on their own, quote_line_views)."""
    quote = selectors.quote_get(tenant=request.tenant, pk=pk)
    form = QuoteForm(request.POST, tenant=request.tenant, initial=QuoteForm.initial_of(quote))
    if form.is_valid():
        try:
            quote_services.quote_update(tenant=request.tenant, quote=quote, data=form.service_data())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Quote {quote.number} saved.")
            return redirect("quotes:detail", pk=quote.pk)
    quote = selectors.quote_get(tenant=request.tenant, pk=pk)  # the page shows what is stored
    return render(request, "proposals/quotes/detail.html", detail_context(request, quote, form=form), status=400)


@tenant_page("member")
@require_http_methods(["GET", "POST"])
def quote_delete(request: HttpRequest, pk: int) -> HttpResponse:
    quote = selectors.quote_get(tenant=request.tenant, pk=pk)
    if request.method == "POST":
        quote_services.quote_delete(tenant=request.tenant, quote=quote)
        messages.success(request, f"Quote {quote.number} deleted.")
        return redirect("quotes:list")
    return render(request, "proposals/quotes/confirm_delete.html", {"quote": quote})
