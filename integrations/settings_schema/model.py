"""The sync settings of one connection, typed.

A version's JSON (ConnectionSettingsVersion.data) is read through `normalise` (every missing key
gets its default, so a version saved before a key existed still loads) and `SyncSettings.from_dict`
(typed, read-only access). `to_dict` writes the canonical JSON a new version stores. The shape
rules live in checks.py, the editor's inputs in editor.py.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.mapping.defaults import (
    DEFAULT_CONFLICT_RULES,
    DEFAULT_OBJECTS,
    DEFAULT_OPPORTUNITY_MAPPINGS,
    DEFAULT_PICKLIST_MAPS,
    DEFAULT_PICKLIST_REVERSE,
    DEFAULT_STAGE_MAPPING,
)

DIRECTIONS = ("bidirectional", "push", "pull", "hybrid")
FIELD_DIRECTIONS = ("push", "pull", "both")
CONFLICT_RULES = ("cothon_wins", "salesforce_wins", "last_write_wins")
CONVERSIONS = ("midpoint", "min", "max")
ACTIVITY_MODES = ("tasks", "notes", "off")
OWNER_MODES = ("owner", "team_member", "both")
DEFAULT_CONFLICT_RULE = "last_write_wins"
CUSTOM_FIELDS_RULE = "custom_fields"  # the conflict rule of every …__c field without its own


def conflict_rule_for(rules: dict[str, str], sf_field: str) -> str:
    """The rule of a Salesforce field: its own, else the custom fields' rule for a …__c field,
    else last write wins (the raw settings dict's `conflict_rules` or a SyncSettings')."""
    if sf_field in rules:
        return rules[sf_field]
    if sf_field.endswith("__c") and CUSTOM_FIELDS_RULE in rules:
        return rules[CUSTOM_FIELDS_RULE]
    return DEFAULT_CONFLICT_RULE


class SettingsShapeError(ValueError):
    """A value cannot be read as its type (validation refuses such settings before they are saved)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


# --- coercion (stored versions passed validation; these only refuse what cannot be read) ------

def _bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    raise SettingsShapeError(path, f"must be true or false, not {value!r}")


