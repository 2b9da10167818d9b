"""Proposals (sections, generated document) and quotes with line items."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from opportunities.models import Contact, Department, Opportunity, TenantOwned
from opportunities.numbers import ReadableDecimalField, money_validators, quantity_validators, unit_price_validators


CENT = Decimal("0.01")


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
    """A price proposal to a company (a Department: Salesforce's Account) and a person (a Contact).

    A quote that came from a Salesforce opportunity (the 001 seed's flow) is linked to it by a
    SyncLink (record type "quote"), which sync_engine owns; at most one quote per opportunity.
    `subtotal`, `discount_total`, `tax_total` and `total` are stored (lists and the API read them
    without the lines) and recomputed by proposals.services from the lines on every line change."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.SET_NULL, null=True, blank=True, related_name="quotes")
    number = models.CharField(max_length=40)
    title = models.CharField(max_length=255)
    status = models.CharField(max_length=20, choices=QuoteStatus.choices, default=QuoteStatus.SCOPING)
    currency = models.CharField(max_length=3, default="CAD")
    company = models.ForeignKey(Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="quotes")
    person = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="quotes")
    # Free-text names for a quote whose company/person is not (yet) a record; the records win.
    company_name = models.CharField(max_length=255, blank=True)
    contact_name = models.CharField(max_length=255, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    terms = models.TextField(blank=True, max_length=20000)
    notes = models.TextField(blank=True, max_length=20000)
    subtotal = ReadableDecimalField(max_digits=16, decimal_places=2, default=Decimal("0"), validators=money_validators())
    discount_total = ReadableDecimalField(max_digits=16, decimal_places=2, default=Decimal("0"), validators=money_validators())
    tax_total = ReadableDecimalField(max_digits=16, decimal_places=2, default=Decimal("0"), validators=money_validators())
    total = ReadableDecimalField(max_digits=16, decimal_places=2, default=Decimal("0"), validators=money_validators())
    # Values of the tenant's QuoteCustomField definitions, by key (checked by the services).
    custom_values = models.JSONField(default=dict, blank=True)
    pdf = models.FileField(upload_to="quotes/%Y/%m/", blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "number"], name="quote_unique_number")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class LineKind(models.TextChoices):
    SERVICE = "service", "Service"
    PRODUCT = "product", "Product"


class QuoteLineItem(TenantOwned):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="line_items")
    kind = models.CharField(max_length=10, choices=LineKind.choices, default=LineKind.SERVICE)
    description = models.CharField(max_length=500)
    unit = models.CharField(max_length=20, blank=True, help_text="e.g. hour, day, each")
    quantity = ReadableDecimalField(max_digits=12, decimal_places=2, default=Decimal("1"), validators=quantity_validators())
    unit_price = ReadableDecimalField(max_digits=14, decimal_places=2, default=Decimal("0"), validators=unit_price_validators())
    discount_percent = ReadableDecimalField(max_digits=5, decimal_places=2, default=Decimal("0"),
                                            validators=[MinValueValidator(0), MaxValueValidator(100)])
    tax_percent = ReadableDecimalField(max_digits=5, decimal_places=2, default=Decimal("0"),
                                       validators=[MinValueValidator(0), MaxValueValidator(100)])
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    @property
    def gross(self) -> Decimal:
        """Quantity × unit price, before discount."""
        return (self.quantity * self.unit_price).quantize(CENT)

    @property
    def discount(self) -> Decimal:
        return (self.gross * self.discount_percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def amount(self) -> Decimal:
        """The line's net amount: gross less its discount, before tax."""
        return self.gross - self.discount

    @property
    def tax(self) -> Decimal:
        return (self.amount * self.tax_percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)


class CustomFieldType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    CHECKBOX = "checkbox", "Checkbox"
    DROPDOWN = "dropdown", "Drop-down list"


class QuoteCustomField(TenantOwned):
    """A field the tenant adds to its quotes (the 001 seed's custom fields: Text, Number,
    Checkbox, Drop-down list). Values live in Quote.custom_values under `key`."""

    label = models.CharField(max_length=80)
    key = models.SlugField(max_length=60)
    field_type = models.CharField(max_length=10, choices=CustomFieldType.choices)
    # Drop-down list choices, in order (at least one); empty for the other types.
    options = models.JSONField(default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="quote_custom_field_unique_key")]

    def __str__(self) -> str:
        return self.label
