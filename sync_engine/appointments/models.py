"""The appointment flow's own tables (the 002 seed): what the admin configures per connection
(Workflow › CRM and Appointments, Document / Results routing, Credit App Sending) and each file
routed back to Salesforce with its delivery state.

Appointments themselves are domain records (opportunities.models.Appointment); their Salesforce
record is a SyncLink (record type "appointment"), as for every synced record."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from integrations.models import SalesforceConnection
from opportunities.models import Appointment


class AppointmentSettings(models.Model):
    """Workflow › CRM and Appointments for one connection.

    `soql`: the admin's query; `:user_identifier` (single sign-on: the member's Staff record id,
    bound as a quoted literal) is the only placeholder. `field_mappings`: [{"title": "Customer",
    "sf_field": "i360__Customer_Name__c", "sf_type": "string", "target": "customer_name",
    "show_in_notes": false}] — every sf_field must be selected by the query (checked on save)."""

    connection = models.OneToOneField(SalesforceConnection, on_delete=models.CASCADE, related_name="appointment_settings")
    enabled = models.BooleanField(default=False)
    soql = models.TextField(blank=True, max_length=20000)
    field_mappings = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    def __str__(self) -> str:
        return f"Appointment settings of {self.connection}"


class RoutingKind(models.TextChoices):
    CONTRACT = "contract", "Contract"
    PROPOSAL = "proposal", "Proposal"
    CUSTOM_DOCUMENT = "custom_document", "Custom document"
    RESULTS = "results", "Results"
    CREDIT_APP = "credit_app", "Credit application"


class RoutingRule(models.Model):
    """One routing rule of a connection (the seed's Document Routing per document type, Results
    Routing, Credit App Sending).

    `file_name_template`: e.g. "%customerName% Contract %date%.pdf" (placeholders checked on save).
    `backup_recipients`: e-mail addresses that get the file when its upload fails.
    Results only: `note_title`, `object_class` (e.g. i360__Appointment__c), `sale_pickers` and
    `no_sale_pickers`: [{"title", "options": [..], "sf_field", "required": bool}].
    Credit application only: `disclosure` and the PDF password (encrypted like every credential)."""

    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="routing_rules")
    kind = models.CharField(max_length=20, choices=RoutingKind.choices)
    enabled = models.BooleanField(default=False)
    file_name_template = models.CharField(max_length=255, blank=True)
    backup_recipients = models.JSONField(default=list, blank=True)
    note_title = models.CharField(max_length=255, blank=True)
    object_class = models.CharField(max_length=80, blank=True)
    sale_pickers = models.JSONField(default=list, blank=True)
    no_sale_pickers = models.JSONField(default=list, blank=True)
    disclosure = models.TextField(blank=True, max_length=20000)
    password_encrypted = models.BinaryField(blank=True, default=b"")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "kind"], name="routing_rule_unique_kind")]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to upload"
    UPLOADED = "uploaded", "Uploaded to Salesforce"
    FAILED = "failed", "Upload failed"


class RoutedFile(models.Model):
    """A document, results report or credit application of an appointment on its way to
    Salesforce. The file stays in Cothon whatever happens; a failed upload is e-mailed to the
    rule's backup recipients (`backup_sent_at`) and can be retried."""

    tenant = models.ForeignKey("cothon.Tenant", on_delete=models.CASCADE, related_name="+")
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="routed_files")
    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="routed_files")
    kind = models.CharField(max_length=20, choices=RoutingKind.choices)
    file = models.FileField(upload_to="routed/%Y/%m/")
    file_name = models.CharField(max_length=255, help_text="The name it gets in Salesforce (from the rule's template).")
    size_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    salesforce_document_id = models.CharField(max_length=18, blank=True)
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)
    backup_sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "appointment"]), models.Index(fields=["status", "updated_at"])]


class PullTrigger(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    MANUAL = "manual", "Refresh appointments"


class PullStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Finished"
    FINISHED_WITH_ERRORS = "finished_with_errors", "Finished with errors"
    FAILED = "failed", "Failed"


ACTIVE_PULL_STATUSES = (PullStatus.QUEUED, PullStatus.RUNNING)


class AppointmentPull(models.Model):
    """One appointment pull of a connection (scheduled or the "Refresh appointments" button):
    the admin's query run once per member, with its progress for the page that polls it.

    One queued or running pull per connection: a second request joins it, so a scheduled and an
    on-demand pull never write the same appointments at once. `member_errors`: [{"member":
    "name", "message": "…"}] for members whose query could not run (no identifier, a refused
    login); the other members are pulled all the same."""

    tenant = models.ForeignKey("cothon.Tenant", on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="appointment_pulls")
    trigger = models.CharField(max_length=12, choices=PullTrigger.choices)
    status = models.CharField(max_length=24, choices=PullStatus.choices, default=PullStatus.QUEUED)
    members_total = models.PositiveIntegerField(default=0)
    members_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    rows_failed = models.PositiveIntegerField(default=0, help_text="Rows whose values could not be converted (not written).")
    api_calls = models.PositiveIntegerField(default=0)
    member_errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["connection", "-id"], name="appt_pull_conn_idx")]
        constraints = [models.UniqueConstraint(fields=["connection"], condition=models.Q(status__in=["queued", "running"]),
                                               name="appt_pull_one_active")]

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_PULL_STATUSES

    @property
    def percent(self) -> int:
        if not self.active:
            return 100
        return min(100, int(100 * self.members_done / self.members_total)) if self.members_total else 0


class ResultSendStatus(models.TextChoices):
    PENDING = "pending", "Sending to Salesforce"
    SENT = "sent", "In Salesforce"
    FAILED = "failed", "Not sent"


class ResultSend(models.Model):
    """One resulting of an appointment (Sale / No sale with the Results rule's pickers) on its
    way to Salesforce: the pickers' values written to the record of the rule's object class, a
    Note on it, and the results report PDF routed to it (a RoutedFile of kind "results", which
    keeps its own upload state).

    The values themselves live on the appointment (sale, result_values); this row is what was
    sent, to which record, and how it went, so a failure keeps its code and message for the
    page, and Retry sends the same values again. `note_id` is set once the Note exists, so a
    retry never adds a second one."""

    tenant = models.ForeignKey("cothon.Tenant", on_delete=models.CASCADE, related_name="+")
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="result_sends")
    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="result_sends")
    sale = models.BooleanField()
    values = models.JSONField(default=dict, blank=True, help_text="Salesforce field → value, as sent.")
    object_class = models.CharField(max_length=80)
    record_id = models.CharField(max_length=18, blank=True, help_text="The record of object_class the values went to.")
    status = models.CharField(max_length=12, choices=ResultSendStatus.choices, default=ResultSendStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    fields_written_at = models.DateTimeField(null=True, blank=True)
    note_id = models.CharField(max_length=18, blank=True)
    report = models.ForeignKey(RoutedFile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)
    error_hint = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["tenant", "appointment", "-id"], name="appt_result_send_idx")]
