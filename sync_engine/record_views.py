"""The Sync button of an opportunity: queue a manual-priority push of this record to the
tenant's default Salesforce connection and answer with the polled progress area of the
Salesforce panel (sync_engine's record_run_status decides when the record has a result).
Also the panel's Re-link (search, link), Skip / Unskip and Re-create controls."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from cothon.tenancy.pages import tenant_page
from integrations import selectors as integration_selectors
from integrations.salesforce.errors import SalesforceError
from opportunities import selectors
from sync_engine import partner_actions
from sync_engine.models import RecordType
from sync_engine.record_panel import NO_DEFAULT, NOT_CONNECTED
from sync_engine.services import record_sync_now


@tenant_page("member")
@require_POST
def opportunity_sync(request: HttpRequest, pk: int) -> HttpResponse:
    tenant = request.tenant
    opportunity = selectors.opportunity_get(tenant=tenant, pk=pk)
    connection = integration_selectors.salesforce_default_connection(tenant=tenant)
    run, error = None, ""
    if connection is None:
        error = NO_DEFAULT if integration_selectors.salesforce_connection_list(tenant=tenant).exists() else NOT_CONNECTED
    else:
        try:
            # The run row and the outbox row commit together; the worker is woken on commit.
            with transaction.atomic():
                run = record_sync_now(connection=connection, record_type=RecordType.OPPORTUNITY, record_id=opportunity.pk,
                                      actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
    htmx = getattr(request, "htmx", None)
    if htmx:
        return render(request, "sync_engine/_record_run_status.html",
                      {"run": run, "state": None, "error": error, "starting": run is not None},
                      status=200)
    if error:
        messages.error(request, f"Not synced: {error}")
    else:
        messages.success(request, f"Sync queued: “{opportunity.title}” is being sent to {connection.name}.")
    return redirect("opportunities:detail", pk=opportunity.pk)


# --- a record whose Salesforce partner is gone: re-link, skip, re-create -----------------------
# Members decide for one record (like the Sync button); the services check the input and log
# who did it. Each answers by going back to the record page with a message, whose panel then
# shows the new state (and, after a re-link or re-create, the push in progress).

def _default_connection_or_404(request: HttpRequest):
    connection = integration_selectors.salesforce_default_connection(tenant=request.tenant)
    if connection is None:
        raise Http404("No default Salesforce connection.")
    return connection


def _parse_date(text: str) -> tuple[datetime.date | None, str]:
    text = (text or "").strip()
    if not text:
        return None, ""
    try:
        return datetime.date.fromisoformat(text), ""
    except ValueError:
        return None, f"“{text[:20]}” is not a date (YYYY-MM-DD)."


@tenant_page("member")
@require_GET
def opportunity_salesforce_search(request: HttpRequest, pk: int) -> HttpResponse:
    """The Re-link search: the org's opportunities matching title / reference / close date, each
    with a Link button (or the Cothon record it is already linked to)."""
    opportunity = selectors.opportunity_get(tenant=request.tenant, pk=pk)
    connection = _default_connection_or_404(request)
    close_date, error = _parse_date(request.GET.get("close_date", ""))
    candidates: list = []
    if not error:
        try:
            candidates = partner_actions.salesforce_opportunity_search(
                connection=connection, title=request.GET.get("title", ""), reference=request.GET.get("reference", ""),
                close_date=close_date)
        except partner_actions.PartnerActionError as exc:
            error = exc.messages[0]
        except SalesforceError as exc:
            error = f"Salesforce could not be searched ({exc.code}: {exc.message})."
    return render(request, "sync_engine/_relink_candidates.html",
                  {"opportunity": opportunity, "connection": connection, "candidates": candidates, "error": error,
                   "searched": True}, status=400 if error else 200)


def _partner_action(request: HttpRequest, pk: int, do) -> HttpResponse:
    opportunity = selectors.opportunity_get(tenant=request.tenant, pk=pk)
    connection = _default_connection_or_404(request)
    try:
        text = do(connection, opportunity)
    except partner_actions.PartnerActionError as exc:
        messages.error(request, exc.messages[0])
    except SalesforceError as exc:
        messages.error(request, f"Nothing changed: Salesforce could not be read ({exc.code}: {exc.message}).")
    else:
        messages.success(request, text)
    return redirect("opportunities:detail", pk=opportunity.pk)


@tenant_page("member")
@require_POST
def opportunity_relink(request: HttpRequest, pk: int) -> HttpResponse:
    def do(connection, opportunity) -> str:
        sf_id = request.POST.get("salesforce_id", "")
        partner_actions.opportunity_relink(connection=connection, opportunity=opportunity, salesforce_id=sf_id, actor=request.user)
        return f"Re-linked to {sf_id.strip()}: Cothon's values are being sent to it."
    return _partner_action(request, pk, do)


@tenant_page("member")
@require_POST
def opportunity_skip(request: HttpRequest, pk: int) -> HttpResponse:
    def do(connection, opportunity) -> str:
        changed = partner_actions.opportunity_skip(connection=connection, opportunity=opportunity, actor=request.user)
        return (f"Skipped: “{opportunity.title}” is no longer synced with {connection.name}. Unskip it to sync it again."
                if changed else "It was already skipped.")
    return _partner_action(request, pk, do)


@tenant_page("member")
@require_POST
def opportunity_unskip(request: HttpRequest, pk: int) -> HttpResponse:
    def do(connection, opportunity) -> str:
        partner_actions.opportunity_unskip(connection=connection, opportunity=opportunity, actor=request.user)
        return f"Unskipped: “{opportunity.title}” is synced with {connection.name} again."
    return _partner_action(request, pk, do)


@tenant_page("member")
@require_POST
def opportunity_recreate(request: HttpRequest, pk: int) -> HttpResponse:
    def do(connection, opportunity) -> str:
        partner_actions.opportunity_recreate(connection=connection, opportunity=opportunity, actor=request.user)
        return f"Re-creating “{opportunity.title}” in {connection.name} as a new record."
    return _partner_action(request, pk, do)
