"""The shape rules of the sync settings: every value of the JSON, on its own and with the others.
Each problem is reported at its setting's path, in words an admin can act on. (The rules against
the org's describe are in integrations/mapping/validation.py.)"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.mapping.catalog import OPPORTUNITY_FIELDS
from integrations.mapping.defaults import DEFAULT_OBJECTS, DEFAULT_OPPORTUNITY_MAPPINGS
from integrations.settings_schema.editor import map_title
from integrations.settings_schema.model import (
    ACTIVITY_MODES,
    CONFLICT_RULES,
    CONVERSIONS,
    DIRECTIONS,
    FIELD_DIRECTIONS,
    KNOWN_KEYS,
    OWNER_MODES,
    ambiguous_values,
)
from integrations.settings_schema.report import ValidationReport
from opportunities.models import Category, OpportunityStatus

LOCKED = {m["cothon_field"]: m["sf_field"] for m in DEFAULT_OPPORTUNITY_MAPPINGS if m["locked"]}
# Whatever the object: the record's name and the external id Cothon upserts by. The other locked
# mappings (Amount, CloseDate) are the standard Opportunity's; a custom object's required fields
# come from its describe (integrations/mapping/validation.py), so it need not have an Amount.
LOCKED_ON_ANY_OBJECT = ("title", "reference")


def locked_mappings(data: Mapping[str, Any]) -> dict[str, str]:
    """{Cothon field: Salesforce field} of the mappings that cannot be removed or changed."""
    objects = data.get("objects") if isinstance(data.get("objects"), Mapping) else {}
    if (objects.get("opportunity") or DEFAULT_OBJECTS["opportunity"]) == DEFAULT_OBJECTS["opportunity"]:
        return dict(LOCKED)
    return {field: LOCKED[field] for field in LOCKED_ON_ANY_OBJECT}
_API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_RECORD_TYPE_ID = re.compile(r"012[A-Za-z0-9]{12}([A-Za-z0-9]{3})?")
STATUSES = [value for value, _ in OpportunityStatus.choices]


def check_shape(data: Mapping[str, Any], report: ValidationReport) -> None:
    """Check normalised settings (see model.normalise); problems go to `report`."""
    _choice(report, "direction", data.get("direction"), DIRECTIONS)
    _choice(report, "value_conversion", data.get("value_conversion"), CONVERSIONS)
    _choice(report, "owner_mode", data.get("owner_mode"), OWNER_MODES)
    for key in ("flag_conflicts_for_review", "parallel_sync", "import_new", "propagate_deletes"):
        _bool(report, key, data.get(key))
    _check_mappings(data, report)
    _check_stage_mapping(data.get("stage_mapping"), report)
    if _section(report, "picklist_maps", data.get("picklist_maps")):
        _check_picklist_maps(data, report)
    if _section(report, "conflict_rules", data.get("conflict_rules")):
        for rule_path, rule in data["conflict_rules"].items():
            _choice(report, f"conflict_rules.{rule_path}", rule, CONFLICT_RULES)
    _check_filters(data.get("filters"), report)
    _check_import_filter(data.get("import_filter"), report)
    _check_frequencies(data.get("frequencies"), report)
    _check_activity(data.get("activity"), report)
    _int(report, "bulk_threshold", data.get("bulk_threshold"), 1, 1_000_000)
    _check_objects(data, report)
    for key in data:
        if key not in KNOWN_KEYS:
            report.warn(key, f"“{key}” is not a sync setting: it is kept as saved, but nothing reads it.")


# --- small rules ----------------------------------------------------------------------------------

def _choice(report: ValidationReport, path: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        report.error(path, f"Must be one of {', '.join(allowed)}; got {value!r}.")


def _int(report: ValidationReport, path: str, value: Any, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        report.error(path, f"Must be a whole number from {low} to {high}; got {value!r}.")


def _bool(report: ValidationReport, path: str, value: Any) -> None:
    if not isinstance(value, bool):
        report.error(path, f"Must be true or false; got {value!r}.")


def _section(report: ValidationReport, path: str, value: Any) -> bool:
    if isinstance(value, Mapping):
        return True
    report.error(path, "Must be an object ({ … }) of settings.")
    return False


def _amount(report: ValidationReport, path: str, value: Any, message: str) -> None:
    if value in (None, ""):
        return
    try:
        if Decimal(str(value)) < 0:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        report.error(path, message)


def _list_of(report: ValidationReport, path: str, value: Any, allowed: list[str], what: str) -> None:
    if value is None:
        return  # read as an empty list: no restriction
    if not isinstance(value, list):
        report.error(path, f"Must be a list of {what}s.")
        return
    for item in value:
        if item not in allowed:
            report.error(path, f"“{item}” is not a {what}.")


# --- sections -------------------------------------------------------------------------------------

def _check_mappings(data: Mapping[str, Any], report: ValidationReport) -> None:
    mappings = data.get("opportunity_mappings")
    if not isinstance(mappings, list):
        report.error("opportunity_mappings", "Must be a list of field mappings.")
        return
    directions = data.get("field_directions")
    if not isinstance(directions, Mapping):
        report.error("field_directions", "Must be an object of Salesforce field → direction.")
        directions = {}
    maps = data.get("picklist_maps") if isinstance(data.get("picklist_maps"), Mapping) else {}
    targets: dict[str, int] = {}
    present = set()
    locked = locked_mappings(data)
    for index, mapping in enumerate(mappings):
        path = f"opportunity_mappings[{index}]"
        if not isinstance(mapping, Mapping):
            report.error(path, "Must be a mapping with a Cothon field and a Salesforce field.")
            continue
        cothon_field = mapping.get("cothon_field")
        sf_field = str(mapping.get("sf_field") or "").strip()
        if cothon_field not in OPPORTUNITY_FIELDS:
            report.error(f"{path}.cothon_field", f"“{cothon_field}” is not a Cothon opportunity field.")
            continue
        present.add(cothon_field)
        if not sf_field:
            report.error(f"{path}.sf_field", f"Choose the Salesforce field for {OPPORTUNITY_FIELDS[cothon_field].label}.")
            continue
        if cothon_field in locked and sf_field != locked[cothon_field]:
            report.error(f"{path}.sf_field", f"{OPPORTUNITY_FIELDS[cothon_field].label} always maps to {locked[cothon_field]}; this mapping is not customizable.")
        if sf_field.lower() in targets:
            report.error(f"{path}.sf_field", f"{sf_field} is already the target of another mapping (row {targets[sf_field.lower()] + 1}).")
        targets[sf_field.lower()] = index
        if data.get("direction") == "hybrid":
            _choice(report, f"field_directions.{sf_field}", directions.get(sf_field, "both"), FIELD_DIRECTIONS)
        picklist_map = mapping.get("picklist_map")
        if picklist_map and picklist_map not in maps:
            report.error(f"{path}.picklist_map", f"Picklist map “{picklist_map}” does not exist.")
    for field in locked:
        if field not in present:
            report.error("opportunity_mappings", f"{OPPORTUNITY_FIELDS[field].label} → {locked[field]} is required and cannot be removed.")


def _check_stage_mapping(stage_mapping: Any, report: ValidationReport) -> None:
    if not isinstance(stage_mapping, Mapping):
        report.error("stage_mapping", "Must map every Cothon status to a Salesforce stage.")
        return
    for status in STATUSES:
        if not str(stage_mapping.get(status) or "").strip():
            report.error(f"stage_mapping.{status}", f"Choose the Salesforce stage for “{OpportunityStatus(status).label}”.")
    for extra in set(stage_mapping) - set(STATUSES):
        report.error(f"stage_mapping.{extra}", f"“{extra}” is not a Cothon status.")
    seen: dict[str, str] = {}
    for status in STATUSES:
        stage = stage_mapping.get(status)
        if stage and stage in seen:
            report.error(f"stage_mapping.{status}", f"Stage “{stage}” is already mapped from “{OpportunityStatus(seen[stage]).label}”; stage mappings must be 1:1.")
        elif stage:
            seen[stage] = status


def _map_field(data: Mapping[str, Any], name: str, values: Mapping[str, str]) -> Any:
    """The Cothon field a picklist map translates: the mapping that uses it, else the choice field
    whose values are its keys."""
    for mapping in data.get("opportunity_mappings") or []:
        if isinstance(mapping, Mapping) and mapping.get("picklist_map") == name and mapping.get("cothon_field") in OPPORTUNITY_FIELDS:
            return OPPORTUNITY_FIELDS[mapping["cothon_field"]]
    keys = set(values)
    return next((f for f in OPPORTUNITY_FIELDS.values() if f.kind == "choice" and keys and keys <= {v for v, _ in f.choices}), None)


def _check_picklist_maps(data: Mapping[str, Any], report: ValidationReport) -> None:
    maps = data["picklist_maps"]
    for name, values in maps.items():
        if not isinstance(values, Mapping) or not all(isinstance(v, str) for v in values.values()):
            report.error(f"picklist_maps.{name}", "Must be an object of Cothon value → Salesforce value.")
    reverse = data.get("picklist_reverse")
    if not _section(report, "picklist_reverse", reverse):
        return
    for name, declared in reverse.items():
        if name not in maps:
            report.error(f"picklist_reverse.{name}", f"There is no picklist map “{name}” to declare values coming back for.")
        elif not isinstance(declared, Mapping):
            report.error(f"picklist_reverse.{name}", "Must be an object of Salesforce value → Cothon value.")
    for name, values in maps.items():
        if not isinstance(values, Mapping):
            continue
        declared = reverse.get(name) if isinstance(reverse.get(name), Mapping) else {}
        _check_reverse(data, name, values, declared, report)


def _check_reverse(data: Mapping[str, Any], name: str, values: Mapping[str, str], declared: Mapping[str, Any],
                   report: ValidationReport) -> None:
    """A Salesforce value several Cothon values are sent as must say which one it becomes when it
    comes back; a declared value must be one that is sent as it (or the two sides would undo each other)."""
    cothon = _map_field(data, name, values)
    label = (lambda v: dict(cothon.choices).get(v, v)) if cothon else (lambda v: v)
    title = map_title(name)
    for sf_value, group in ambiguous_values(values).items():
        if not declared.get(sf_value):
            names = ", ".join(label(v) for v in group[:-1]) + f" and {label(group[-1])}"
            report.error(f"picklist_reverse.{name}.{sf_value}",
                         f"Picklist map “{title}” sends {names} to “{sf_value}”: choose which one “{sf_value}” becomes "
                         f"in Cothon when it comes from Salesforce.")
    for sf_value, cothon_value in declared.items():
        path = f"picklist_reverse.{name}.{sf_value}"
        if cothon_value in (None, ""):
            continue  # reported above when it is needed
        if cothon_value not in values:
            report.error(path, f"“{cothon_value}” is not a Cothon value of picklist map “{title}”.")
        elif values[cothon_value] != sf_value:
            report.error(path, f"Picklist map “{title}”: “{sf_value}” would come back as {label(cothon_value)}, but "
                               f"{label(cothon_value)} is sent as “{values[cothon_value] or 'nothing'}”. Choose a value that is sent as “{sf_value}”.")


def _check_filters(filters: Any, report: ValidationReport) -> None:
    if not _section(report, "filters", filters):
        return
    _amount(report, "filters.min_value", filters.get("min_value"), "Minimum value must be a positive amount, or empty for no minimum.")
    _list_of(report, "filters.statuses", filters.get("statuses"), STATUSES, "Cothon status")
    _list_of(report, "filters.categories", filters.get("categories"), list(Category.values), "Cothon category")


def _check_import_filter(import_filter: Any, report: ValidationReport) -> None:
    if not _section(report, "import_filter", import_filter):
        return
    stages = import_filter.get("stages")
    if not isinstance(stages, list) or not all(isinstance(s, str) and s.strip() for s in stages):
        report.error("import_filter.stages", "Must be a list of Salesforce stage names (none: any stage).")
    _bool(report, "import_filter.require_cothon_ref", import_filter.get("require_cothon_ref"))


def _check_frequencies(freq: Any, report: ValidationReport) -> None:
    if not _section(report, "frequencies", freq):
        return
    _int(report, "frequencies.incremental_minutes", freq.get("incremental_minutes"), 5, 1440)
    _int(report, "frequencies.reconciliation_minutes", freq.get("reconciliation_minutes"), 15, 1440)
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", str(freq.get("daily_full_at", ""))):
        report.error("frequencies.daily_full_at", "Use a 24-hour time like 02:00.")


def _check_activity(activity: Any, report: ValidationReport) -> None:
    if not _section(report, "activity", activity):
        return
    _choice(report, "activity.mode", activity.get("mode"), ACTIVITY_MODES)
    _int(report, "activity.batch_window_minutes", activity.get("batch_window_minutes"), 0, 1440)
    _amount(report, "activity.min_value", activity.get("min_value"), "The minimum value must be a positive amount, or empty for any value.")
    _list_of(report, "activity.stages", activity.get("stages"), STATUSES, "Cothon status")
    _list_of(report, "activity.types", activity.get("types"), list(Category.values), "Cothon category")


def _check_objects(data: Mapping[str, Any], report: ValidationReport) -> None:
    objects = data.get("objects")
    if _section(report, "objects", objects):
        for key, name in objects.items():
            if not isinstance(name, str) or not _API_NAME.fullmatch(name):
                report.error(f"objects.{key}", f"Use the object's API name, e.g. Opportunity or Bid__c; got {name!r}.")
    record_type = data.get("record_type_id")
    if record_type not in ("", None) and not (isinstance(record_type, str) and _RECORD_TYPE_ID.fullmatch(record_type)):
        report.error("record_type_id", "A record type Id has 15 or 18 letters and digits and starts with 012; leave it empty for the default record type.")
