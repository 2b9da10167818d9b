"""Validate a connection's settings: their shape, and each mapping against the org's describe
(the field exists, the integration user can write it, the type is compatible, the length fits,
picklist values exist). Invalid settings cannot be saved; each problem says why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integrations.mapping.catalog import OPPORTUNITY_FIELDS
from integrations.settings_schema import (
    ACTIVITY_MODES,
    CONFLICT_RULES,
    CONVERSIONS,
    DIRECTIONS,
    FIELD_DIRECTIONS,
    FieldMapping,
    Issue,
    SyncSettings,
    ValidationReport,
    check_shape,
    normalise,
)

__all__ = ["ACTIVITY_MODES", "CONFLICT_RULES", "CONVERSIONS", "DIRECTIONS", "FIELD_DIRECTIONS", "Describe", "Issue",
           "ValidationReport", "validate_settings"]

# Salesforce cuts nothing itself; Cothon cuts the title to Name's length with "…" and keeps the
# whole title in Cothon_Full_Title__c, so a short Name is fine.
_TRUNCATED_WITH_FULL_COPY = {"title"}

Describe = Callable[[str], dict | None]


def validate_settings(data: dict[str, Any], describe: Describe | None) -> ValidationReport:
    """Check the settings (missing keys count as their defaults); with `describe` (sobject →
    describe dict), also against the org."""
    data = normalise(data)
    report = ValidationReport()
    check_shape(data, report)
    if describe is not None and not report.errors:
        _check_against_org(SyncSettings.from_dict(data), describe, report)
    return report


# --- against the org --------------------------------------------------------------------------

def _fields_by_name(describe_payload: dict) -> dict[str, dict]:
    return {f["name"].lower(): f for f in describe_payload.get("fields", [])}


def _picklist_values(sf_field: dict) -> set[str]:
    return {v["value"] for v in sf_field.get("picklistValues") or [] if v.get("active", True)}


def _check_against_org(settings: SyncSettings, describe: Describe, report: ValidationReport) -> None:
    sobject = settings.objects.opportunity
    payload = describe(sobject)
    if payload is None:
        report.error("objects.opportunity", f"The org has no {sobject} object visible to the integration user.")
        return
    fields = _fields_by_name(payload)
    for index, mapping in enumerate(settings.opportunity_mappings):
        path = f"opportunity_mappings[{index}].sf_field"
        cothon = OPPORTUNITY_FIELDS[mapping.cothon_field]
        sf = fields.get(mapping.sf_field.lower())
        if sf is None:
            report.error(path, f"{sobject}.{mapping.sf_field} does not exist in the org, or the integration user cannot see it (field-level security). Install the Cothon custom fields or fix the API name (case matters).")
            continue
        name = sf["name"]
        if settings.pushes_field(name):
            if not sf.get("createable") or not sf.get("updateable"):
                # Salesforce computes Probability from the stage when not writable; say so.
                report.error(path, f"{sobject}.{name} is read-only for the integration user (not createable/updateable); grant edit access or choose another field.")
        if sf["type"] not in cothon.compatible_types:
            report.error(path, f"{cothon.label} ({cothon.kind}) cannot be written to {name}, a {sf['type']} field; compatible types: {', '.join(cothon.compatible_types)}.")
            continue
        account = settings.objects.account
        if cothon.kind == "department" and account not in (sf.get("referenceTo") or []):
            report.error(path, f"{name} must be a lookup to {account} to hold the department.")
        if cothon.kind == "user" and "User" not in (sf.get("referenceTo") or []):
            report.error(path, f"{name} must be a lookup to User to hold the assignee.")
        length = sf.get("length") or 0
        if cothon.max_length and sf["type"] in ("string", "textarea") and length and length < cothon.max_length:
            if cothon.name in _TRUNCATED_WITH_FULL_COPY:
                report.warn(path, f"{name} holds {length} characters; longer titles are cut with “…” and the whole title goes to Cothon_Full_Title__c.")
            else:
                report.error(path, f"{name} holds {length} characters but Cothon's {cothon.label} can be {cothon.max_length}; widen the field in Salesforce or map another one.")
        if cothon.kind == "choice" and sf["type"] == "picklist":
            _check_picklist_values(settings, mapping, cothon, sf, path, report)
    _check_required_fields(settings, sobject, fields, report)
    stages = _picklist_values(fields.get("stagename") or {})
    if stages:
        for stage in settings.import_filter.stages:
            if stage not in stages:
                report.error("import_filter.stages", f"“{stage}” is not a stage of this org (stages: {', '.join(sorted(stages))}).")


def required_fields(fields: dict[str, dict]) -> list[str]:
    """The fields a new record of the object cannot be created without, by its describe:
    writable, not nillable, and without a default Salesforce fills in (checkboxes always have one)."""
    return [f["name"] for f in fields.values()
            if f.get("createable") and f.get("nillable") is False and not f.get("defaultedOnCreate") and f.get("type") != "boolean"]


def _check_required_fields(settings: SyncSettings, sobject: str, fields: dict[str, dict], report: ValidationReport) -> None:
    """Every field the configured object requires is sent: the standard Opportunity needs Name,
    StageName and CloseDate, a custom object only what its own describe says (it may have no
    Amount at all)."""
    if not settings.pushes:
        return
    sent = {m.sf_field.lower() for m in settings.active_mappings if settings.pushes_field(m.sf_field)}
    for name in required_fields(fields):
        if name.lower() not in sent:
            report.error("opportunity_mappings", f"{sobject}.{name} is required in this org: map a Cothon field to it (and send it), "
                                                 "or Salesforce refuses every new record.")


def _check_picklist_values(settings: SyncSettings, mapping: FieldMapping, cothon, sf, path, report: ValidationReport) -> None:
    allowed = _picklist_values(sf)
    restricted = bool(sf.get("restrictedPicklist"))
    if cothon.name == "status":
        values = {f"stage_mapping.{status}": stage for status, stage in settings.stage_mapping.items()}
    else:
        picklist_map = settings.picklist_maps.get(mapping.picklist_map or "", {})
        values = {f"picklist_maps.{mapping.picklist_map}.{k}": v for k, v in picklist_map.items()}
        unmapped = [label for value, label in cothon.choices if value not in picklist_map]
        if mapping.picklist_map is None:
            values = {f"{path}": label for _, label in cothon.choices}
        elif unmapped:
            report.warn(path, f"No Salesforce value for {', '.join(unmapped)}; those records leave {sf['name']} unchanged.")
    for value_path, value in values.items():
        if value not in allowed:
            message = f"“{value}” is not a value of {sf['name']} in this org (values: {', '.join(sorted(allowed)) or 'none'})."
            if restricted or cothon.name == "status":
                report.error(value_path, message)
            else:
                report.warn(value_path, message + " The picklist is not restricted, so Salesforce would accept it as a new value.")
