"""The tables a new connection starts with: the 000 seed's mappings and decisions.md.

The settings themselves (every key, its default and its validation) are the schema in
integrations/settings_schema/; these are the big default tables it starts from."""

from __future__ import annotations

from typing import Any

# (cothon field, Salesforce field, locked, extra) — seed 000 "Opportunity Field Mappings".
DEFAULT_OPPORTUNITY_MAPPINGS: list[dict[str, Any]] = [
    {"cothon_field": "title", "sf_field": "Name", "locked": True},
    {"cothon_field": "reference", "sf_field": "Cothon_Ref__c", "locked": True},
    {"cothon_field": "value", "sf_field": "Amount", "locked": True},
    {"cothon_field": "value_max", "sf_field": "Cothon_Max_Value__c", "locked": False},
    {"cothon_field": "closing_date", "sf_field": "CloseDate", "locked": True},
    {"cothon_field": "department", "sf_field": "AccountId", "locked": False},
    {"cothon_field": "status", "sf_field": "StageName", "locked": False},
    {"cothon_field": "category", "sf_field": "Type", "locked": False, "picklist_map": "category_to_type"},
    {"cothon_field": "procurement_method", "sf_field": "Cothon_Method__c", "locked": False, "picklist_map": "procurement_method"},
    {"cothon_field": "location", "sf_field": "Cothon_Location__c", "locked": False},
    {"cothon_field": "unspsc_code", "sf_field": "Cothon_UNSPSC__c", "locked": False},
    {"cothon_field": "compliance_score", "sf_field": "Cothon_Compliance__c", "locked": False},
    {"cothon_field": "pursuit_decision", "sf_field": "Cothon_Pursuit__c", "locked": False, "picklist_map": "pursuit_decision"},
    {"cothon_field": "win_probability", "sf_field": "Probability", "locked": False},
    {"cothon_field": "analysis_status", "sf_field": "Cothon_Analysis_Status__c", "locked": False, "picklist_map": "analysis_status"},
    {"cothon_field": "assignee", "sf_field": "OwnerId", "locked": False},
    {"cothon_field": "last_analyzed_at", "sf_field": "Cothon_Last_Analysis__c", "locked": False},
    {"cothon_field": "description", "sf_field": "Description", "locked": False},
    {"cothon_field": "full_title", "sf_field": "Cothon_Full_Title__c", "locked": False},
    {"cothon_field": "source", "sf_field": "Cothon_Source__c", "locked": False},
    {"cothon_field": "cothon_url", "sf_field": "Cothon_Url__c", "locked": False},
]

DEFAULT_STAGE_MAPPING = {
    "identified": "Prospecting",
    "analyzing": "Qualification",
    "pursuing": "Proposal",
    "submitted": "Negotiation",
    "won": "Closed Won",
    "lost": "Closed Lost",
}

DEFAULT_PICKLIST_MAPS: dict[str, dict[str, str]] = {
    "category_to_type": {
        "goods": "New Business", "services": "Services", "construction": "New Business",
        "it": "Services", "professional": "Services",
    },
    "procurement_method": {
        "rfp": "RFP", "rfq": "RFQ", "standing_offer": "Standing Offer",
        "supply_arrangement": "Supply Arrangement", "task_authorization": "Task Authorization",
    },
    # The seed's "Procurement Method → Type" table, ready for an admin to switch Type to it.
    "procurement_method_to_type": {
        "rfp": "New Business", "rfq": "New Business", "standing_offer": "Existing Business",
        "supply_arrangement": "Existing Business", "task_authorization": "Existing Business",
    },
    "pursuit_decision": {"pursue": "Pursue", "pass": "Pass", "review": "Review Needed"},
    "analysis_status": {"not_started": "Not Started", "in_progress": "In Progress", "complete": "Complete"},
}

# Seed 000 "Custom Rules": Amount/Value and CloseDate and custom fields Cothon wins; Stage last
# write wins; Owner Salesforce wins. Anything not listed: last write wins.
DEFAULT_CONFLICT_RULES = {
    "Amount": "cothon_wins",
    "Cothon_Max_Value__c": "cothon_wins",
    "CloseDate": "cothon_wins",
    "StageName": "last_write_wins",
    "OwnerId": "salesforce_wins",
    "custom_fields": "cothon_wins",
}

# Seed 000's Category → Type and Procurement method → Type tables send several Cothon values to
# one Salesforce value; a value coming back from Salesforce needs one Cothon value (the first of
# each group, which an admin can change).
DEFAULT_PICKLIST_REVERSE: dict[str, dict[str, str]] = {
    "category_to_type": {"New Business": "goods", "Services": "services"},
    "procurement_method_to_type": {"New Business": "rfp", "Existing Business": "standing_offer"},
}

DEFAULT_OBJECTS = {
    "opportunity": "Opportunity",
    "account": "Account",
    "analysis": "Cothon_Analysis__c",
    "requirement": "Cothon_Requirement__c",
}


def default_settings() -> dict[str, Any]:
    """A new connection's settings as a dict (the schema in integrations.settings_schema owns them)."""
    from integrations.settings_schema import SyncSettings

    return SyncSettings().to_dict()
