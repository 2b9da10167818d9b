"""The Cothon side of the field mappings: which fields exist, their kinds and limits."""

from __future__ import annotations

from dataclasses import dataclass

from opportunities.models import AnalysisStatus, Category, OpportunityStatus, ProcurementMethod, PursuitDecision


@dataclass(frozen=True)
class CothonField:
    name: str
    label: str
    kind: str  # text, textarea, money, date, datetime, percent, choice, department, user, constant
    max_length: int | None = None
    choices: tuple[tuple[str, str], ...] = ()
    # Salesforce field types a value of this kind can be written to.
    compatible_types: tuple[str, ...] = ()


_TEXT = ("string", "textarea", "picklist", "url", "email", "phone")

OPPORTUNITY_FIELDS: dict[str, CothonField] = {f.name: f for f in (
    CothonField("title", "Title", "text", 255, compatible_types=("string", "textarea")),
    CothonField("reference", "Reference number", "text", 50, compatible_types=("string",)),
    CothonField("value", "Value (from min/max)", "money", compatible_types=("currency", "double")),
    CothonField("value_max", "Maximum value", "money", compatible_types=("currency", "double")),
    CothonField("closing_date", "Closing date", "date", compatible_types=("date",)),
    CothonField("department", "Department", "department", compatible_types=("reference",)),
    CothonField("status", "Status", "choice", choices=tuple(OpportunityStatus.choices), compatible_types=("picklist", "string")),
    CothonField("category", "Category", "choice", choices=tuple(Category.choices), compatible_types=("picklist", "string")),
    CothonField("procurement_method", "Procurement method", "choice", choices=tuple(ProcurementMethod.choices),
                compatible_types=("picklist", "string")),
    CothonField("location", "Location", "text", 100, compatible_types=_TEXT),
    CothonField("unspsc_code", "UNSPSC code", "text", 20, compatible_types=_TEXT),
    CothonField("compliance_score", "Compliance score", "percent", compatible_types=("percent", "double", "int")),
    CothonField("pursuit_decision", "Pursuit decision", "choice", choices=tuple(PursuitDecision.choices),
                compatible_types=("picklist", "string")),
    CothonField("win_probability", "Win probability", "percent", compatible_types=("percent", "double", "int")),
    CothonField("analysis_status", "Analysis status", "choice", choices=tuple(AnalysisStatus.choices),
                compatible_types=("picklist", "string")),
    CothonField("assignee", "Assigned to", "user", compatible_types=("reference",)),
    CothonField("last_analyzed_at", "Last analyzed", "datetime", compatible_types=("datetime",)),
    CothonField("description", "Description", "textarea", 32000, compatible_types=("textarea", "string")),
    CothonField("full_title", "Full title (when Name is cut)", "text", 255, compatible_types=("string", "textarea")),
    CothonField("source", "Cothon source marker", "constant", compatible_types=("string", "picklist")),
    CothonField("cothon_url", "Link back to Cothon", "constant", compatible_types=("url", "string")),
)}
