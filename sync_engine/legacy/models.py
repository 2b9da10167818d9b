"""Match Legacy Records: a one-time job per connection that proposes links between Cothon
opportunities not linked in the connection and Salesforce opportunities without Cothon_Ref__c,
and the proposals people accept or reject.

A proposal row is unique per (connection, Cothon opportunity, Salesforce id): a new run
refreshes the evidence of open rows and never turns a rejected or accepted one back into an
open one, so a rejected pair is never proposed again."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from integrations.models import SalesforceConnection


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Finished"
    FAILED = "failed", "Failed"


ACTIVE_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class LegacyMatchJob(models.Model):
    """One run of the matcher. `cursor` is the last Salesforce Id whose candidates were saved
    (the job reads the org's legacy opportunities in Id order), so a run started again after a
    killed worker carries on from there; `lease_until` is renewed with each saved chunk, so a
    dead worker's run can be taken over once it runs out."""

    tenant = models.ForeignKey("cothon.Tenant", on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="legacy_match_jobs")
    status = models.CharField(max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED)
    phase = models.CharField(max_length=120, blank=True, help_text="What the job is doing now, for the progress line.")
    salesforce_total = models.PositiveIntegerField(default=0, help_text="Legacy Salesforce opportunities read.")
    cothon_total = models.PositiveIntegerField(default=0, help_text="Cothon opportunities not linked in the connection.")
    processed = models.PositiveIntegerField(default=0, help_text="Salesforce opportunities scored so far.")
    proposals = models.PositiveIntegerField(default=0, help_text="Proposals saved by this job (new or refreshed).")
    api_calls = models.PositiveIntegerField(default=0)
    read_with = models.CharField(max_length=12, blank=True, help_text="soql (paged) or bulk (Bulk API 2.0 query).")
    cursor = models.CharField(max_length=18, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_owner = models.CharField(max_length=40, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(default=timezone.now, help_text="Last sent to a worker (created, resumed).")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["connection", "-id"], name="legacy_job_conn_idx")]
        constraints = [
            # One queued or running job per connection: a second start resumes it instead.
            models.UniqueConstraint(fields=["connection"], condition=models.Q(status__in=["queued", "running"]),
                                    name="legacy_job_one_active"),
        ]

    @property
    def percent(self) -> int:
        if self.status == JobStatus.SUCCEEDED:
            return 100
        return min(100, int(100 * self.processed / self.salesforce_total)) if self.salesforce_total else 0

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_JOB_STATUSES


class ProposalStatus(models.TextChoices):
    OPEN = "open", "To review"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    SUPERSEDED = "superseded", "No longer a candidate"


class LegacyMatchProposal(models.Model):
    """A probable match: one Cothon opportunity, one legacy Salesforce opportunity, the score
    (0–100) and the evidence of each signal (`evidence`: {signal: {"score", "detail", …}})."""

    tenant = models.ForeignKey("cothon.Tenant", on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="legacy_proposals")
    job = models.ForeignKey(LegacyMatchJob, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    opportunity = models.ForeignKey("opportunities.Opportunity", on_delete=models.CASCADE, related_name="+")
    salesforce_id = models.CharField(max_length=18)
    sf_name = models.CharField(max_length=255)
    sf_close_date = models.DateField(null=True, blank=True)
    sf_amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    sf_account_id = models.CharField(max_length=18, blank=True)
    sf_account_name = models.CharField(max_length=255, blank=True)
    sf_stage = models.CharField(max_length=80, blank=True)
    score = models.FloatField()
    title_score = models.FloatField()
    date_difference_days = models.IntegerField(null=True, blank=True)
    evidence = models.JSONField(default=dict)
    rank = models.PositiveSmallIntegerField(default=1, help_text="1 = the best candidate for this Salesforce opportunity.")
    status = models.CharField(max_length=12, choices=ProposalStatus.choices, default=ProposalStatus.OPEN)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "opportunity", "salesforce_id"], name="legacy_proposal_unique_pair")]
        indexes = [models.Index(fields=["connection", "status", "-score"], name="legacy_prop_review_idx"),
                   models.Index(fields=["connection", "salesforce_id"], name="legacy_prop_sf_idx")]
