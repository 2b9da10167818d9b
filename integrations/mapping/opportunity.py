"""Opportunity → the configured opportunity object (`Opportunity` by default).

`to_salesforce` is the outbound half; the inbound half (`from_salesforce`) lives beside it in
`opportunity_inbound.py`. A Cothon field emptied after the first sync is sent as null, so clearing
a value in Cothon clears it in Salesforce too (Bulk API 2.0 writes it as `#N/A`)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from integrations.mapping.catalog import OPPORTUNITY_FIELDS
from integrations.mapping.common import ELLIPSIS, MappingContext, PlannedWrite, check_length, field_length, json_value, objects
from integrations.mapping.account import department_external_key
from opportunities.models import Opportunity

EXTERNAL_ID_FIELD = "Cothon_Ref__c"
OWNER_MODES = ("owner", "team_member", "both")
TEAM_MEMBER_ROLE = "Bid Manager"


def owner_mode(settings: dict[str, Any]) -> str:
    """How an assignee reaches Salesforce: as the Owner (default), as an opportunity team
    member, or both."""
    mode = settings.get("owner_mode") or "owner"
    return mode if mode in OWNER_MODES else "owner"


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


def passes_filters(opportunity: Opportunity, filters: dict[str, Any]) -> str | None:
    """None when the connection's filters let the opportunity through, else the reason."""
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


def pushes_field(settings: dict[str, Any], sf_field: str) -> bool:
    direction = settings["direction"]
    if direction == "hybrid":
        return settings.get("field_directions", {}).get(sf_field, "both") in ("push", "both")
    return direction in ("bidirectional", "push")


def to_salesforce(opportunity: Opportunity, ctx: MappingContext, *, linked: bool = False) -> PlannedWrite:
    """The write for one opportunity. `fields["AccountId"]` is `{"@account": key}` until the
    department's Account Id is known (the push fills it in).

    `linked`: the record is already in Salesforce (updated by Id). Then a field emptied in Cothon
    is sent as null, so Salesforce clears it; on a first write it is left out instead, so
    Salesforce's own defaults (Probability from the stage, …) and values already on a matched
    record stay."""
    settings = ctx.settings
    sobject = objects(settings)["opportunity"]
    write = PlannedWrite(sobject=sobject, operation="upsert", external_id_field=EXTERNAL_ID_FIELD,
                         external_id=opportunity.reference or None, label=opportunity.title)
    if settings["direction"] == "pull":
        write.operation = "skip"
        write.notes.append("Sync direction is Salesforce → Cothon (pull only): nothing is pushed.")
        return write
    filtered = passes_filters(opportunity, settings.get("filters") or {})
    if filtered:
        write.operation = "skip"
        write.notes.append(filtered)
        return write
    if not opportunity.reference:
        write.external_id_field = None
        write.notes.append("No reference number: matched by exact Name + CloseDate, created when no match.")
    cleared = []
    for mapping in settings["opportunity_mappings"]:
        cothon_name, sf_field = mapping["cothon_field"], mapping["sf_field"]
        if mapping.get("enabled") is False:
            write.skipped.append((sf_field, "Mapping switched off."))
            continue
        if not pushes_field(settings, sf_field):
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
        name = (described or {}).get("name", sf_field)
        if value is None:
            if not linked:
                write.skipped.append((name, "Empty in Cothon."))
                continue
            cleared.append(name)
        check_length(write, name, value, field_length(ctx.describe_fields, name))
        write.fields[name] = json_value(value)
    if cleared:
        write.notes.append(f"Empty in Cothon, sent as null so Salesforce clears any old value: {', '.join(cleared)}.")
    record_type = (settings.get("record_type_id") or "").strip()
    if record_type:
        if ctx.describe_fields is not None and "recordtypeid" not in ctx.describe_fields:
            write.skipped.append(("RecordTypeId", f"The org has no record types on {sobject}: the configured record type "
                                                  "is not sent."))
        else:
            write.fields["RecordTypeId"] = record_type
            write.notes.append("RecordTypeId is set when the record is created; an existing record keeps its record type.")
    if not write.fields.get("CloseDate") and sobject == "Opportunity":
        write.notes.append("Salesforce requires CloseDate: without a closing date, creating this record fails with REQUIRED_FIELD_MISSING.")
    return write


def _value_for(opportunity: Opportunity, name: str, mapping: dict, ctx: MappingContext, described: dict) -> tuple[Any, str]:
    """(value, "") to send — None clears the field — or (None, reason) to leave it alone."""
    settings = ctx.settings
    if name == "title":
        limit = described.get("length") or 120
        title = opportunity.title
        return (title if len(title) <= limit else title[: limit - 1].rstrip() + ELLIPSIS), ""
    if name == "full_title":
        return opportunity.title, ""
    if name == "value":
        return amount_for(opportunity, settings.get("value_conversion", "midpoint")), ""
    if name == "department":
        if opportunity.department_id is None:
            return None, ""
        return {"@account": department_external_key(opportunity.department)}, ""
    if name == "status":
        stage = settings["stage_mapping"].get(opportunity.status)
        return (stage, "") if stage else (None, f"No stage mapped for “{opportunity.get_status_display()}”.")
    if name == "assignee":
        if owner_mode(settings) == "team_member":
            return None, "Assignees are added as opportunity team members (owner mode): the owner stays as is."
        if opportunity.assignee_id is None:
            return None, "No assignee: the owner stays as is."
        sf_user = ctx.user_ids.get(opportunity.assignee_id)
        return (sf_user, "") if sf_user else (None, f"No Salesforce user mapped for {opportunity.assignee}; the owner stays as is.")
    if name == "source":
        return "Cothon", ""
    if name == "cothon_url":
        return f"{ctx.base_url}/opportunities/{opportunity.pk}/", ""
    raw = getattr(opportunity, name)
    if raw in (None, ""):
        return None, ""
    cothon = OPPORTUNITY_FIELDS[name]
    if cothon.kind == "choice":
        picklist = settings.get("picklist_maps", {}).get(mapping.get("picklist_map") or "", None)
        if picklist is None:
            return dict(cothon.choices)[raw], ""
        mapped = picklist.get(raw)
        return (mapped, "") if mapped else (None, f"No Salesforce value mapped for “{dict(cothon.choices)[raw]}”.")
    return raw, ""
