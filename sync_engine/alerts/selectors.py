"""Reads of the alerts, always scoped by tenant."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from cothon.models import Tenant
from sync_engine.alerts.models import AlertDelivery, AlertIncident


def alert_incident_list(*, tenant: Tenant, state: str | None = None) -> QuerySet[AlertIncident]:
    """The tenant's incidents, newest first, with their deliveries; state "open" or "resolved"."""
    incidents = (AlertIncident.objects.filter(tenant=tenant).select_related("connection")
                 .prefetch_related(Prefetch("deliveries", queryset=AlertDelivery.objects.order_by("event", "channel"))))
    if state == "open":
        incidents = incidents.filter(resolved_at__isnull=True)
    elif state == "resolved":
        incidents = incidents.filter(resolved_at__isnull=False)
    return incidents


def alert_incident_get(*, tenant: Tenant, pk: int) -> AlertIncident:
    return get_object_or_404(alert_incident_list(tenant=tenant), pk=pk)


def alert_delivery_get(*, tenant: Tenant, pk: int) -> AlertDelivery:
    return get_object_or_404(AlertDelivery.objects.filter(incident__tenant=tenant), pk=pk)
