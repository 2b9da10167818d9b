"""Requirement → the configured requirement object (`Cothon_Requirement__c`), master-detail
child of the analysis object: its parent is set at creation and never re-parented."""

from __future__ import annotations

from integrations.mapping.common import PlannedWrite, check_lengths, only_described, parent_field
from opportunities.models import Requirement

KEY_FIELD = "Cothon_Key__c"
PARENT_FIELD = "Cothon_Analysis__c"
TYPE = {"mandatory": "Mandatory", "rated": "Rated"}
CAPABILITY = {"met": "Met", "partial": "Partial", "not_met": "Not Met", "unknown": "Unknown"}


def external_key(requirement: Requirement) -> str:
    return f"requirement-{requirement.pk}"


def to_salesforce(requirement: Requirement, *, sobject: str, parent_sobject: str, parent_id: str | None,
                  linked: bool = False, describe_fields: dict[str, dict] | None = None) -> PlannedWrite:
    """`linked`: the record exists in Salesforce (updated by Id), so no parent is sent."""
    key = external_key(requirement)
    fields = {
        KEY_FIELD: key,
        "Cothon_Type__c": TYPE[requirement.kind],
        "Cothon_Capability_Match__c": CAPABILITY.get(requirement.capability_match, "Unknown"),
        "Cothon_Text__c": requirement.text,
        "Cothon_Section__c": requirement.code or None,
        "Cothon_Points__c": float(requirement.weight) if requirement.weight is not None else None,
    }
    if not linked:
        fields[parent_field(describe_fields, parent_sobject, PARENT_FIELD)] = parent_id or {"@analysis": requirement.analysis_id}
    write = PlannedWrite(sobject=sobject, operation="upsert", external_id_field=KEY_FIELD, external_id=key, fields=fields,
                         label=(requirement.code or requirement.text)[:80])
    only_described(write, describe_fields, keep=(KEY_FIELD,))
    check_lengths(write, describe_fields)
    return write
