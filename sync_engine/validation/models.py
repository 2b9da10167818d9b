"""The daily validation's drift report: what differed between Cothon and one Salesforce org, what
was repaired, and whether the Salesforce read was complete. Kept 30 days (services.RETENTION)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from sync_engine.models import CONNECTION, TENANT


class DriftKind(models.TextChoices):
    MISSING_IN_SALESFORCE = "missing_in_salesforce", "Missing in Salesforce"
    MISSING_IN_COTHON = "missing_in_cothon", "Missing in Cothon"
    FIELD_DIFFERENCE = "field_difference", "Field differences"
    ORPHAN = "orphan", "Orphans"


class ReportStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETE = "complete", "Complete"
    # The Salesforce read stopped early or could not be checked: nothing that depends on a
    # record being absent was acted on.
    TRUNCATED = "truncated", "Truncated read"
    FAILED = "failed", "Failed"


class DriftReport(models.Model):
    tenant = models.ForeignKey(TENANT, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(CONNECTION, on_delete=models.CASCADE, related_name="drift_reports")
    run = models.OneToOneField("sync_engine.SyncRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="drift_report")
    status = models.CharField(max_length=12, choices=ReportStatus.choices, default=ReportStatus.RUNNING)
    reason = models.TextField(blank=True, help_text="Why the read is truncated or the run failed.")
    sobject = models.CharField(max_length=80, default="Opportunity")
    read_method = models.CharField(max_length=20, blank=True, help_text="bulk (one Bulk API 2.0 query job) or soql (paged).")
    rows_read = models.PositiveIntegerField(default=0)
    rows_expected = models.PositiveIntegerField(null=True, blank=True, help_text="What Salesforce said the read holds.")
    records_compared = models.PositiveIntegerField(default=0)
    missing_in_salesforce = models.PositiveIntegerField(default=0)
    missing_in_cothon = models.PositiveIntegerField(default=0)
    field_differences = models.PositiveIntegerField(default=0)
    records_with_differences = models.PositiveIntegerField(default=0)
    orphans = models.PositiveIntegerField(default=0)
    # What the run did about it: queued_for_push, applied_from_salesforce, conflicts_held,
    # conflicts_settled, marked_deleted_in_salesforce.
    repairs = models.JSONField(default=dict, blank=True)
    # kind → up to EXAMPLES_PER_KIND examples: record id and title, Salesforce id, field, both values.
    examples = models.JSONField(default=dict, blank=True)
    api_calls = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["connection", "-id"], name="drift_connection_idx")]

    @property
    def complete(self) -> bool:
        return self.status == ReportStatus.COMPLETE

    @property
    def drift_total(self) -> int:
        return self.missing_in_salesforce + self.missing_in_cothon + self.field_differences + self.orphans

    def count_of(self, kind: str) -> int:
        return {DriftKind.MISSING_IN_SALESFORCE: self.missing_in_salesforce, DriftKind.MISSING_IN_COTHON: self.missing_in_cothon,
                DriftKind.FIELD_DIFFERENCE: self.field_differences, DriftKind.ORPHAN: self.orphans}[kind]
