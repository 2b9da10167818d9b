"""Proposals (sections, generated document) and quotes with line items."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from opportunities.models import Opportunity, TenantOwned
from opportunities.numbers import ReadableDecimalField, money_validators, quantity_validators, unit_price_validators


class ProposalStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    READY = "ready", "Ready for Review"
    SUBMITTED = "submitted", "Submitted"


class Proposal(TenantOwned):
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="proposals")
    title = models.CharField(max_length=255)
    status = models.CharField(max_length=20, choices=ProposalStatus.choices, default=ProposalStatus.DRAFT)
    document = models.FileField(upload_to="proposals/%Y/%m/", blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class ProposalSection(TenantOwned):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="sections")
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True, max_length=100000)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]


class QuoteStatus(models.TextChoices):
    SCOPING = "scoping", "Scoping"
    SENT = "sent", "Sent"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"


class Quote(TenantOwned):
    opportunity = models.ForeignKey(Opportunity, on_delete=models.SET_NULL, null=True, blank=True, related_name="quotes")
    number = models.CharField(max_length=40)
    title = models.CharField(max_length=255)
    status = models.CharField(max_length=20, choices=QuoteStatus.choices, default=QuoteStatus.SCOPING)
    currency = models.CharField(max_length=3, default="CAD")
    company_name = models.CharField(max_length=255, blank=True)
    contact_name = models.CharField(max_length=255, blank=True)
    # A quote that came from a Salesforce opportunity (the Scoro flow) is linked to it by a
    # SyncLink (record type "quote"), which sync_engine owns; the API shows its id.
    total = ReadableDecimalField(max_digits=16, decimal_places=2, default=Decimal("0"), validators=money_validators())
    pdf = models.FileField(upload_to="quotes/%Y/%m/", blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "number"], name="quote_unique_number")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class QuoteLineItem(TenantOwned):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="line_items")
    description = models.CharField(max_length=500)
    quantity = ReadableDecimalField(max_digits=12, decimal_places=2, default=Decimal("1"), validators=quantity_validators())
    unit_price = ReadableDecimalField(max_digits=14, decimal_places=2, default=Decimal("0"), validators=unit_price_validators())
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))
