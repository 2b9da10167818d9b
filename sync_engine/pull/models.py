"""The pull's own tables: where each connection's incremental pull stands, and the Outbound
Messages Salesforce sent us (stored before we acknowledge them)."""

from __future__ import annotations

from django.db import models

from integrations.models import SalesforceConnection


class PullWatermark(models.Model):
    """How far the incremental pull of one object of one connection has applied.

    `watermark` is the highest SystemModstamp of a page that was applied in full. The next cycle
    reads from min(watermark, queried_at − overlap): a record committed late in Salesforce with an
    earlier stamp than the watermark is not missed, yet once a cycle has run well after the last
    change, idle cycles read nothing again (not the last overlap-window of changes, every time). `lease_until` keeps two workers from pulling one connection
    at once; a killed worker's lease simply runs out."""

    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="pull_watermarks")
    sobject = models.CharField(max_length=80)
    watermark = models.DateTimeField(null=True, blank=True, help_text="SystemModstamp applied up to (empty: never pulled).")
    queried_at = models.DateTimeField(null=True, blank=True,
                                      help_text="When the last fully applied cycle's query started (bounds the overlap window).")
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_result = models.CharField(max_length=20, blank=True)
    last_message = models.TextField(blank=True)
    last_api_calls = models.PositiveIntegerField(default=0)
    last_applied = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "sobject"], name="pull_watermark_unique")]


class InboundNotification(models.Model):
    """One Outbound Message notification (one record), stored before the Ack.

    Salesforce retries until acknowledged and may deliver twice or out of order: the
    notification id is unique per connection, so a replay is acknowledged and not applied
    again. `fields` holds the selected field values as sent (strings, None for xsi:nil)."""

    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="inbound_notifications")
    notification_id = models.CharField(max_length=18)
    action_id = models.CharField(max_length=18, blank=True)
    sobject = models.CharField(max_length=80)
    salesforce_id = models.CharField(max_length=18)
    fields = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=20, blank=True)
    message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Applied, and the opportunity's contact roles not read yet: they are read for many
    # notifications at once (sync_engine.pull.contact_roles.contact_roles_pull_pending).
    contact_roles_pending = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "notification_id"], name="inbound_notification_unique")]
        indexes = [models.Index(fields=["processed_at", "connection", "id"], name="inbound_unprocessed_idx"),
                   models.Index(fields=["connection", "id"], condition=models.Q(contact_roles_pending=True),
                                name="inbound_roles_pending_idx")]
