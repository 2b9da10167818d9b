"""The Sync health page of one connection: its status with every reason and fix, the queue,
the last success of each schedule, latency both ways, errors by code, API usage with its
projection, open conflicts and failing records. The body polls itself every 10 s (HTMX), so
a pause or a recovery shows without a reload. Viewers read it; another tenant's id is a 404."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from cothon.tenancy.pages import is_htmx, tenant_page
from sync_engine import selectors
from sync_engine.health_selectors import PACE_HOURS, connection_health_report


@tenant_page("viewer")
@require_GET
def connection_health_page(request: HttpRequest, pk: int) -> HttpResponse:
    connection = selectors.sync_connection_get(tenant=request.tenant, pk=pk)
    report = connection_health_report(connection=connection)
    context = {"connection": connection, "report": report, "health": report.health, "tab": "health",
               "pace_hours": PACE_HOURS}
    template = "sync_engine/_health_body.html" if is_htmx(request) else "sync_engine/health.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
