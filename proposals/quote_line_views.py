"""The quote page's line items over HTMX: add, edit in place, remove, move up/down, and a live
preview of a line's amount and the quote's totals while a line is typed (nothing saved).

Each write answers with the whole lines section (templates/proposals/quotes/_lines.html, the
totals included), so the page always shows what is stored. A refused
line comes back in its form with the services' messages (status 200: HTMX swaps only 2xx).
Without JavaScript the same views answer with the whole quote page (see _lines_section)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cothon.forms import add_service_errors
from cothon.tenancy.pages import is_htmx, tenant_page
from proposals import quote_services, selectors
from proposals.models import Quote, QuoteLineItem
from proposals.quote_forms import LineForm
from proposals.quote_totals import check_line_amount, check_totals, totals_of
from proposals.quote_views import detail_context


def _lines_section(request: HttpRequest, quote: Quote, *, line_form: LineForm | None = None,
                   editing: int | None = None, edit_form: LineForm | None = None) -> HttpResponse:
    quote = selectors.quote_get(tenant=request.tenant, pk=quote.pk)
    if not is_htmx(request):
        # Without JavaScript the line editor is a plain form: a refused line is the whole page
        # with the line's form and its messages (400); a saved one redirects to the page.
        refused = any(form is not None and form.errors for form in (line_form, edit_form))
        if refused or editing is not None:
            return render(request, "proposals/quotes/detail.html",
                          detail_context(request, quote, line_form=line_form, editing=editing, edit_form=edit_form),
                          status=400 if refused else 200)
        return redirect(reverse("quotes:detail", args=[quote.pk]) + "#quote-lines")
    return render(request, "proposals/quotes/_lines.html", {
        "quote": quote, "lines": list(quote.line_items.all()), "line_form": line_form or LineForm(prefix="new"),
        "editing": editing, "edit_form": edit_form,
    })


@tenant_page("member")
@require_POST
def line_add(request: HttpRequest, pk: int) -> HttpResponse:
    quote = selectors.quote_get(tenant=request.tenant, pk=pk)
    form = LineForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            quote_services.quote_line_add(tenant=request.tenant, quote=quote, **form.line_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _lines_section(request, quote)
    return _lines_section(request, quote, line_form=form)


@tenant_page("member")
@require_GET
def line_edit_form(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    quote = selectors.quote_get(tenant=request.tenant, pk=pk)
    line = selectors.quote_line_get(tenant=request.tenant, quote=quote, pk=line_pk)
    form = LineForm(prefix=f"line-{line.pk}", initial={name: getattr(line, name) for name in LineForm.base_fields})
    return _lines_section(request, quote, editing=line.pk, edit_form=form)


@tenant_page("member")
@require_GET
def lines_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The section as stored (the Cancel of an edit)."""
    return _lines_section(request, selectors.quote_get(tenant=request.tenant, pk=pk))


@tenant_page("member")
@require_POST
def line_save(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    quote = selectors.quote_get(tenant=request.tenant, pk=pk)
    line = selectors.quote_line_get(tenant=request.tenant, quote=quote, pk=line_pk)
    form = LineForm(request.POST, prefix=f"line-{line.pk}")
    if form.is_valid():
        try:
            quote_services.quote_line_update(tenant=request.tenant, line=line, data=form.line_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _lines_section(request, quote)
    return _lines_section(request, quote, editing=line.pk, edit_form=form)


@tenant_page("member")
@require_POST
def line_remove(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    quote = selectors.quote_get(tenant=request.tenant, pk=pk)
    line = selectors.quote_line_get(tenant=request.tenant, quote=quote, pk=line_pk)
    quote_services.quote_line_remove(tenant=request.tenant, line=line)
    return _lines_section(request, quote)


@tenant_page("member")
@require_POST
def line_move(request: HttpRequest, pk: int, line_pk: int, direction: str) -> HttpResponse:
    quote = selectors.quote_get(tenant=request.tenant, pk=pk)
    line = selectors.quote_line_get(tenant=request.tenant, quote=quote, pk=line_pk)
    order = [existing.pk for existing in quote.line_items.all()]
    index = order.index(line.pk)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
        quote_services.quote_lines_reorder(tenant=request.tenant, quote=quote, line_ids=order)
    return _lines_section(request, quote)


@tenant_page("member")
@require_POST
def line_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """What the line typed so far comes to, and the quote's totals with it: computed with the
    services' own arithmetic (quote_totals), nothing written. `line` names the line being
    edited (its stored values are replaced in the preview), absent for a new line."""
    quote = selectors.quote_get(tenant=request.tenant, pk=pk)
    editing = request.POST.get("line", "")
    prefix = f"line-{editing}" if editing.isdigit() else "new"
    form = LineForm(request.POST, prefix=prefix)
    form.fields["description"].required = False  # the amount does not depend on it
    context: dict = {"quote": quote, "valid": False}
    if form.is_valid():
        data = form.line_data()
        candidate = QuoteLineItem(quote=quote, **{name: data[name] for name in
                                                   ("kind", "description", "unit", "quantity", "unit_price",
                                                    "discount_percent", "tax_percent")})
        lines = [line for line in quote.line_items.all() if str(line.pk) != editing]
        try:
            candidate.full_clean(exclude=["quote", "tenant", "description"])
            check_line_amount(candidate)
            totals = totals_of([*lines, candidate])
            check_totals(totals)
        except ValidationError as exc:
            context["problem"] = " ".join(exc.messages)
        else:
            context.update(valid=True, line=candidate, totals=totals)
    return render(request, "proposals/quotes/_line_preview.html", context)
