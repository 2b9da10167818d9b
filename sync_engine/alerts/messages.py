"""What an alert says: the e-mail's subject and body and the webhook's JSON, from one incident
event (or a test), so both channels always carry the same facts."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from sync_engine.alerts.models import AlertEvent, AlertIncident, AlertKind

# The subject's words for each kind ("[Cothon] Production org: paused by API limit").
SUBJECT_WORDS = {
    AlertKind.NEEDS_RECONNECT: "needs reconnecting",
    AlertKind.QUOTA_PAUSED: "paused by API limit",
    AlertKind.ERROR_RATE: "error rate up",
    AlertKind.USAGE_ANOMALY: "API usage anomaly",
}


def health_url(connection_id: int) -> str:
    """The connection's sync health page, absolute (COTHON_BASE_URL)."""
    try:
        path = reverse("sync:health", kwargs={"pk": connection_id})
    except NoReverseMatch:
        # The health page lives under the sync pages (/sync/connections/<pk>/health/); built
        # from the sync index while this branch does not route it by name.
        path = f"{reverse('sync:index')}connections/{connection_id}/health/"
    return f"{settings.COTHON_BASE_URL}{path}"


@dataclass(frozen=True)
class AlertMessage:
    event: str  # incident.opened / incident.recovered / test
    subject: str
    body: str
    payload: dict

    def json_body(self) -> bytes:
        return json.dumps(self.payload, separators=(",", ":")).encode()


def incident_message(incident: AlertIncident, event: str) -> AlertMessage:
    connection = incident.connection
    words = SUBJECT_WORDS[AlertKind(incident.kind)]
    url = health_url(connection.pk)
    recovered = event == AlertEvent.RECOVERED
    subject = f"[Cothon] {connection.name}: {words}" + (" — recovered" if recovered else "")
    opened = f"{incident.opened_at:%Y-%m-%d %H:%M} UTC"
    if recovered:
        reason = f"Recovered: {incident.get_kind_display().lower()} no longer applies."
        body = (f"{reason}\n\nConnection: {connection.name} ({incident.tenant.name})\n"
                f"Opened: {opened}\nResolved: {incident.resolved_at:%Y-%m-%d %H:%M} UTC\n"
                f"When it opened: {incident.detail}\n\nSync health: {url}\n")
        fix = ""
    else:
        reason, fix = incident.detail, incident.fix
        body = (f"{reason}\n\nWhat to do: {fix}\n\nConnection: {connection.name} ({incident.tenant.name})\n"
                f"Since: {opened}\n\nSync health: {url}\n\n"
                "You get one e-mail when this starts and one when it is over.\n")
    payload = {
        "event": f"incident.{event}",
        "incident_id": incident.pk,
        "kind": incident.kind,
        "connection": {"id": connection.pk, "name": connection.name},
        "tenant": incident.tenant.slug,
        "opened_at": incident.opened_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "reason": reason,
        "fix": fix,
        "health_url": url,
    }
    return AlertMessage(f"incident.{event}", subject, body, payload)


def trial_message(tenant, at) -> AlertMessage:
    text = "This is a test alert from Cothon: this channel receives the alerts of your organization."
    body = f"{text}\n\nSent: {at:%Y-%m-%d %H:%M:%S} UTC\nSettings › Alerts: {settings.COTHON_BASE_URL}{reverse('sync_alerts:settings')}\n"
    payload = {"event": "test", "incident_id": None, "kind": None, "connection": None, "tenant": tenant.slug,
               "opened_at": at.isoformat(), "resolved_at": None, "reason": text, "fix": "", "health_url": None}
    return AlertMessage("test", f"[Cothon] Test alert for {tenant.name}", body, payload)
