"""The sync settings schema: one place for every setting's default, its validation, typed access
and the editor's inputs.

- model.py: `SyncSettings` (frozen dataclasses) with `from_dict` / `to_dict`, and `normalise`
  (missing keys get their defaults, so versions saved before a key existed still load);
- checks.py: the shape rules, reported as `Issue(path, message)` in a `ValidationReport`;
- editor.py: the editor's inputs (path, label, kind, help) and section titles.

Read a connection's settings with `integrations.sync_settings.sync_settings_for(connection=…)`.
"""

from integrations.settings_schema.checks import check_shape
from integrations.settings_schema.editor import EDITOR_FIELDS, EDITOR_FIELDS_BY_PATH, EditorField, map_title, section_of
from integrations.settings_schema.model import (
    ACTIVITY_MODES,
    CONFLICT_RULES,
    CONVERSIONS,
    DIRECTIONS,
    FIELD_DIRECTIONS,
    KNOWN_KEYS,
    OWNER_MODES,
    ActivitySettings,
    FieldMapping,
    Frequencies,
    ImportFilter,
    SalesforceObjects,
    SettingsShapeError,
    SyncFilters,
    SyncSettings,
    ambiguous_values,
    conflict_rule_for,
    default_settings_dict,
    normalise,
)
from integrations.settings_schema.report import Issue, ValidationReport

__all__ = [
    "ACTIVITY_MODES", "CONFLICT_RULES", "CONVERSIONS", "DIRECTIONS", "EDITOR_FIELDS", "EDITOR_FIELDS_BY_PATH", "FIELD_DIRECTIONS",
    "KNOWN_KEYS", "OWNER_MODES", "ActivitySettings", "EditorField", "FieldMapping", "Frequencies", "ImportFilter", "Issue",
    "SalesforceObjects", "SettingsShapeError", "SyncFilters", "SyncSettings", "ValidationReport", "ambiguous_values",
    "check_shape", "conflict_rule_for", "default_settings_dict", "map_title", "normalise", "section_of",
]
