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
