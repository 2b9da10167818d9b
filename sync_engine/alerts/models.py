"""Alerts (issue 20): each tenant's alert settings, the incidents opened from a connection's
health (sync_engine.health) and every delivery of an incident's opening and recovery.

An incident is one stretch of time during which a kind of trouble was active on a connection:
at most one is open per (connection, kind) — a partial unique constraint, so two evaluators
running at once cannot open it twice. A delivery is one message on one channel for one event
of one incident, unique on those three, so it is sent once however often the evaluator runs;
its row is written with the incident, before anything is sent, so a crash between the two
leaves a pending delivery that the next run sends."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cothon.models import Tenant
from integrations.models import SalesforceConnection


class AlertKind(models.TextChoices):
    NEEDS_RECONNECT = "needs_reconnect", "Needs reconnecting"
    QUOTA_PAUSED = "quota_paused", "Paused by the API limit"
    ERROR_RATE = "error_rate", "Error rate up"
    USAGE_ANOMALY = "usage_anomaly", "API usage anomaly"


def all_kinds() -> list[str]:
    return [kind.value for kind in AlertKind]


class AlertSettings(models.Model):
    """Where a tenant's alerts go. `recipients`: a list of e-mail addresses; `kinds`: the
    AlertKind values that alert. The webhook's signing secret is stored encrypted
    (integrations.crypto) and shown once, when generated."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="alert_settings")
    enabled = models.BooleanField(default=False)
    recipients = models.JSONField(default=list, blank=True)
    webhook_url = models.URLField(max_length=500, blank=True)
    webhook_secret_encrypted = models.BinaryField(blank=True, default=b"")
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    kinds = models.JSONField(default=all_kinds, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    def __str__(self) -> str:
        return f"Alert settings of {self.tenant}"

    @property
    def has_secret(self) -> bool:
        return bool(self.webhook_secret_encrypted)


class AlertIncident(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="alert_incidents")
    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="alert_incidents")
    kind = models.CharField(max_length=30, choices=AlertKind.choices)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    detail = models.TextField(blank=True, help_text="The health reason when the incident opened.")
    fix = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["connection", "kind"], condition=models.Q(resolved_at__isnull=True),
                                               name="alert_incident_one_open_per_kind")]
        indexes = [models.Index(fields=["tenant", "-opened_at"], name="alert_incident_tenant_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.connection_id} since {self.opened_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class AlertEvent(models.TextChoices):
    OPENED = "opened", "Opened"
    RECOVERED = "recovered", "Recovered"


class AlertChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class AlertDelivery(models.Model):
    """One message of one incident's event on one channel. `next_attempt_at` is when it is due;
    a sender claims it by moving that forward (a lease), so a sender killed mid-send leaves it
    due again soon after."""

    incident = models.ForeignKey(AlertIncident, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=20, choices=AlertEvent.choices)
    channel = models.CharField(max_length=20, choices=AlertChannel.choices)
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["incident", "event", "channel"], name="alert_delivery_once")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="alert_delivery_due_idx")]
