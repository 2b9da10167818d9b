"""Synchronize now (admins): the button, its progress and its counts.

One URL per connection: GET answers the panel (an HTMX request: the fragment the quote
settings page includes and polls while a run is active; otherwise a page of its own), POST
starts a run. Every lookup is scoped to request.tenant, so another tenant's id is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from cothon.tenancy.pages import is_htmx, tenant_page
from sync_engine.quotes import selectors
from sync_engine.quotes.sync_now import quote_sync_start
from sync_engine.selectors import sync_connection_get

PANEL = "sync_quotes/_synchronize_now_panel.html"


def _panel_context(request: HttpRequest, connection, error: str = "") -> dict:
    quote_settings = selectors.quote_settings_for(tenant=request.tenant, connection=connection)
    return {"connection": connection, "quote_settings": quote_settings, "error": error,
            "run": selectors.quote_sync_latest(tenant=request.tenant, connection=connection),
            "last_received": selectors.quote_notification_latest(tenant=request.tenant, connection=connection)}


@tenant_page("admin")
@require_http_methods(["GET", "POST"])
def synchronize_now(request: HttpRequest, pk: int) -> HttpResponse:
    connection = sync_connection_get(tenant=request.tenant, pk=pk)
    error = ""
    if request.method == "POST":
        try:
            quote_sync_start(connection=connection, actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        if not is_htmx(request):
            if error:
                messages.error(request, error)
            else:
                messages.success(request, "Synchronize now started: it runs in the background.")
            return redirect("sync_quotes:synchronize_now", pk=connection.pk)
    context = _panel_context(request, connection, error)
    status = 400 if error else 200
    if is_htmx(request):
        return render(request, PANEL, context, status=status)
    return render(request, "sync_quotes/synchronize.html", {**context, "tab": "quotes"}, status=status)
