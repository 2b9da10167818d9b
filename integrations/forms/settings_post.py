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
from opportunities.models import OpportunityStatus

LOCKED_FIELDS = {m["cothon_field"] for m in DEFAULT_OPPORTUNITY_MAPPINGS if m["locked"]}
TOP_LEVEL_INPUTS = {"direction", "value_conversion", "flag_conflicts_for_review", "parallel_sync", "bulk_threshold"}
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


def parse_settings_post(base: dict[str, Any], post: QueryDict) -> ParsedSettings:
    """The editor's POST applied on top of `base` (settings keys the editor has no input for are kept)."""
    data = copy.deepcopy(base)
    posted_rows: list[dict[str, Any]] = []
    row_of_index: dict[int, int] = {}
    data["direction"] = post.get("direction", data.get("direction"))
    data["value_conversion"] = post.get("value_conversion", data.get("value_conversion"))

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
        locked = cothon in LOCKED_FIELDS
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
    data["flag_conflicts_for_review"] = post.get("flag_conflicts_for_review") == "on"

    data["filters"] = {
        "min_value": _amount_or_none(post.get("filters.min_value")),
        "statuses": post.getlist("filters.statuses"),
        "categories": post.getlist("filters.categories"),
    }
    data["frequencies"] = {
        "incremental_minutes": _int_or_raw(post.get("frequencies.incremental_minutes")),
        "reconciliation_minutes": _int_or_raw(post.get("frequencies.reconciliation_minutes")),
        "daily_full_at": (post.get("frequencies.daily_full_at") or "").strip(),
    }
    activity = dict(data.get("activity") or {})
    activity.update({
        "mode": post.get("activity.mode", activity.get("mode")),
        "batch_window_minutes": _int_or_raw(post.get("activity.batch_window_minutes")),
        "min_value": _amount_or_none(post.get("activity.min_value")),
        "stages": post.getlist("activity.stages"),
        "types": post.getlist("activity.types"),
    })
    data["activity"] = activity
    data["parallel_sync"] = post.get("parallel_sync") == "on"
    data["bulk_threshold"] = _int_or_raw(post.get("bulk_threshold"))
    return ParsedSettings(data=data, posted_rows=posted_rows, row_of_index=row_of_index)


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
