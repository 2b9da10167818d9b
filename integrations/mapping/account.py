"""Department ↔ Account: `to_salesforce` (the push) and `from_salesforce` (the pull)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from integrations.mapping import conflicts
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


# --- Account → Department (the pull) ------------------------------------------------------------

PULLED_FIELDS = ("Name",)  # Cothon_Department_Key__c is Cothon's own key: never pulled
# The conflict rule of the Account's name: `conflict_rules["Account.Name"]`, else last write wins
# (the opportunity's own "Name" is its title: another rule).
RULE_KEY = "Account.Name"


@dataclass
class DepartmentInbound:
    """What one pulled Account means for its department: `changes` (department field → value)
    to apply, `agreed` (Account field → value both sides now hold) for the link's base snapshot,
    `skipped` (field, reason) for what stays as Cothon has it."""

    changes: dict[str, Any] = field(default_factory=dict)
    agreed: dict[str, Any] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    held: conflicts.HeldConflict | None = None  # renamed on both sides, held for review
    settled: tuple[str, str] | None = None  # (rule, winning side) of a conflict settled by its rule
    push_back: bool = False  # Cothon's name kept by the rule: push it so both sides converge


def from_salesforce(record: dict[str, Any], department: Department, *, base: dict[str, Any],
                    rule: str = conflicts.LAST_WRITE_WINS, review: bool = False) -> DepartmentInbound:
    """Account.Name → Department.name, applied only when it changed in Salesforce: equal to the
    department's name → agreed; equal to the base snapshot while the department's name differs →
    renamed in Cothon and not pushed yet, Cothon's name is kept; emptied → kept (a department
    needs a name). Renamed on both sides since the base (three different names): a conflict —
    held with `review`, else settled by `rule` (last write wins compares the department's own
    time for its name with the Account's LastModifiedDate)."""
    out = DepartmentInbound()
    if "Name" not in record:
        return out
    name = " ".join(str(record.get("Name") or "").split())[:255]
    if not name:
        out.skipped.append(("Name", "the Account's name is empty in Salesforce; the department keeps its name"))
    elif name == department.name:
        out.agreed["Name"] = name
    elif base.get("Name") == name:
        out.skipped.append(("Name", "renamed in Cothon since the last sync; Cothon's name goes out with the next push"))
    elif "Name" in base and department.name != base["Name"] and _conflict(out, record, department, base, name, rule, review):
        return out
    else:
        out.changes["name"] = name
        out.agreed["Name"] = name
    return out


def _conflict(out: DepartmentInbound, record: dict[str, Any], department: Department, base: dict[str, Any], name: str,
              rule: str, review: bool) -> bool:
    """Renamed on both sides: hold it, or apply the rule. True when Salesforce's name is not applied."""
    changed_at = getattr(department, "field_changed_at", None)
    cothon_at = conflicts.cothon_field_time(changed_at, ("name",))
    salesforce_at = conflicts.salesforce_time(record)
    if review:
        out.held = conflicts.HeldConflict(
            sf_field="Name", cothon_field="name", base=base["Name"], cothon=department.name, salesforce=name,
            cothon_changed_at=cothon_at, salesforce_changed_at=salesforce_at, rule=rule,
            cothon_changed_by=conflicts.cothon_field_author(changed_at, getattr(department, "field_changed_by", None), ("name",)))
        out.skipped.append(("Name", "Renamed on both sides: held for review (neither side changes until someone decides)."))
        return True
    side = conflicts.winner(rule, cothon_at, salesforce_at)
    out.settled = (rule, side)
    if side == conflicts.COTHON:
        out.push_back = True
        out.skipped.append(("Name", f"Renamed on both sides: Cothon's name is kept ({rule.replace('_', ' ')}) "
                                    "and sent to Salesforce."))
        return True
    return False
