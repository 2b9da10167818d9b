"""The quote editor's "New person": a person added at the quote's company and set as the quote's
person in one service call (quote_services.quote_person_create). Over HTMX the answer is the
Person field (the new person chosen) plus the quote's summary out of band; without JavaScript the
whole quote page (the form's errors with status 400, or a redirect after the save)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cothon.forms import add_service_errors
from cothon.tenancy.pages import is_htmx, tenant_page
from proposals import quote_services, selectors
from proposals.models import Quote
from proposals.people_forms import PersonForm
from proposals.quote_forms import QuoteForm
from proposals.quote_views import detail_context

def _field(request: HttpRequest, quote: Quote, *, person_form: PersonForm | None = None,
           person_added: str = "") -> HttpResponse:
    form = QuoteForm(tenant=request.tenant, initial=QuoteForm.initial_of(quote))
    return render(request, "proposals/quotes/_person_field.html", {
        "quote": quote, "form": form, "person_form": person_form, "person_added": person_added,
        "oob_summary": bool(person_added)})


@tenant_page("member")
@require_GET
def person_new(request: HttpRequest, pk: int) -> HttpResponse:
    quote = selectors.quote_get(tenant=request.tenant, pk=pk)
    if not is_htmx(request):
        return redirect(reverse("quotes:detail", args=[quote.pk]) + "?new_person=1#quote-person-field")
    return _field(request, quote, person_form=PersonForm.for_quote())


@tenant_page("member")
@require_GET
def person_field(request: HttpRequest, pk: int) -> HttpResponse:
    """The field as stored, the form closed (its Cancel)."""
    quote = selectors.quote_get(tenant=request.tenant, pk=pk)
    if not is_htmx(request):
        return redirect("quotes:detail", pk=quote.pk)
    return _field(request, quote)


@tenant_page("member")
@require_POST
def person_add(request: HttpRequest, pk: int) -> HttpResponse:
    quote = selectors.quote_get(tenant=request.tenant, pk=pk)
    form = PersonForm.for_quote(request.POST)
    if form.is_valid():
        try:
            quote = quote_services.quote_person_create(tenant=request.tenant, quote=quote, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            quote = selectors.quote_get(tenant=request.tenant, pk=quote.pk)
            if is_htmx(request):
                return _field(request, quote, person_added=str(quote.person))
            messages.success(request, f"{quote.person} added — quote {quote.number} is now addressed to them.")
            return redirect("quotes:detail", pk=quote.pk)
    if is_htmx(request):
        return _field(request, quote, person_form=form)  # 200: HTMX swaps only 2xx
    return render(request, "proposals/quotes/detail.html", detail_context(request, quote, person_form=form), status=400)
