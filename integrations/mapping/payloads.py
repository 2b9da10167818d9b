"""Turn Cothon records into the Salesforce writes a sync would make.

Pure functions of (record, settings, org describe, user links): the dry run shows their
result and the push engine sends it, so what an admin previews is what is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from integrations.mapping.catalog import OPPORTUNITY_FIELDS
from opportunities.models import Department, Opportunity

ELLIPSIS = "…"


@dataclass
class PlannedWrite:
    sobject: str
    operation: str  # upsert | create | skip
    external_id_field: str | None
    external_id: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (field, reason)
    notes: list[str] = field(default_factory=list)
    label: str = ""


@dataclass(frozen=True)
class MappingContext:
    settings: dict[str, Any]
    describe_fields: dict[str, dict] | None = None  # lower-case field name -> describe field
    user_ids: dict[int, str] = field(default_factory=dict)  # Cothon user id -> Salesforce User Id
    base_url: str = ""


def department_external_key(department: Department) -> str:
    """Account.Cothon_Department_Key__c: the organization's number, then the department's key
    (`t12.health-canada`). A department key is unique only within its organization, so without the
    prefix two organizations writing one org would upsert each other's Accounts. Keys written
    before the prefix (no dot: slugs have none) are matched once and re-keyed by Id (accounts.py)."""
    return f"t{department.tenant_id}.{department.key}"


def department_write(department: Department) -> PlannedWrite:
    key = department_external_key(department)
    return PlannedWrite(
        sobject="Account", operation="upsert", external_id_field="Cothon_Department_Key__c", external_id=key,
        fields={"Name": department.name, "Cothon_Department_Key__c": key},
        notes=["An existing Account with the same name is reused (looked up by name first), otherwise created."],
        label=department.name,
    )


def amount_for(opportunity: Opportunity, conversion: str) -> Decimal | None:
    low, high = opportunity.value_min, opportunity.value_max
    if low is None and high is None:
        return None
    if low is None or high is None:
        return low if low is not None else high
    if conversion == "min":
        return low
    if conversion == "max":
        return high
    return ((low + high) / 2).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _passes_filters(opportunity: Opportunity, filters: dict[str, Any]) -> str | None:
    min_value = filters.get("min_value")
    if min_value not in (None, ""):
        top = opportunity.value_max if opportunity.value_max is not None else opportunity.value_min
        if top is None or top < Decimal(str(min_value)):
            return f"Filtered out: value below the minimum of ${Decimal(str(min_value)):,.0f}."
    if filters.get("statuses") and opportunity.status not in filters["statuses"]:
        return f"Filtered out: status “{opportunity.get_status_display()}” is not in the synced statuses."
    if filters.get("categories") and opportunity.category not in filters["categories"]:
        return "Filtered out: category is not in the synced categories."
    return None


def _pushes_field(settings: dict[str, Any], sf_field: str) -> bool:
    direction = settings["direction"]
    if direction == "hybrid":
        return settings.get("field_directions", {}).get(sf_field, "both") in ("push", "both")
    return direction in ("bidirectional", "push")


def opportunity_write(opportunity: Opportunity, ctx: MappingContext) -> PlannedWrite:
    settings = ctx.settings
    sobject = settings.get("objects", {}).get("opportunity", "Opportunity")
    write = PlannedWrite(sobject=sobject, operation="upsert", external_id_field="Cothon_Ref__c",
                         external_id=opportunity.reference or None, label=opportunity.title)
    if settings["direction"] == "pull":
        write.operation = "skip"
        write.notes.append("Sync direction is Salesforce → Cothon (pull only): nothing is pushed.")
        return write
    filtered = _passes_filters(opportunity, settings.get("filters") or {})
    if filtered:
        write.operation = "skip"
        write.notes.append(filtered)
        return write
    if not opportunity.reference:
        write.external_id_field = None
        write.notes.append("No reference number: matched by exact Name + CloseDate, created when no match.")
    for mapping in settings["opportunity_mappings"]:
        cothon_name, sf_field = mapping["cothon_field"], mapping["sf_field"]
        if mapping.get("enabled") is False:
            write.skipped.append((sf_field, "Mapping switched off."))
            continue
        if not _pushes_field(settings, sf_field):
            write.skipped.append((sf_field, "Salesforce → Cothon only for this field (hybrid)."))
            continue
        described = ctx.describe_fields.get(sf_field.lower()) if ctx.describe_fields is not None else {}
        if described is None:
            write.skipped.append((sf_field, "Field not in the org (or hidden from the integration user)."))
            continue
        value, reason = _value_for(opportunity, cothon_name, mapping, ctx, described or {})
        if reason:
            write.skipped.append((sf_field, reason))
            continue
        write.fields[(described or {}).get("name", sf_field)] = _json_value(value)
    if "CloseDate" not in write.fields and write.operation != "skip":
        write.notes.append("Salesforce requires CloseDate: without a closing date, creating this record fails with REQUIRED_FIELD_MISSING.")
    return write


def _value_for(opportunity: Opportunity, name: str, mapping: dict, ctx: MappingContext, described: dict) -> tuple[Any, str]:
    settings = ctx.settings
    if name == "title":
        limit = described.get("length") or 120
        title = opportunity.title
        return (title if len(title) <= limit else title[: limit - 1].rstrip() + ELLIPSIS), ""
    if name == "full_title":
        return opportunity.title, ""
    if name == "value":
        amount = amount_for(opportunity, settings.get("value_conversion", "midpoint"))
        return (amount, "") if amount is not None else (None, "No value in Cothon.")
    if name == "department":
        if opportunity.department_id is None:
            return None, "No department."
        return {"@account": department_external_key(opportunity.department)}, ""
    if name == "status":
        stage = settings["stage_mapping"].get(opportunity.status)
        return (stage, "") if stage else (None, f"No stage mapped for “{opportunity.get_status_display()}”.")
    if name == "assignee":
        if opportunity.assignee_id is None:
            return None, "No assignee."
        sf_user = ctx.user_ids.get(opportunity.assignee_id)
        return (sf_user, "") if sf_user else (None, f"No Salesforce user mapped for {opportunity.assignee}; the owner stays as is.")
    if name == "source":
        return "Cothon", ""
    if name == "cothon_url":
        return f"{ctx.base_url}/opportunities/{opportunity.pk}/", ""
    raw = getattr(opportunity, name)
    if raw in (None, ""):
        return None, "Empty in Cothon."
    cothon = OPPORTUNITY_FIELDS[name]
    if cothon.kind == "choice":
        picklist = settings.get("picklist_maps", {}).get(mapping.get("picklist_map") or "", None)
        if picklist is None:
            return dict(cothon.choices)[raw], ""
        mapped = picklist.get(raw)
        return (mapped, "") if mapped else (None, f"No Salesforce value mapped for “{dict(cothon.choices)[raw]}”.")
    return raw, ""
