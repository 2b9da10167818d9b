"""Send to Salesforce from the quote page: the "Salesforce actions" menu's Send (members) and the
status area it polls while the send runs (anyone of the tenant). Both answer with the partial
templates/sync_quotes/_quote_send_status.html (HTMX), the menu refreshed out of band; without
HTMX the send goes back to the page it came from. Quotes are found with the tenant's selectors
(another organization's id is a 404)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from cothon.tenancy.pages import tenant_page
from proposals import selectors as proposal_selectors
from sync_engine.quotes import send as send_service
from sync_engine.quotes.send_selectors import quote_send_panel


def _status(request: HttpRequest, quote, *, error: str = "") -> HttpResponse:
    panel = quote_send_panel(tenant=request.tenant, quote=quote)
    return render(request, "sync_quotes/_quote_send_status.html",
                  {"quote": quote, "panel": panel, "error": error, "oob_menu": True})


def _back(request: HttpRequest) -> str:
    """The page the form was on (its `next`), when it is one of ours; else home."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("home")


@tenant_page("member")
@require_POST
def quote_send(request: HttpRequest, pk: int) -> HttpResponse:
    quote = proposal_selectors.quote_get(tenant=request.tenant, pk=pk)
    error = ""
    try:
        send_service.quote_send_request(tenant=request.tenant, quote=quote, actor=request.user)
    except send_service.SendRefused as exc:
        error = exc.messages[0]
        if exc.code == "sending" and getattr(request, "htmx", None):
            error = ""  # a second click: the status area shows (and polls) the send under way
    if getattr(request, "htmx", None):
        # 200 with the refusal in the status area: HTMX does not swap in error responses.
        return _status(request, quote, error=error)
    if error:
        messages.error(request, f"Not sent: {error}")
    else:
        messages.success(request, f"Sending quote {quote.number} to Salesforce: the Amount and the PDF.")
    return redirect(_back(request))


@tenant_page("viewer")
@require_GET
def quote_send_status(request: HttpRequest, pk: int) -> HttpResponse:
    return _status(request, proposal_selectors.quote_get(tenant=request.tenant, pk=pk))
