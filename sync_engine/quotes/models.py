"""The quote flow's own tables (the 001 seed): each connection's quote settings.

Opportunities reach Cothon as quotes through a flow + outbound message this app creates in the
org; the quote settings live here, not in the versioned sync settings, because they drive a
different flow (opportunity → quote) with its own page (Settings › Integrations › Salesforce ›
Quotes)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from integrations.models import SalesforceConnection


class ConditionOperator(models.TextChoices):
    EQUALS = "=", "equals (=)"
    GREATER = ">", "more than (>)"
    LESS = "<", "less than (<)"
    LESS_OR_EQUAL = "<=", "less than or equal to (<=)"
    GREATER_OR_EQUAL = ">=", "more than or equal to (>=)"


class QuoteSettings(models.Model):
    """What turns a Salesforce opportunity into a Cothon quote, for one connection.

    `conditions`: [{"field": "Amount", "operator": ">", "value": "10000"}] — AND-ed, on
    Salesforce opportunity fields (sent in the outbound message too), checked against the org's
    describe when saved; the value is stored as a canonical string of the field's type.
    `field_mappings`: [{"sf_field": "Description", "target": "notes"}] where target is a quote
    field ("title", "currency", "valid_until", "terms", "notes") or "custom:<key>" of a
    proposals.QuoteCustomField; types are checked when saved and again when a value arrives.
    `automation`: what was last set up in the org (outbound message id, flow version, when, the
    error if the org refused) — shown on the page, written only by the automation service."""

    connection = models.OneToOneField(SalesforceConnection, on_delete=models.CASCADE, related_name="quote_settings")
    opportunity_to_quote = models.BooleanField(default=False, help_text="Opportunities that reach the trigger stage become quotes.")
    contact_to_person = models.BooleanField(default=True, help_text="Create or match the person of each quote from its contact.")
    trigger_stage = models.CharField(max_length=255, blank=True, help_text="The StageName that makes a quote.")
    conditions = models.JSONField(default=list, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              help_text="Author of the quotes and related user of the companies and people synced.")
    sync_back = models.BooleanField(default=False, help_text="Allow Send to Salesforce (quoted sum and PDF).")
    field_mappings = models.JSONField(default=list, blank=True)
    automation = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    def __str__(self) -> str:
        return f"Quote settings of {self.connection}"


class QuoteNotification(models.Model):
    """One notification of the org's "Cothon integration" Outbound Message (one opportunity
    that reached the trigger stage), stored before the Ack and processed after commit.

    The notification id is unique per connection: Salesforce retries until acknowledged and may
    deliver a message twice, and a replay is acknowledged without being stored again. `fields`
    holds the values as sent (strings, None for xsi:nil). `quote_id` is the quote it made or
    found (a plain id: the quote may be deleted later, the history stays)."""

    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="quote_notifications")
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
    quote_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "notification_id"], name="quote_notification_unique")]
        indexes = [models.Index(fields=["processed_at", "connection", "id"], name="quote_notification_todo_idx")]


class QuoteSyncMode(models.TextChoices):
    QUOTES = "quotes", "Opportunities → quotes (and their companies and people)"
    CONTACTS = "contacts", "Contacts → people only"


class QuoteSyncStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Finished"
    FINISHED_WITH_ERRORS = "finished_with_errors", "Finished with errors"
    FAILED = "failed", "Failed"


class QuoteSync(models.Model):
    """One "Synchronize now" of a connection's quote settings, with its progress and counts.

    Mode `quotes`: the opportunities at the trigger stage meeting the conditions that have no
    quote yet (those the flow never sent: created already at the stage). Mode `contacts`
    (Opportunity → Quote off): Salesforce Contacts → people. Idempotent: a second run finds the
    links the first made. `heartbeat_at` moves while a worker runs it, so the sweeper can tell a
    run whose worker died (it sends the task again; what was done is not done twice)."""

    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="quote_syncs")
    mode = models.CharField(max_length=10, choices=QuoteSyncMode.choices)
    status = models.CharField(max_length=24, choices=QuoteSyncStatus.choices, default=QuoteSyncStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0, help_text="Quotes (or people) created.")
    matched = models.PositiveIntegerField(default=0, help_text="People matched to an existing one (contacts mode).")
    existing = models.PositiveIntegerField(default=0, help_text="Already had a quote (or a linked person): nothing done.")
    failed = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["connection", "-id"], name="quote_sync_connection_idx")]

    @property
    def active(self) -> bool:
        return self.status in (QuoteSyncStatus.QUEUED, QuoteSyncStatus.RUNNING)

    @property
    def percent(self) -> int:
        if not self.total:
            return 0 if self.active else 100
        return min(100, int(100 * self.processed / self.total))


class QuoteSendStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Retrying"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


IN_FLIGHT_SEND_STATUSES = (QuoteSendStatus.QUEUED, QuoteSendStatus.SENDING, QuoteSendStatus.RETRYING)


class QuoteSend(models.Model):
    """One Send to Salesforce of a quote (the 001 seed's "send the quoted sum and PDF"): the
    opportunity's Amount set to the quote's total and the quote PDF attached to it as a file
    (a ContentVersion; a later send adds a version of the same ContentDocument).

    A row per attempt by a person, newest last: the latest is what the quote page shows (result,
    time, by whom, amount, file version, or the error's code, message and fix). At most one is in
    flight per quote (the constraint), so two clicks never upload two files. Written only by
    sync_engine/quotes/send.py."""

    tenant = models.ForeignKey("cothon.Tenant", on_delete=models.CASCADE, related_name="+")
    quote = models.ForeignKey("proposals.Quote", on_delete=models.CASCADE, related_name="salesforce_sends")
    connection = models.ForeignKey(SalesforceConnection, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The Salesforce opportunity written to (the configured object and its record).
    sobject = models.CharField(max_length=80)
    salesforce_id = models.CharField(max_length=18)
    status = models.CharField(max_length=10, choices=QuoteSendStatus.choices, default=QuoteSendStatus.QUEUED)
    currency = models.CharField(max_length=3, blank=True)
    amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True,
                                 help_text="The quote's total sent as the opportunity's Amount.")
    amount_updated = models.BooleanField(default=False, help_text="Salesforce accepted the new Amount.")
    file_name = models.CharField(max_length=255, blank=True)
    content_document_id = models.CharField(max_length=18, blank=True)
    content_version_id = models.CharField(max_length=18, blank=True)
    version_number = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    api_calls = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)
    error_hint = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["quote"], condition=models.Q(status__in=["queued", "sending", "retrying"]),
                                    name="quote_send_one_in_flight"),
        ]
        indexes = [models.Index(fields=["tenant", "quote", "-id"], name="quote_send_latest")]

    def __str__(self) -> str:
        return f"Send of quote {self.quote_id} ({self.status})"

    @property
    def in_flight(self) -> bool:
        return self.status in IN_FLIGHT_SEND_STATUSES
