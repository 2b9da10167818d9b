"""Reading the sync settings editor's POST (and its raw JSON tab) into the settings JSON.

Values are kept as typed when they do not parse (e.g. "15m" for minutes): the validator then
reports them next to their input instead of this module guessing.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from integrations.mapping.defaults import DEFAULT_OPPORTUNITY_MAPPINGS
from integrations.settings_schema import EDITOR_FIELDS, EditorField, ambiguous_values
from integrations.settings_schema.checks import locked_mappings
from integrations.settings_schema.editor import TOP_LEVEL_INPUTS
from opportunities.models import OpportunityStatus

__all__ = ["LOCKED_FIELDS", "STATUSES", "TOP_LEVEL_INPUTS", "ParsedSettings", "conflict_keys", "parse_settings_json",
           "parse_settings_post"]

LOCKED_FIELDS = {m["cothon_field"] for m in DEFAULT_OPPORTUNITY_MAPPINGS if m["locked"]}
STATUSES = list(OpportunityStatus.choices)


@dataclass
class ParsedSettings:
    data: dict[str, Any]
    posted_rows: list[dict[str, Any]] = field(default_factory=list)  # mapping rows as posted (for redisplay)
    row_of_index: dict[int, int] = field(default_factory=dict)  # data index of a mapping -> display row


def _int_or_raw(raw: str | None) -> Any:
    text = (raw or "").strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _amount_or_none(raw: str | None) -> Any:
    text = (raw or "").strip().replace(",", "").replace("$", "")
    return None if text == "" else text


def _lines(values: list[str]) -> list[str]:
    """Ticked stages, or stages typed one per line: each once, in order."""
    names = [line.strip() for value in values for line in value.splitlines()]
    return list(dict.fromkeys(name for name in names if name))


def _posted_value(f: EditorField, post: QueryDict, current: Any) -> Any:
    if f.kind in ("radio", "select"):
        return post.get(f.path, current)  # a radio group with nothing picked keeps its value
    if f.kind == "checkbox":
        return post.get(f.path) == "on"
    if f.kind == "checkboxes":
        return post.getlist(f.path)
    if f.kind == "stage_list":
        return _lines(post.getlist(f.path))
    if f.kind == "number":
        return _int_or_raw(post.get(f.path))
    if f.kind == "amount":
        return _amount_or_none(post.get(f.path))
    return (post.get(f.path) or "").strip()


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    target = data
    for part in parents:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    target[leaf] = value


def parse_settings_post(base: dict[str, Any], post: QueryDict) -> ParsedSettings:
    """The editor's POST applied on top of `base` (settings keys the editor has no input for are kept)."""
    data = copy.deepcopy(base)
    posted_rows: list[dict[str, Any]] = []
    row_of_index: dict[int, int] = {}
    for f in EDITOR_FIELDS:
        _set_path(data, f.path, _posted_value(f, post, f.value_in(data)))

    # Which mappings cannot be removed depends on the object: a custom opportunity object need
    # not have Amount or CloseDate (its describe says what it requires).
    locked_fields = set(locked_mappings(data))
    count = _int_or_raw(post.get("mapping_count"))
    count = count if isinstance(count, int) else 0
    mappings: list[dict[str, Any]] = []
    directions: dict[str, str] = {}
    for row in range(count + 1):  # the last row is the "add a mapping" row
        prefix = f"opportunity_mappings[{row}]"
        cothon = (post.get(f"{prefix}.cothon_field") or "").strip()
        sf = (post.get(f"{prefix}.sf_field") or "").strip()
        is_new = row == count
        if is_new and not (cothon or sf):
            continue
        removed = post.get(f"{prefix}.remove") == "on"
        locked = cothon in locked_fields
        entry = {"row": row, "cothon_field": cothon, "sf_field": sf, "picklist_map": post.get(f"{prefix}.picklist_map", ""),
                 "direction": post.get(f"{prefix}.direction", "both"),
                 "enabled": is_new or post.get(f"{prefix}.enabled") == "on",
                 "removed": removed and not locked, "locked": locked}
        posted_rows.append(entry)
        if entry["removed"]:
            continue
        mapping: dict[str, Any] = {"cothon_field": cothon, "sf_field": sf, "locked": locked}
        if entry["picklist_map"]:
            mapping["picklist_map"] = entry["picklist_map"]
        if not entry["enabled"] and not locked:
            mapping["enabled"] = False
        row_of_index[len(mappings)] = row
        mappings.append(mapping)
        if entry["direction"] != "both" and sf:
            directions[sf] = entry["direction"]
    data["opportunity_mappings"] = mappings
    data["field_directions"] = directions

    stages = {}
    for status, _ in STATUSES:
        stages[status] = (post.get(f"stage_mapping.{status}") or "").strip()
    data["stage_mapping"] = stages

    maps = copy.deepcopy(data.get("picklist_maps") or {})
    for name, values in maps.items():
        for key in list(values):
            posted = post.get(f"picklist_maps.{name}.{key}")
            if posted is not None:
                values[key] = posted.strip()
    data["picklist_maps"] = maps

    rules: dict[str, str] = {}
    for key in conflict_keys(data):
        value = post.get(f"conflict_rules.{key}", "")
        if value:
            rules[key] = value
    for key, value in (data.get("conflict_rules") or {}).items():  # rules of fields no longer mapped stay
        if key not in rules and f"conflict_rules.{key}" not in post:
            rules[key] = value
    data["conflict_rules"] = rules
    data["picklist_reverse"] = _reverse_from_post(data, post)
    return ParsedSettings(data=data, posted_rows=posted_rows, row_of_index=row_of_index)


def _reverse_from_post(data: dict[str, Any], post: QueryDict) -> dict[str, dict[str, str]]:
    """The value coming back for each Salesforce value that several Cothon values are sent as.
    The editor shows an input only for those, so a declaration that is no longer needed (the map
    changed) is dropped; one left empty stays missing and validation asks for it."""
    previous = data.get("picklist_reverse") if isinstance(data.get("picklist_reverse"), dict) else {}
    result: dict[str, dict[str, str]] = {}
    for name, values in (data.get("picklist_maps") or {}).items():
        declared = previous.get(name) if isinstance(previous.get(name), dict) else {}
        kept = {}
        for sf_value in ambiguous_values(values):
            posted = post.get(f"picklist_reverse.{name}.{sf_value}")
            value = (posted if posted is not None else declared.get(sf_value) or "").strip()
            if value:
                kept[sf_value] = value
        if kept:
            result[name] = kept
    return result


def conflict_keys(data: dict[str, Any]) -> list[str]:
    """Fields a conflict rule can be set for: every mapped Salesforce field, and custom fields."""
    keys = [m["sf_field"] for m in data.get("opportunity_mappings") or [] if m.get("sf_field")]
    return list(dict.fromkeys(keys + ["custom_fields"]))


def parse_settings_json(text: str) -> tuple[dict[str, Any] | None, str]:
    """(settings, "") or (None, why the text is not a settings object)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
    if not isinstance(value, dict):
        return None, "The settings must be one JSON object ({ … })."
    return value, ""
