"""Opportunity → the configured opportunity object (`Opportunity` by default).

`to_salesforce` is the outbound half; the inbound half (`from_salesforce`) lives beside it in
`opportunity_inbound.py`. A Cothon field emptied after the first sync is sent as null, so clearing
a value in Cothon clears it in Salesforce too (Bulk API 2.0 writes it as `#N/A`)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from integrations.mapping.catalog import OPPORTUNITY_FIELDS
from integrations.mapping.common import ELLIPSIS, MappingContext, PlannedWrite, check_length, field_length, json_value
from integrations.mapping.account import department_external_key
from integrations.settings_schema import OWNER_MODES, FieldMapping, SyncFilters, SyncSettings
from opportunities.models import Opportunity

EXTERNAL_ID_FIELD = "Cothon_Ref__c"
TEAM_MEMBER_ROLE = "Bid Manager"


def owner_mode(settings: SyncSettings) -> str:
    """How an assignee reaches Salesforce: as the Owner (default), as an opportunity team
    member, or both."""
    return settings.owner_mode if settings.owner_mode in OWNER_MODES else "owner"


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


def passes_filters(opportunity: Opportunity, filters: SyncFilters) -> str | None:
    """None when the connection's filters let the opportunity through, else the reason."""
    if filters.min_value is not None:
        top = opportunity.value_max if opportunity.value_max is not None else opportunity.value_min
        if top is None or top < filters.min_value:
            return f"Filtered out: value below the minimum of ${filters.min_value:,.0f}."
    if filters.statuses and opportunity.status not in filters.statuses:
        return f"Filtered out: status “{opportunity.get_status_display()}” is not in the synced statuses."
    if filters.categories and opportunity.category not in filters.categories:
        return "Filtered out: category is not in the synced categories."
    return None


# Mapped Cothon fields computed from other columns: the columns whose change alters them.
# "source" and "cothon_url" never change after the record is created.
_SOURCES = {"value": {"value_min", "value_max"}, "full_title": {"title"}, "source": set(), "cothon_url": set()}


def changed_salesforce_fields(settings: SyncSettings, changed: set[str]) -> set[str]:
    """The Salesforce fields a change of these Cothon fields touches. An update of a record
    already in Salesforce sends only these, so a value someone changed in Salesforce meanwhile
    (Owner, Stage, Description…) is not put back by an edit of another field."""
    return {m.sf_field.lower() for m in settings.opportunity_mappings
            if _SOURCES.get(m.cothon_field, {m.cothon_field}) & changed}


def cothon_fields_for(settings: SyncSettings, sf_fields: set[str]) -> set[str] | None:
    """The Cothon fields whose change `changed_salesforce_fields` maps to these Salesforce
    fields (lower case): what a re-queued update names so the push sends them (and only
    them). None when one of them no Cothon change reaches (a value set on create only)."""
    out: set[str] = set()
    for name in sf_fields:
        sources = set().union(*(_SOURCES.get(m.cothon_field, {m.cothon_field}) for m in settings.opportunity_mappings
                                if m.sf_field.lower() == name))
        if not sources:
            return None
        out |= sources
    return out


def closing_date_required(ctx: MappingContext, sobject: str) -> bool:
    """Does the object refuse a new record without CloseDate? By its describe; without one
    (not connected), only the standard Opportunity is known to."""
    if ctx.describe_fields is None:
        return sobject == "Opportunity"
    described = ctx.describe_fields.get("closedate")
    return bool(described and described.get("createable", True) and described.get("nillable") is False
                and not described.get("defaultedOnCreate"))