def _int(value: Any, path: str) -> int:
    if isinstance(value, bool):
        raise SettingsShapeError(path, f"must be a whole number, not {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SettingsShapeError(path, f"must be a whole number, not {value!r}") from None


def _amount(value: Any, path: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise SettingsShapeError(path, f"must be an amount, not {value!r}") from None


def _strings(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise SettingsShapeError(path, f"must be a list, not {value!r}")
    return tuple(str(v) for v in value)


def _str_map(value: Any, path: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise SettingsShapeError(path, f"must be an object, not {value!r}")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _amount_out(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# --- the parts ----------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldMapping:
    """One row of the field mappings: a Cothon opportunity field ↔ a Salesforce field."""

    cothon_field: str
    sf_field: str
    locked: bool = False
    picklist_map: str | None = None  # None: Cothon's own labels are sent
    enabled: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> FieldMapping:
        if not isinstance(data, Mapping):
            raise SettingsShapeError(path, "must be an object")
        return cls(cothon_field=str(data.get("cothon_field") or ""), sf_field=str(data.get("sf_field") or ""),
                   locked=bool(data.get("locked", False)), picklist_map=data.get("picklist_map") or None,
                   enabled=data.get("enabled", True) is not False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cothon_field": self.cothon_field, "sf_field": self.sf_field, "locked": self.locked}
        if self.picklist_map:
            out["picklist_map"] = self.picklist_map
        if not self.enabled:
            out["enabled"] = False
        return out


@dataclass(frozen=True)
class SyncFilters:
    """Which Cothon opportunities are sent (empty lists: all)."""

    min_value: Decimal | None = None
    statuses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "filters") -> SyncFilters:
        return cls(_amount(data.get("min_value"), f"{path}.min_value"), _strings(data.get("statuses") or [], f"{path}.statuses"),
                   _strings(data.get("categories") or [], f"{path}.categories"))

    def to_dict(self) -> dict[str, Any]:
        return {"min_value": _amount_out(self.min_value), "statuses": list(self.statuses), "categories": list(self.categories)}


@dataclass(frozen=True)
class ImportFilter:
    """Which opportunities created in Salesforce become Cothon opportunities (with import_new)."""

    stages: tuple[str, ...] = ()  # Salesforce stage names; empty: any stage
    require_cothon_ref: bool = False  # only records whose Cothon_Ref__c is filled in

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "import_filter") -> ImportFilter:
        return cls(_strings(data.get("stages") or [], f"{path}.stages"),
                   _bool(data.get("require_cothon_ref", False), f"{path}.require_cothon_ref"))

    def to_dict(self) -> dict[str, Any]:
        return {"stages": list(self.stages), "require_cothon_ref": self.require_cothon_ref}

    def accepts(self, *, stage: str, cothon_ref: str | None) -> bool:
        if self.stages and stage not in self.stages:
            return False
        return not (self.require_cothon_ref and not (cothon_ref or "").strip())


@dataclass(frozen=True)
class Frequencies:
    incremental_minutes: int = 15
    reconciliation_minutes: int = 60
    daily_full_at: str = "02:00"  # HH:MM in the tenant's time zone

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "frequencies") -> Frequencies:
        return cls(_int(data.get("incremental_minutes"), f"{path}.incremental_minutes"),
                   _int(data.get("reconciliation_minutes"), f"{path}.reconciliation_minutes"),
                   str(data.get("daily_full_at") or ""))

    def to_dict(self) -> dict[str, Any]:
        return {"incremental_minutes": self.incremental_minutes, "reconciliation_minutes": self.reconciliation_minutes,
                "daily_full_at": self.daily_full_at}

    @property
    def incremental_interval(self) -> datetime.timedelta:
        return datetime.timedelta(minutes=self.incremental_minutes)

    @property
    def daily_full_time(self) -> datetime.time:
        hour, minute = (int(part) for part in self.daily_full_at.split(":"))
        return datetime.time(hour, minute)


@dataclass(frozen=True)
class ActivitySettings:
    """Analyses, proposals and deadlines logged on the opportunity in Salesforce."""

    mode: str = "tasks"  # tasks | notes | off
    batch_window_minutes: int = 60
    min_value: Decimal | None = None
    stages: tuple[str, ...] = ()  # Cothon statuses
    types: tuple[str, ...] = ()  # Cothon categories

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "activity") -> ActivitySettings:
        return cls(str(data.get("mode") or ""), _int(data.get("batch_window_minutes"), f"{path}.batch_window_minutes"),
                   _amount(data.get("min_value"), f"{path}.min_value"), _strings(data.get("stages") or [], f"{path}.stages"),
                   _strings(data.get("types") or [], f"{path}.types"))

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "batch_window_minutes": self.batch_window_minutes, "min_value": _amount_out(self.min_value),
                "stages": list(self.stages), "types": list(self.types)}


# Cothon record types whose Salesforce object is configurable, and the key that names it.
_OBJECT_KEYS = {"opportunity": "opportunity", "department": "account", "analysis": "analysis", "requirement": "requirement"}


@dataclass(frozen=True)
class SalesforceObjects:
    """The Salesforce objects Cothon's records go to (a custom object may replace a standard one)."""

    opportunity: str = DEFAULT_OBJECTS["opportunity"]
    account: str = DEFAULT_OBJECTS["account"]
    analysis: str = DEFAULT_OBJECTS["analysis"]
    requirement: str = DEFAULT_OBJECTS["requirement"]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "objects") -> SalesforceObjects:
        return cls(**{key: str(data.get(key) or default) for key, default in DEFAULT_OBJECTS.items()})

    def to_dict(self) -> dict[str, str]:
        return {key: getattr(self, key) for key in DEFAULT_OBJECTS}

    def for_record_type(self, record_type: str) -> str:
        """The object of a Cothon record type ("opportunity", "department", …); "" when not configurable."""
        key = _OBJECT_KEYS.get(str(record_type))
        return getattr(self, key) if key else ""


# --- the whole ----------------------------------------------------------------------------------

def _mappings_default() -> tuple[FieldMapping, ...]:
    return tuple(FieldMapping.from_dict(m, "") for m in DEFAULT_OPPORTUNITY_MAPPINGS)


