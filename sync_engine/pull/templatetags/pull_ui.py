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
        if rows or entry.get("warnings"):
            panels.append({"id": connection_id, "org": entry.get("org", ""), "rows": rows, "warnings": entry.get("warnings") or []})
    return panels
