"""Settings paths in plain words: the version history stores what changed as
"activity.mode: tasks → notes"; people read "Log activities as: Tasks → Notes"."""

from __future__ import annotations

import re

from django import template

register = template.Library()

SECTION_WORDS = {
    "direction": "Sync direction",
    "value_conversion": "Amount from the value range",
    "flag_conflicts_for_review": "Flag conflicts for review",
    "parallel_sync": "Parallel sync",
    "bulk_threshold": "Bulk API from (records)",
    "record_type_id": "Record type",
    "filters.min_value": "Filter: minimum value (CAD)",
    "filters.statuses": "Filter: statuses",
    "filters.categories": "Filter: categories",
    "frequencies.incremental_minutes": "Incremental sync every (minutes)",
    "frequencies.reconciliation_minutes": "Reconciliation every (minutes)",
    "frequencies.daily_full_at": "Daily full sync at",
    "activity.mode": "Log activities as",
    "activity.batch_window_minutes": "Activity batch window (minutes)",
    "activity.min_value": "Activities only for opportunities worth at least (CAD)",
    "activity.stages": "Activities only for statuses",
    "activity.types": "Activities only for categories",
    "objects.opportunity": "Salesforce object for opportunities",
    "objects.account": "Salesforce object for departments",
    "objects.analysis": "Salesforce object for analyses",
    "objects.requirement": "Salesforce object for requirements",
}
PREFIX_WORDS = {
    "stage_mapping.": "Stage for status “{}”",
    "picklist_maps.category_to_type.": "Category → Type, “{}”",
    "picklist_maps.procurement_method.": "Procurement method, “{}”",
    "picklist_maps.procurement_method_to_type.": "Procurement method → Type, “{}”",
    "picklist_maps.pursuit_decision.": "Pursuit decision, “{}”",
    "picklist_maps.analysis_status.": "Analysis status, “{}”",
    "conflict_rules.": "Conflict rule for {}",
    "field_directions.": "Direction of {}",
    "mapping ": "Field mapping of “{}”",
}
VALUE_WORDS = {
    "bidirectional": "Both ways", "push": "Cothon → Salesforce", "pull": "Salesforce → Cothon", "hybrid": "A direction per field",
    "both": "Both ways", "midpoint": "Midpoint", "min": "Minimum", "max": "Maximum", "cothon_wins": "Cothon wins",
    "salesforce_wins": "Salesforce wins", "last_write_wins": "Last write wins", "tasks": "Tasks", "notes": "Notes", "off": "Off",
    "true": "On", "false": "Off", "null": "(none)", "[]": "(none)", '""': "(none)", "": "(none)",
}
_LINE = re.compile(r"^(?P<path>[^:]+): (?P<before>.*) → (?P<after>.*)$")


def _path_words(path: str) -> str:
    if path in SECTION_WORDS:
        return SECTION_WORDS[path]
    for prefix, words in PREFIX_WORDS.items():
        if path.startswith(prefix):
            return words.format(path[len(prefix):].replace("_", " "))
    return path.replace("_", " ").replace(".", " › ").capitalize()


def _value_words(value: str) -> str:
    return VALUE_WORDS.get(value.strip(), value)


@register.filter
def settings_change(line: str) -> str:
    """One stored change line in words; a line of another shape is returned as it is."""
    match = _LINE.match(line or "")
    if not match:
        return line
    return f"{_path_words(match['path'])}: {_value_words(match['before'])} → {_value_words(match['after'])}"


@register.filter
def settings_path(path: str) -> str:
    """A settings path ("activity.mode", "mapping title") in the editor's words."""
    return _path_words(path or "")


@register.filter
def settings_value(value: str) -> str:
    """A stored value ("cothon_wins", "true") in words."""
    return _value_words(value if isinstance(value, str) else str(value))