@dataclass(frozen=True)
class SyncSettings:
    """Every sync setting of a connection. Read-only: build a changed copy with
    `dataclasses.replace` or edit `to_dict()` and save it through integrations.sync_settings."""

    direction: str = "bidirectional"  # bidirectional | push | pull | hybrid
    opportunity_mappings: tuple[FieldMapping, ...] = field(default_factory=_mappings_default)
    field_directions: dict[str, str] = field(default_factory=dict)  # hybrid only: {sf_field: push | pull | both}
    value_conversion: str = "midpoint"  # midpoint | min | max
    stage_mapping: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_STAGE_MAPPING))  # status → stage, 1:1
    picklist_maps: dict[str, dict[str, str]] = field(default_factory=lambda: copy.deepcopy(DEFAULT_PICKLIST_MAPS))
    # {map name: {Salesforce value: Cothon value}} where a map sends several Cothon values to one.
    picklist_reverse: dict[str, dict[str, str]] = field(default_factory=lambda: copy.deepcopy(DEFAULT_PICKLIST_REVERSE))
    conflict_rules: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CONFLICT_RULES))
    flag_conflicts_for_review: bool = False
    filters: SyncFilters = field(default_factory=SyncFilters)
    import_new: bool = False  # import opportunities created in Salesforce (default on for pull only)
    import_filter: ImportFilter = field(default_factory=ImportFilter)
    propagate_deletes: bool = False
    owner_mode: str = "owner"  # owner | team_member | both
    frequencies: Frequencies = field(default_factory=Frequencies)
    activity: ActivitySettings = field(default_factory=ActivitySettings)
    parallel_sync: bool = False
    bulk_threshold: int = 2000
    record_type_id: str = ""
    objects: SalesforceObjects = field(default_factory=SalesforceObjects)
    extra: dict[str, Any] = field(default_factory=dict)  # keys this schema does not know, kept as saved

    # -- reading and writing the JSON ------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SyncSettings:
        """Typed settings from a version's JSON; missing keys get their defaults.

        Raises SettingsShapeError only for a value that cannot be read as its type."""
        d = normalise(data)
        mappings = d["opportunity_mappings"]
        if not isinstance(mappings, list | tuple):
            raise SettingsShapeError("opportunity_mappings", "must be a list")
        for key in ("filters", "import_filter", "frequencies", "activity", "objects", "picklist_maps", "picklist_reverse"):
            if not isinstance(d[key], Mapping):
                raise SettingsShapeError(key, "must be an object")
        return cls(
            direction=str(d["direction"]),
            opportunity_mappings=tuple(FieldMapping.from_dict(m, f"opportunity_mappings[{i}]") for i, m in enumerate(mappings)),
            field_directions=_str_map(d["field_directions"], "field_directions"),
            value_conversion=str(d["value_conversion"]),
            stage_mapping=_str_map(d["stage_mapping"], "stage_mapping"),
            picklist_maps={str(k): _str_map(v, f"picklist_maps.{k}") for k, v in d["picklist_maps"].items()},
            picklist_reverse={str(k): _str_map(v, f"picklist_reverse.{k}") for k, v in d["picklist_reverse"].items()},
            conflict_rules=_str_map(d["conflict_rules"], "conflict_rules"),
            flag_conflicts_for_review=_bool(d["flag_conflicts_for_review"], "flag_conflicts_for_review"),
            filters=SyncFilters.from_dict(d["filters"]),
            import_new=_bool(d["import_new"], "import_new"),
            import_filter=ImportFilter.from_dict(d["import_filter"]),
            propagate_deletes=_bool(d["propagate_deletes"], "propagate_deletes"),
            owner_mode=str(d["owner_mode"]),
            frequencies=Frequencies.from_dict(d["frequencies"]),
            activity=ActivitySettings.from_dict(d["activity"]),
            parallel_sync=_bool(d["parallel_sync"], "parallel_sync"),
            bulk_threshold=_int(d["bulk_threshold"], "bulk_threshold"),
            record_type_id=str(d["record_type_id"] or ""),
            objects=SalesforceObjects.from_dict(d["objects"]),
            extra={k: copy.deepcopy(v) for k, v in d.items() if k not in KNOWN_KEYS},
        )

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON of these settings (what a saved version holds)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if f.name == "opportunity_mappings":
                value = [m.to_dict() for m in value]
            elif hasattr(value, "to_dict"):
                value = value.to_dict()
            else:
                value = copy.deepcopy(value)
            out[f.name] = value
        out.update(copy.deepcopy(self.extra))
        return out

    # -- direction -----------------------------------------------------------------------------
    @property
    def pushes(self) -> bool:
        """Cothon → Salesforce for at least some fields."""
        return self.direction in ("bidirectional", "push", "hybrid")

    @property
    def pulls(self) -> bool:
        """Salesforce → Cothon for at least some fields."""
        return self.direction in ("bidirectional", "pull", "hybrid")

    def field_direction(self, sf_field: str) -> str:
        """push, pull or both for one Salesforce field."""
        if self.direction == "hybrid":
            return self.field_directions.get(sf_field, "both")
        return {"bidirectional": "both", "push": "push", "pull": "pull"}.get(self.direction, "both")

    def pushes_field(self, sf_field: str) -> bool:
        return self.field_direction(sf_field) in ("push", "both")

    def pulls_field(self, sf_field: str) -> bool:
        return self.field_direction(sf_field) in ("pull", "both")

    # -- mappings --------------------------------------------------------------------------------
    @property
    def active_mappings(self) -> tuple[FieldMapping, ...]:
        return tuple(m for m in self.opportunity_mappings if m.enabled)

    def mapping_for(self, cothon_field: str) -> FieldMapping | None:
        """The enabled mapping of a Cothon field, if any."""
        return next((m for m in self.active_mappings if m.cothon_field == cothon_field), None)

    def stage_for(self, status: str) -> str:
        return self.stage_mapping.get(status, "")

    def status_for_stage(self, stage: str) -> str | None:
        """The stage mapping is 1:1, so a stage names one Cothon status (None when unmapped)."""
        return next((status for status, s in self.stage_mapping.items() if s == stage), None)

    def reverse_picklist(self, map_name: str) -> dict[str, str]:
        """{Salesforce value: Cothon value} for values coming back through a picklist map: the one
        Cothon value sent as it, or the declared reverse where several are. A value several Cothon
        values share without a declared reverse is absent (validation refuses saving that)."""
        senders: dict[str, list[str]] = {}
        for cothon_value, sf_value in self.picklist_maps.get(map_name, {}).items():
            if sf_value:
                senders.setdefault(sf_value, []).append(cothon_value)
        declared = self.picklist_reverse.get(map_name, {})
        result = {}
        for sf_value, cothon_values in senders.items():
            if len(cothon_values) == 1:
                result[sf_value] = cothon_values[0]
            elif declared.get(sf_value) in cothon_values:
                result[sf_value] = declared[sf_value]
        return result

    def conflict_rule(self, sf_field: str) -> str:
        return conflict_rule_for(self.conflict_rules, sf_field)

    @property
    def import_applies(self) -> bool:
        """Opportunities created in Salesforce come into Cothon (import on, and a direction that pulls)."""
        return self.import_new and self.pulls


