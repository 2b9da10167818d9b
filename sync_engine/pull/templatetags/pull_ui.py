"""The record page's extended Salesforce data, ready to show (labels beside API names)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag
def salesforce_extra_panels(opportunity) -> list[dict]:
    """One panel per connection that pulled custom fields or warnings for this record."""
    panels = []
    for connection_id, entry in sorted((opportunity.salesforce_extra or {}).items()):
        fields = entry.get("fields") or {}
        labels = entry.get("labels") or {}
        rows = [{"name": name, "label": labels.get(name, name), "value": value} for name, value in sorted(fields.items())]
        if rows or entry.get("warnings") or entry.get("notes"):
            panels.append({"id": connection_id, "org": entry.get("org", ""), "rows": rows, "warnings": entry.get("warnings") or [],
                           "notes": entry.get("notes") or []})
    return panels


@register.inclusion_tag("sync_pull/_connection_pull.html")
def connection_pull_panel(connection) -> dict:
    """The connection page's "From Salesforce" panel: the last incremental pull and the
    Salesforce owners without a Cothon user."""
    from sync_engine.pull.selectors import pull_state, unmapped_owners

    return {"state": pull_state(connection=connection), "owners": unmapped_owners(connection=connection)}
