"""HTML forms for bid analyses and their requirements. They parse input; the rules live in
opportunities/services.py, whose field-keyed ValidationErrors land on the named fields."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import fields_for_model

from cothon.forms import add_service_errors, describe_errors
from opportunities.models import BidAnalysis, CapabilityMatch, Requirement
from opportunities.numbers import PERCENT_MAX, WEIGHT_MAX

ANALYSIS_FIELDS = ("summary", "key_findings", "risks", "recommendation", "compliance_score")
REQUIREMENT_FIELDS = ("code", "text", "kind", "capability_match", "weight", "notes")

# Salesforce's Cothon_Recommendation__c is a picklist (Pursue / Pass / Review Needed): the
# sync sends the recommendation's first word when it is one of those.
RECOMMENDATION_HELP = "Start with Pursue, Pass or Review — Salesforce receives that word as the recommendation."

# How much each capability match counts towards the suggested compliance score.
MATCH_CREDIT = {CapabilityMatch.MET: 1.0, CapabilityMatch.PARTIAL: 0.5, CapabilityMatch.NOT_MET: 0.0}


class ServiceForm(forms.Form):
    """A form whose save goes through a service: errors named after a field go on it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_fields()
        describe_errors(self)

    def add_fields(self) -> None:
        """Fields built at run time (from the model); declared fields need nothing here."""

    def add_service_errors(self, exc: ValidationError) -> None:
        add_service_errors(self, exc)


class AnalysisForm(ServiceForm):
    def add_fields(self) -> None:
        self.fields.update(fields_for_model(BidAnalysis, fields=ANALYSIS_FIELDS))
        self.order_fields(ANALYSIS_FIELDS)
        self.fields["compliance_score"].label = "Compliance score (%)"
        self.fields["compliance_score"].widget.attrs.update({"min": "0", "max": str(PERCENT_MAX)})
        self.fields["compliance_score"].help_text = "Optional while in progress; set when you complete the analysis."
        self.fields["key_findings"].help_text = "One finding per line."
        self.fields["recommendation"].widget.attrs["placeholder"] = "e.g. Pursue with a partner for bilingual support"
        self.fields["recommendation"].help_text = RECOMMENDATION_HELP
        for name in ("summary", "key_findings", "risks"):
            self.fields[name].widget.attrs["rows"] = 4


class RequirementForm(ServiceForm):
    def add_fields(self) -> None:
        self.fields.update(fields_for_model(Requirement, fields=REQUIREMENT_FIELDS))
        self.order_fields(REQUIREMENT_FIELDS)
        self.fields["text"].label = "Requirement"
        self.fields["text"].error_messages["required"] = "Describe the requirement."
        self.fields["text"].widget.attrs["rows"] = 2
        self.fields["notes"].widget.attrs["rows"] = 2
        self.fields["kind"].choices = [("", "— Choose —"), *[c for c in self.fields["kind"].choices if c[0]]]
        self.fields["kind"].error_messages["required"] = "Choose mandatory or rated."
        self.fields["code"].widget.attrs["placeholder"] = "M1"
        self.fields["weight"].widget.attrs.update({"min": "0", "max": str(WEIGHT_MAX)})
        self.fields["weight"].help_text = f"Points, 0–{WEIGHT_MAX:,}."


class AnalysisCompleteForm(ServiceForm):
    compliance_score = forms.IntegerField(
        label="Compliance score (%)", min_value=0, max_value=100,
        help_text="Rolled up to the opportunity and sent to Salesforce.",
        error_messages={"required": "Enter the compliance score (0–100)."},
    )
    recommendation = forms.CharField(label="Recommendation", max_length=255, required=False,
                                     help_text=RECOMMENDATION_HELP)


def suggested_compliance_score(analysis: BidAnalysis) -> int | None:
    """Share of assessed requirements met (partially met counts half); None before any is assessed."""
    credits = [MATCH_CREDIT[r.capability_match] for r in analysis.requirements.all()
               if r.capability_match in MATCH_CREDIT]
    if not credits:
        return None
    return math.floor(100 * sum(credits) / len(credits) + 0.5)  # half up: 62.5 → 63, as people round


def attach_analysis_forms(analysis: BidAnalysis, *, requirement_form: RequirementForm | None = None,
                          complete_form: AnalysisCompleteForm | None = None) -> BidAnalysis:
    """Give an analysis the forms its card shows (blank, or the ones that just failed)."""
    analysis.requirement_form = requirement_form or RequirementForm(prefix=f"req-{analysis.pk}")
    analysis.complete_form = complete_form or AnalysisCompleteForm(
        prefix=f"done-{analysis.pk}",
        initial={"compliance_score": analysis.compliance_score if analysis.compliance_score is not None
                 else suggested_compliance_score(analysis),
                 "recommendation": analysis.recommendation},
    )
    return analysis
