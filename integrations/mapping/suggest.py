"""Pre-fill mappings from what the org offers: best-matching stages and picklist values.

When an org's stages differ from the defaults (a sandbox with Salesforce's standard list, say),
the admin sees suggestions and confirms them; nothing is saved without that confirmation."""

from __future__ import annotations

import difflib

from integrations.mapping.defaults import DEFAULT_STAGE_MAPPING
from integrations.settings_schema import ambiguous_values

# Words that mean the same step in common stage lists.
_SYNONYMS = {
    "identified": ["prospecting", "new", "lead"],
    "analyzing": ["qualification", "needs analysis", "analysis"],
    "pursuing": ["proposal", "proposal/price quote", "value proposition", "quote"],
    "submitted": ["negotiation", "negotiation/review", "submitted", "review"],
    "won": ["closed won", "won"],
    "lost": ["closed lost", "lost"],
}


def picklist_values(describe_payload: dict | None, field: str) -> list[str]:
    for f in (describe_payload or {}).get("fields", []):
        if f["name"].lower() == field.lower():
            return [v["value"] for v in f.get("picklistValues") or [] if v.get("active", True)]
    return []


def suggest_stage_mapping(stages: list[str]) -> dict[str, str]:
    """A 1:1 mapping of Cothon statuses to the org's stages, best match first."""
    remaining = list(stages)
    lowered = {s.lower(): s for s in stages}
    suggestion: dict[str, str] = {}
    for status, default in DEFAULT_STAGE_MAPPING.items():
        choice = default if default in remaining else None
        if choice is None:
            for candidate in _SYNONYMS[status]:
                if candidate in lowered and lowered[candidate] in remaining:
                    choice = lowered[candidate]
                    break
        if choice is None:
            close = difflib.get_close_matches(default.lower(), [r.lower() for r in remaining], n=1, cutoff=0.4)
            choice = lowered[close[0]] if close else None
        if choice is not None:
            suggestion[status] = choice
            remaining.remove(choice)
        else:
            suggestion[status] = ""
    return suggestion


def suggest_value_map(cothon_values: dict[str, str], org_values: list[str], current: dict[str, str]) -> dict[str, str]:
    """Keep current values the org has; otherwise the closest org value by label."""
    result = {}
    for value, label in cothon_values.items():
        if current.get(value) in org_values:
            result[value] = current[value]
            continue
        close = difflib.get_close_matches(label, org_values, n=1, cutoff=0.3)
        if not close and current.get(value):
            # e.g. "New Business" (the default) → "New Customer" in Salesforce's standard list
            close = difflib.get_close_matches(current[value], org_values, n=1, cutoff=0.5)
        result[value] = close[0] if close else ""
    return result


def suggest_picklist_reverse(values: dict[str, str], current: dict[str, str] | None = None) -> dict[str, str]:
    """{Salesforce value: Cothon value} for each Salesforce value several Cothon values are sent
    as: the current choice when it still fits, else the first of them (in the map's order)."""
    current = current or {}
    return {sf_value: current[sf_value] if current.get(sf_value) in group else group[0]
            for sf_value, group in ambiguous_values(values).items()}