def to_salesforce(opportunity: Opportunity, ctx: MappingContext, *, linked: bool = False) -> PlannedWrite:
    """The write for one opportunity. `fields["AccountId"]` is `{"@account": key}` until the
    department's Account Id is known (the push fills it in).

    `linked`: the record is already in Salesforce (updated by Id). Then a field emptied in Cothon
    is sent as null, so Salesforce clears it; on a first write it is left out instead, so
    Salesforce's own defaults (Probability from the stage, …) and values already on a matched
    record stay."""
    settings = ctx.settings
    sobject = settings.objects.opportunity
    write = PlannedWrite(sobject=sobject, operation="upsert", external_id_field=EXTERNAL_ID_FIELD,
                         external_id=opportunity.reference or None, label=opportunity.title)
    if settings.direction == "pull":
        write.operation = "skip"
        write.notes.append("Sync direction is Salesforce → Cothon (pull only): nothing is pushed.")
        return write
    filtered = passes_filters(opportunity, settings.filters)
    if filtered:
        write.operation = "skip"
        write.notes.append(filtered)
        return write
    if not opportunity.reference:
        write.external_id_field = None
        write.notes.append("No reference number: matched by exact Name + CloseDate, created when no match.")
    cleared = []
    for mapping, skip, described, name, limit in _mapping_plan(ctx):
        if skip:
            write.skipped.append((mapping.sf_field, skip))
            continue
        value, reason = _value_for(opportunity, mapping.cothon_field, mapping, ctx, described)
        if reason:
            write.skipped.append((mapping.sf_field, reason))
            continue
        if value is None:
            if not linked:
                write.skipped.append((name, "Empty in Cothon."))
                continue
            cleared.append(name)
        check_length(write, name, value, limit)
        write.fields[name] = json_value(value)
    if cleared:
        write.notes.append(f"Empty in Cothon, sent as null so Salesforce clears any old value: {', '.join(cleared)}.")
    record_type = settings.record_type_id.strip()
    if record_type:
        if ctx.describe_fields is not None and "recordtypeid" not in ctx.describe_fields:
            write.skipped.append(("RecordTypeId", f"The org has no record types on {sobject}: the configured record type "
                                                  "is not sent."))
        else:
            write.fields["RecordTypeId"] = record_type
            write.notes.append("RecordTypeId is set when the record is created; an existing record keeps its record type.")
    if not write.fields.get("CloseDate") and closing_date_required(ctx, sobject):
        write.notes.append("Salesforce requires CloseDate: without a closing date, creating this record fails with REQUIRED_FIELD_MISSING.")
    return write


def _mapping_plan(ctx: MappingContext) -> list[tuple[FieldMapping, str, dict, str, int | None]]:
    """Per mapping: (mapping, reason it is skipped or "", its describe field, the org's field
    name, its length limit). The same for every record of a context, so a batch works it out
    once (a context's settings and describe do not change)."""
    if "opportunity_plan" in ctx.memo:
        return ctx.memo["opportunity_plan"]
    settings, plan = ctx.settings, []
    for mapping in settings.opportunity_mappings:
        sf_field = mapping.sf_field
        if not mapping.enabled:
            plan.append((mapping, "Mapping switched off.", {}, sf_field, None))
            continue
        if not settings.pushes_field(sf_field):
            plan.append((mapping, "Salesforce → Cothon only for this field (hybrid).", {}, sf_field, None))
            continue
        described = ctx.describe_fields.get(sf_field.lower()) if ctx.describe_fields is not None else {}
        if described is None:
            plan.append((mapping, "Field not in the org (or hidden from the integration user).", {}, sf_field, None))
            continue
        name = described.get("name", sf_field)
        plan.append((mapping, "", described, name, field_length(ctx.describe_fields, name)))
    ctx.memo["opportunity_plan"] = plan
    return plan


def _value_for(opportunity: Opportunity, name: str, mapping: FieldMapping, ctx: MappingContext, described: dict) -> tuple[Any, str]:
    """(value, "") to send — None clears the field — or (None, reason) to leave it alone."""
    settings = ctx.settings
    if name == "title":
        limit = described.get("length") or 120
        title = opportunity.title
        return (title if len(title) <= limit else title[: limit - 1].rstrip() + ELLIPSIS), ""
    if name == "full_title":
        return opportunity.title, ""
    if name == "value":
        return amount_for(opportunity, settings.value_conversion), ""
    if name == "department":
        if opportunity.department_id is None:
            return None, ""
        return {"@account": department_external_key(opportunity.department)}, ""
    if name == "status":
        stage = settings.stage_for(opportunity.status)
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
        picklist = settings.picklist_maps.get(mapping.picklist_map or "")
        if picklist is None:
            return dict(cothon.choices)[raw], ""
        mapped = picklist.get(raw)
        return (mapped, "") if mapped else (None, f"No Salesforce value mapped for “{dict(cothon.choices)[raw]}”.")
    return raw, ""
