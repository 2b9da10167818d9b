"""The Sync button of an opportunity: queue a manual-priority push of this record to the
tenant's default Salesforce connection and answer with the polled progress area of the
Salesforce panel (sync_engine's record_run_status decides when the record has a result)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from cothon.tenancy.pages import tenant_page
from integrations import selectors as integration_selectors
from opportunities import selectors
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
