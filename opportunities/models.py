"""Domain records of a bid team: departments, contacts, opportunities, analyses, comments,
appointments. Every row carries its tenant; reads go through selectors.py, writes through
services.py (which also records the change in the sync outbox)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cothon.models import Tenant
from opportunities.numbers import ReadableDecimalField, money_validators, percent_validators, weight_validators


class TenantOwned(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Department(TenantOwned):
    """A government buyer. Becomes a Salesforce Account."""

    name = models.CharField(max_length=255)
    acronym = models.CharField(max_length=30, blank=True)
    # Stable key pushed to Account.Cothon_Department_Key__c so retries never duplicate.
    key = models.SlugField(max_length=80)
    website = models.URLField(blank=True)
    # The company's "related user" (the 001 seed): the Cothon user who looks after it; set to the
    # quote settings' owner when a Salesforce Account becomes a department through a quote.
    related_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    # When and by whom each field last changed, as on Opportunity: the name is the Account's
    # name, and a rename on both sides is a conflict settled by its rule (docs/conflicts.md).
    field_changed_at = models.JSONField(default=dict, blank=True)
    field_changed_by = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="department_unique_name"),
            models.UniqueConstraint(fields=["tenant", "key"], name="department_unique_key"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(TenantOwned):
    department = models.ForeignKey(Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="contacts")
    first_name = models.CharField(max_length=80, blank=True)
    last_name = models.CharField(max_length=80)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    job_title = models.CharField(max_length=128, blank=True)
    # The person's "related user" (the 001 seed), as Department.related_user.
    related_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class OpportunityContact(TenantOwned):
    """A contact of an opportunity with their role (Salesforce's OpportunityContactRole).

    `salesforce_connection_id`/`salesforce_role_id`: where a pulled row came from (the pull
    replaces the rows of its own connection only; rows added in Cothon have none). A plain id,
    not a foreign key: the domain does not depend on the integrations layer."""

    opportunity = models.ForeignKey("Opportunity", on_delete=models.CASCADE, related_name="contact_roles")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="opportunity_roles")
    role = models.CharField(max_length=80, blank=True)
    is_primary = models.BooleanField(default=False)
    salesforce_connection_id = models.BigIntegerField(null=True, blank=True)
    salesforce_role_id = models.CharField(max_length=18, blank=True)

    class Meta:
        ordering = ["-is_primary", "contact__last_name", "contact__first_name"]
        constraints = [models.UniqueConstraint(fields=["opportunity", "contact"], name="opportunity_contact_unique")]


class OpportunityStatus(models.TextChoices):
    IDENTIFIED = "identified", "Identified"
    ANALYZING = "analyzing", "Analyzing"
    PURSUING = "pursuing", "Pursuing"
    SUBMITTED = "submitted", "Submitted"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Category(models.TextChoices):
    GOODS = "goods", "Goods"
    SERVICES = "services", "Services"
    CONSTRUCTION = "construction", "Construction"
    IT = "it", "Information Technology"
    PROFESSIONAL = "professional", "Professional Services"


class ProcurementMethod(models.TextChoices):
    RFP = "rfp", "Request for Proposal (RFP)"
    RFQ = "rfq", "Request for Quotation (RFQ)"
    STANDING_OFFER = "standing_offer", "Standing Offer"
    SUPPLY_ARRANGEMENT = "supply_arrangement", "Supply Arrangement"
    TASK_AUTHORIZATION = "task_authorization", "Task Authorization"


class PursuitDecision(models.TextChoices):
    PURSUE = "pursue", "Pursue"
    PASS = "pass", "Pass"
    REVIEW = "review", "Review"


class AnalysisStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not Started"
    IN_PROGRESS = "in_progress", "In Progress"
    COMPLETE = "complete", "Complete"


class Opportunity(TenantOwned):
    title = models.CharField(max_length=255)
    # Rarely missing (then Salesforce matching falls back to title + close date, per the seed).
    reference = models.CharField(max_length=50, blank=True, help_text="The buyer's solicitation number, e.g. W6369-225123/A.")
    value_min = ReadableDecimalField(max_digits=16, decimal_places=2, null=True, blank=True, validators=money_validators())
    value_max = ReadableDecimalField(max_digits=16, decimal_places=2, null=True, blank=True, validators=money_validators())
    closing_date = models.DateField(null=True, blank=True)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True, related_name="opportunities")
    status = models.CharField(max_length=20, choices=OpportunityStatus.choices, default=OpportunityStatus.IDENTIFIED)
    category = models.CharField(max_length=20, choices=Category.choices, blank=True)
    procurement_method = models.CharField(max_length=30, choices=ProcurementMethod.choices, blank=True)
    location = models.CharField(max_length=100, blank=True, help_text="Province or territory.")
    unspsc_code = models.CharField("UNSPSC code", max_length=20, blank=True)
    compliance_score = models.PositiveSmallIntegerField(null=True, blank=True, validators=percent_validators())
    pursuit_decision = models.CharField(max_length=10, choices=PursuitDecision.choices, blank=True)
    win_probability = models.PositiveSmallIntegerField(null=True, blank=True, validators=percent_validators())
    analysis_status = models.CharField(max_length=20, choices=AnalysisStatus.choices, default=AnalysisStatus.NOT_STARTED)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    last_analyzed_at = models.DateTimeField(null=True, blank=True)
    description = models.TextField(blank=True, max_length=32000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # Extended data: the org's custom fields that no mapping reads, as last pulled, per
    # connection ({connection id: {"org": name, "fields": {...}, "pulled_at": iso, "warnings": [...]}}).
    # Shown on the record page; written only by the pull (sync_engine.pull).
    salesforce_extra = models.JSONField(default=dict, blank=True)
    # When each field last changed ({field: UTC ISO time}), written by the services on every
    # change (a change pulled from Salesforce: the time of Salesforce's change). "Last write
    # wins" compares a field's own time with Salesforce's, not the row's updated_at.
    field_changed_at = models.JSONField(default=dict, blank=True)
    # Who made each of those changes ({field: user id}, null for a change pulled from
    # Salesforce or made by no one signed in): the Cothon side's author of a conflict.
    field_changed_by = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name_plural = "opportunities"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "reference"], condition=~models.Q(reference=""),
                                    name="opportunity_unique_reference"),
            models.CheckConstraint(
                condition=models.Q(value_min__isnull=True) | models.Q(value_max__isnull=True) | models.Q(value_min__lte=models.F("value_max")),
                name="opportunity_value_min_lte_max",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status"]),
            models.Index(fields=["tenant", "closing_date"]),
            models.Index(fields=["tenant", "-updated_at", "-id"]),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"


class BidAnalysisStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In Progress"
    COMPLETED = "completed", "Completed"


class BidAnalysis(TenantOwned):
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="analyses")
    status = models.CharField(max_length=20, choices=BidAnalysisStatus.choices, default=BidAnalysisStatus.IN_PROGRESS)
    compliance_score = models.PositiveSmallIntegerField(null=True, blank=True, validators=percent_validators())
    summary = models.TextField(blank=True, max_length=32000)
    key_findings = models.TextField(blank=True, max_length=32000, help_text="One finding per line.")
    risks = models.TextField(blank=True, max_length=32000)
    recommendation = models.CharField(max_length=255, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "bid analyses"

    def __str__(self) -> str:
        return f"Analysis of {self.opportunity.reference}"


class RequirementKind(models.TextChoices):
    MANDATORY = "mandatory", "Mandatory"
    RATED = "rated", "Rated"


class CapabilityMatch(models.TextChoices):
    MET = "met", "Met"
    PARTIAL = "partial", "Partially met"
    NOT_MET = "not_met", "Not met"
    UNKNOWN = "unknown", "To assess"


class Requirement(TenantOwned):
    analysis = models.ForeignKey(BidAnalysis, on_delete=models.CASCADE, related_name="requirements")
    code = models.CharField(max_length=30, blank=True, help_text="e.g. M1, R3")
    text = models.TextField(max_length=32000)
    kind = models.CharField(max_length=10, choices=RequirementKind.choices)
    capability_match = models.CharField(max_length=10, choices=CapabilityMatch.choices, default=CapabilityMatch.UNKNOWN)
    weight = models.PositiveSmallIntegerField(null=True, blank=True, validators=weight_validators(),
                                              help_text="Points of a rated requirement, 0–10,000.")
    notes = models.TextField(blank=True, max_length=32000)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.code or self.text[:40]


class Comment(TenantOwned):
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    body = models.TextField(max_length=32000)

    class Meta:
        ordering = ["created_at", "id"]


class Appointment(TenantOwned):
    """A sales appointment pulled from Salesforce by SOQL (the SalesPro flow). Its Salesforce id
    is link state, kept by sync_engine (a SyncLink of record type "appointment")."""

    connection_id = models.BigIntegerField(null=True, blank=True)
    customer_name = models.CharField(max_length=255)
    address = models.CharField(max_length=500, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    result = models.CharField(max_length=100, blank=True)
    result_reason = models.CharField(max_length=255, blank=True)
    # Resulting (Results routing): sale or no sale, the pickers' values by Salesforce field, who and when.
    sale = models.BooleanField(null=True, blank=True)
    result_values = models.JSONField(default=dict, blank=True)
    resulted_at = models.DateTimeField(null=True, blank=True)
    resulted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    notes = models.TextField(blank=True)
    source_fields = models.JSONField(default=dict, blank=True, help_text="Mapped fields as pulled, for display.")

    class Meta:
        ordering = ["starts_at", "id"]
