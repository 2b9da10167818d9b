"""Validate a connection's settings: their shape, and each mapping against the org's describe
(the field exists, the integration user can write it, the type is compatible, the length fits,
picklist values exist). Invalid settings cannot be saved; each problem says why."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.mapping.catalog import OPPORTUNITY_FIELDS
from integrations.mapping.defaults import DEFAULT_OPPORTUNITY_MAPPINGS
from opportunities.models import Category, OpportunityStatus

DIRECTIONS = ("bidirectional", "push", "pull", "hybrid")
FIELD_DIRECTIONS = ("push", "pull", "both")
CONFLICT_RULES = ("cothon_wins", "salesforce_wins", "last_write_wins")
CONVERSIONS = ("midpoint", "min", "max")
ACTIVITY_MODES = ("tasks", "notes", "off")
_LOCKED = {m["cothon_field"]: m["sf_field"] for m in DEFAULT_OPPORTUNITY_MAPPINGS if m["locked"]}
# Salesforce cuts nothing itself; Cothon cuts the title to Name's length with "…" and keeps the
# whole title in Cothon_Full_Title__c, so a short Name is fine.
_TRUNCATED_WITH_FULL_COPY = {"title"}

Describe = Callable[[str], dict | None]


@dataclass(frozen=True)
class Issue:
    path: str  # e.g. "opportunity_mappings[3].sf_field", "stage_mapping.won"
    message: str


@dataclass
class ValidationReport:
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, path: str, message: str) -> None:
        self.errors.append(Issue(path, message))

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(Issue(path, message))


def validate_settings(data: dict[str, Any], describe: Describe | None) -> ValidationReport:
    """Check the settings; with `describe` (sobject → describe dict), also against the org."""
    report = ValidationReport()
    _check_shape(data, report)
    if describe is not None and not report.errors:
        _check_against_org(data, describe, report)
    return report


# --- shape ------------------------------------------------------------------------------------

def _check_choice(report: ValidationReport, path: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        report.error(path, f"Must be one of {', '.join(allowed)}; got {value!r}.")


def _check_int(report: ValidationReport, path: str, value: Any, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        report.error(path, f"Must be a whole number from {low} to {high}; got {value!r}.")


def _check_shape(data: dict[str, Any], report: ValidationReport) -> None:
    _check_choice(report, "direction", data.get("direction"), DIRECTIONS)
    _check_choice(report, "value_conversion", data.get("value_conversion"), CONVERSIONS)
    _check_mappings_shape(data.get("opportunity_mappings"), data, report)

    stage_mapping = data.get("stage_mapping")
    statuses = [value for value, _ in OpportunityStatus.choices]
    if not isinstance(stage_mapping, dict):
        report.error("stage_mapping", "Must map every Cothon status to a Salesforce stage.")
    else:
        for status in statuses:
            if not str(stage_mapping.get(status) or "").strip():
                report.error(f"stage_mapping.{status}", f"Choose the Salesforce stage for “{OpportunityStatus(status).label}”.")
        for extra in set(stage_mapping) - set(statuses):
            report.error(f"stage_mapping.{extra}", f"“{extra}” is not a Cothon status.")
        seen: dict[str, str] = {}
        for status in statuses:
            stage = stage_mapping.get(status)
            if stage and stage in seen:
                report.error(f"stage_mapping.{status}", f"Stage “{stage}” is already mapped from “{OpportunityStatus(seen[stage]).label}”; stage mappings must be 1:1.")
            elif stage:
                seen[stage] = status

    for rule_path, rule in (data.get("conflict_rules") or {}).items():
        _check_choice(report, f"conflict_rules.{rule_path}", rule, CONFLICT_RULES)

    filters = data.get("filters") or {}
    if filters.get("min_value") not in (None, ""):
        try:
            if Decimal(str(filters["min_value"])) < 0:
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            report.error("filters.min_value", "Minimum value must be a positive amount, or empty for no minimum.")
    for status in filters.get("statuses") or []:
        if status not in statuses:
            report.error("filters.statuses", f"“{status}” is not a Cothon status.")
    for category in filters.get("categories") or []:
        if category not in Category.values:
            report.error("filters.categories", f"“{category}” is not a Cothon category.")

    freq = data.get("frequencies") or {}
    _check_int(report, "frequencies.incremental_minutes", freq.get("incremental_minutes"), 5, 1440)
    _check_int(report, "frequencies.reconciliation_minutes", freq.get("reconciliation_minutes"), 15, 1440)
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", str(freq.get("daily_full_at", ""))):
        report.error("frequencies.daily_full_at", "Use a 24-hour time like 02:00.")

    activity = data.get("activity") or {}
    _check_choice(report, "activity.mode", activity.get("mode"), ACTIVITY_MODES)
    _check_int(report, "activity.batch_window_minutes", activity.get("batch_window_minutes"), 0, 1440)
    _check_int(report, "bulk_threshold", data.get("bulk_threshold"), 1, 1_000_000)


def _check_mappings_shape(mappings: Any, data: dict[str, Any], report: ValidationReport) -> None:
    if not isinstance(mappings, list):
        report.error("opportunity_mappings", "Must be a list of field mappings.")
        return
    targets: dict[str, int] = {}
    present = set()
    for index, mapping in enumerate(mappings):
        path = f"opportunity_mappings[{index}]"
        cothon_field = mapping.get("cothon_field")
        sf_field = str(mapping.get("sf_field") or "").strip()
        if cothon_field not in OPPORTUNITY_FIELDS:
            report.error(f"{path}.cothon_field", f"“{cothon_field}” is not a Cothon opportunity field.")
            continue
        present.add(cothon_field)
        if not sf_field:
            report.error(f"{path}.sf_field", f"Choose the Salesforce field for {OPPORTUNITY_FIELDS[cothon_field].label}.")
            continue
        if cothon_field in _LOCKED and sf_field != _LOCKED[cothon_field]:
            report.error(f"{path}.sf_field", f"{OPPORTUNITY_FIELDS[cothon_field].label} always maps to {_LOCKED[cothon_field]}; this mapping is not customizable.")
        if sf_field.lower() in targets:
            report.error(f"{path}.sf_field", f"{sf_field} is already the target of another mapping (row {targets[sf_field.lower()] + 1}).")
        targets[sf_field.lower()] = index
        if data.get("direction") == "hybrid":
            direction = (data.get("field_directions") or {}).get(sf_field, "both")
            _check_choice(report, f"field_directions.{sf_field}", direction, FIELD_DIRECTIONS)
        picklist_map = mapping.get("picklist_map")
        if picklist_map and picklist_map not in (data.get("picklist_maps") or {}):
            report.error(f"{path}.picklist_map", f"Picklist map “{picklist_map}” does not exist.")
    for locked in _LOCKED:
        if locked not in present:
            report.error("opportunity_mappings", f"{OPPORTUNITY_FIELDS[locked].label} → {_LOCKED[locked]} is required and cannot be removed.")


# --- against the org --------------------------------------------------------------------------

def _fields_by_name(describe_payload: dict) -> dict[str, dict]:
    return {f["name"].lower(): f for f in describe_payload.get("fields", [])}


def _picklist_values(sf_field: dict) -> set[str]:
    return {v["value"] for v in sf_field.get("picklistValues") or [] if v.get("active", True)}


def _writes_to_salesforce(data: dict[str, Any], sf_field: str) -> bool:
    direction = data["direction"]
    if direction == "hybrid":
        return (data.get("field_directions") or {}).get(sf_field, "both") in ("push", "both")
    return direction in ("bidirectional", "push")


def _check_against_org(data: dict[str, Any], describe: Describe, report: ValidationReport) -> None:
    sobject = (data.get("objects") or {}).get("opportunity", "Opportunity")
    payload = describe(sobject)
    if payload is None:
        report.error("objects.opportunity", f"The org has no {sobject} object visible to the integration user.")
        return
    fields = _fields_by_name(payload)
    for index, mapping in enumerate(data["opportunity_mappings"]):
        path = f"opportunity_mappings[{index}].sf_field"
        cothon = OPPORTUNITY_FIELDS[mapping["cothon_field"]]
        sf = fields.get(mapping["sf_field"].lower())
        if sf is None:
            report.error(path, f"{sobject}.{mapping['sf_field']} does not exist in the org, or the integration user cannot see it (field-level security). Install the Cothon custom fields or fix the API name (case matters).")
            continue
        name = sf["name"]
        if _writes_to_salesforce(data, name):
            if not sf.get("createable") or not sf.get("updateable"):
                # Salesforce computes Probability from the stage when not writable; say so.
                report.error(path, f"{sobject}.{name} is read-only for the integration user (not createable/updateable); grant edit access or choose another field.")
        if sf["type"] not in cothon.compatible_types:
            report.error(path, f"{cothon.label} ({cothon.kind}) cannot be written to {name}, a {sf['type']} field; compatible types: {', '.join(cothon.compatible_types)}.")
            continue
        if cothon.kind == "department" and "Account" not in (sf.get("referenceTo") or []):
            report.error(path, f"{name} must be a lookup to Account to hold the department.")
        if cothon.kind == "user" and "User" not in (sf.get("referenceTo") or []):
            report.error(path, f"{name} must be a lookup to User to hold the assignee.")
        length = sf.get("length") or 0
        if cothon.max_length and sf["type"] in ("string", "textarea") and length and length < cothon.max_length:
            if cothon.name in _TRUNCATED_WITH_FULL_COPY:
                report.warn(path, f"{name} holds {length} characters; longer titles are cut with “…” and the whole title goes to Cothon_Full_Title__c.")
            else:
                report.error(path, f"{name} holds {length} characters but Cothon's {cothon.label} can be {cothon.max_length}; widen the field in Salesforce or map another one.")
        if cothon.kind == "choice" and sf["type"] == "picklist":
            _check_picklist_values(data, mapping, cothon, sf, path, report)


def _check_picklist_values(data, mapping, cothon, sf, path, report: ValidationReport) -> None:
    allowed = _picklist_values(sf)
    restricted = bool(sf.get("restrictedPicklist"))
    if cothon.name == "status":
        values = {f"stage_mapping.{status}": stage for status, stage in data["stage_mapping"].items()}
    else:
        picklist_map = (data.get("picklist_maps") or {}).get(mapping.get("picklist_map") or "", {})
        values = {f"picklist_maps.{mapping.get('picklist_map')}.{k}": v for k, v in picklist_map.items()}
        unmapped = [label for value, label in cothon.choices if value not in picklist_map]
        if mapping.get("picklist_map") is None:
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
