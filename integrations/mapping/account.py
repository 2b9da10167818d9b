"""Department ↔ Account."""

from __future__ import annotations

from integrations.mapping.common import PlannedWrite
from opportunities.models import Department

KEY_FIELD = "Cothon_Department_Key__c"


def department_external_key(department: Department) -> str:
    """Account.Cothon_Department_Key__c: the organization's number, then the department's key
    (`t12.health-canada`). A department key is unique only within its organization, so without the
    prefix two organizations writing one org would upsert each other's Accounts. Keys written
    before the prefix (no dot: slugs have none) are matched once and re-keyed by Id (the department
    handler)."""
    return f"t{department.tenant_id}.{department.key}"


def to_salesforce(department: Department, *, sobject: str = "Account") -> PlannedWrite:
    key = department_external_key(department)
    return PlannedWrite(
        sobject=sobject, operation="upsert", external_id_field=KEY_FIELD, external_id=key,
        fields={"Name": department.name, KEY_FIELD: key},
        notes=[f"An existing {sobject} with the same name is reused (looked up by name first), otherwise created."],
        label=department.name,
    )
