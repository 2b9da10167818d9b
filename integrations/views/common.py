"""Helpers shared by the Settings › Integrations views."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from cothon.tenancy.pages import tenant_page
from integrations import selectors
from integrations.models import SalesforceConnection
from integrations.salesforce.errors import HINTS, SalesforceError

OAUTH_SESSION_KEY = "salesforce_oauth_pending"
EVENTS_SHOWN = 30

# What the authorize step's errors mean, for the person who just saw them.
AUTHORIZE_HINTS = {
    "access_denied": "Access was denied on the Salesforce page (Deny was clicked, or the user may not use this connected app). Click Reconnect and choose Allow, or ask your Salesforce admin to approve the app for this user (Setup › Connected Apps › Manage › Profiles).",
    "redirect_uri_mismatch": "The connected app's callback URL does not match Cothon's. Add the callback URL shown on the Connect page to the connected app (Setup › App Manager › Edit › Callback URL).",
    "invalid_client_id": "The consumer key (client id) is not known to this org. Check it in Setup › App Manager, and wait ~10 minutes after creating a connected app.",
    "invalid_request": "Salesforce rejected the sign-in request. Check the login URL and the connected app's OAuth settings (PKCE, scopes api refresh_token offline_access).",
    "OAUTH_APP_BLOCKED": "The connected app is blocked in this org. Unblock it in Setup › Connected Apps OAuth Usage.",
    "state_mismatch": "The sign-in answer did not belong to a sign-in this browser started. Start again from the connection page.",
    "ORG_IN_USE": "Sign in to another org (a different production org or a sandbox). One Salesforce org serves one Cothon organization; nothing was stored for this sign-in.",
}


EVENT_LABELS = {"created": "Created", "connected": "Connected", "refreshed": "Refreshed", "needs_reconnect": "Needs reconnect",
                "disconnected": "Disconnected", "made_default": "Made default", "updated": "Updated",
                "account_cache_cleared": "Cache cleared"}


def _events(request: HttpRequest, connection: SalesforceConnection) -> list:
    events = list(selectors.connection_events(tenant=request.tenant, connection=connection)[:EVENTS_SHOWN])
    for event in events:
        event.label = EVENT_LABELS.get(event.kind, event.kind.replace("_", " ").capitalize())
    return events


def _hint(code: str) -> str:
    if not code:
        return ""
    return AUTHORIZE_HINTS.get(code) or HINTS.get(code) or SalesforceError(code, "").hint


def _is_admin(request: HttpRequest) -> bool:
    return request.membership.has_role("admin")


def _connection(request: HttpRequest, pk: int) -> SalesforceConnection:
    return selectors.salesforce_connection_get(tenant=request.tenant, pk=pk)


def _detail(connection: SalesforceConnection):
    return redirect("integrations:connection", pk=connection.pk)


def _callback_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("integrations:oauth_callback"))


# --- index and connect --------------------------------------------------------------------------

@tenant_page("admin")
def integration_settings(request: HttpRequest) -> HttpResponse:
    connections = list(selectors.salesforce_connection_list(tenant=request.tenant))
    return render(request, "integrations/index.html", {
        "connections": connections,
        "default_connection": next((c for c in connections if c.is_default), None),
        "connect_url": reverse("integrations:connect"),
    })
