"""Reads of the quotes from Salesforce, always scoped to a tenant (another tenant's id is a 404)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from cothon.models import Tenant
from integrations.models import SalesforceConnection
from sync_engine.quotes.models import QuoteNotification, QuoteSettings, QuoteSync


def quote_settings_for(*, tenant: Tenant, connection: SalesforceConnection) -> QuoteSettings | None:
    return QuoteSettings.objects.filter(connection__tenant=tenant, connection=connection).first()


def quote_sync_latest(*, tenant: Tenant, connection: SalesforceConnection) -> QuoteSync | None:
    """The connection's running Synchronize now, else its last one."""
    runs = QuoteSync.objects.filter(connection__tenant=tenant, connection=connection).select_related("requested_by")
    return runs.filter(status__in=["queued", "running"]).first() or runs.first()


def quote_sync_get(*, tenant: Tenant, connection: SalesforceConnection, pk: int) -> QuoteSync:
    return get_object_or_404(QuoteSync.objects.filter(connection__tenant=tenant, connection=connection)
                             .select_related("requested_by"), pk=pk)


def quote_notification_latest(*, tenant: Tenant, connection: SalesforceConnection) -> QuoteNotification | None:
    """The last opportunity the org's flow sent (shows the automation works end to end)."""
    return QuoteNotification.objects.filter(connection__tenant=tenant, connection=connection).order_by("-id").first()