KNOWN_KEYS = tuple(f.name for f in fields(SyncSettings) if f.name != "extra")
# Sections whose missing keys are filled one by one (the others are replaced whole).
_MERGED_SECTIONS = ("filters", "import_filter", "frequencies", "activity", "objects")


def ambiguous_values(values: Mapping[str, str]) -> dict[str, list[str]]:
    """{Salesforce value: [Cothon values]} for the values of a picklist map that several Cothon values share."""
    senders: dict[str, list[str]] = {}
    for cothon_value, sf_value in values.items():
        if isinstance(sf_value, str) and sf_value.strip():
            senders.setdefault(sf_value, []).append(cothon_value)
    return {sf_value: group for sf_value, group in senders.items() if len(group) > 1}


def _default_reverse(picklist_maps: Any) -> dict[str, dict[str, str]]:
    """The default reverse values that still agree with these maps (a version saved before
    picklist_reverse existed keeps loading, and saving it unchanged stays valid)."""
    if not isinstance(picklist_maps, Mapping):
        return {}
    result: dict[str, dict[str, str]] = {}
    for name, reverse in DEFAULT_PICKLIST_REVERSE.items():
        values = picklist_maps.get(name)
        if not isinstance(values, Mapping):
            continue
        kept = {sf: cothon for sf, cothon in reverse.items() if values.get(cothon) == sf}
        if kept:
            result[name] = kept
    return result


def normalise(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of a version's JSON with every missing key set to its default. Values are kept as
    they are (validation reports the wrong ones), unknown keys too."""
    result = copy.deepcopy(dict(data or {}))
    defaults = SyncSettings().to_dict()
    for key, default in defaults.items():
        if key not in result:
            if key == "import_new":
                default = result.get("direction", defaults["direction"]) == "pull"
            elif key == "picklist_reverse":
                default = _default_reverse(result.get("picklist_maps", defaults["picklist_maps"]))
            result[key] = default
        elif key in _MERGED_SECTIONS and isinstance(result[key], Mapping):
            result[key] = {**default, **result[key]}
    return result


def default_settings_dict() -> dict[str, Any]:
    return SyncSettings().to_dict()
