"""Settings › Integrations: the tenant's Salesforce connections (admins only)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from opportunities.selectors import salesforce_connection_list
from opportunities.views import tenant_page


def _url_if_exists(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


@tenant_page("admin")
def integration_settings(request: HttpRequest) -> HttpResponse:
    connections = list(salesforce_connection_list(tenant=request.tenant))
    return render(request, "integrations/index.html", {
        "connections": connections,
        "default_connection": next((c for c in connections if c.is_default), None),
        # The connection setup adds this route; until then the page explains, it does not fake.
        "connect_url": _url_if_exists("integrations:connect"),
    })
