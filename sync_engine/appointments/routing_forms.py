"""What a routing page posts, read into the service's RuleInput, and a rule shown back in the
form (a submitted form that failed keeps what was typed). Picker rows are numbered inputs
(`sale-0-title`, `sale-0-options` one per line, `sale-0-sf_field`, `sale-0-required`); the
page always offers blank rows to add one. The password is never put back into a page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict

from sync_engine.appointments.models import RoutingKind, RoutingRule
from sync_engine.appointments.routing_services import RuleInput

MAX_ROWS = 20
BLANK_ROWS = 2
SECTIONS = (("sale", "Sale"), ("no_sale", "No sale"))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in re.split(r"[\r\n]+", text or "") if line.strip()]


def _picker_rows(post: QueryDict, prefix: str) -> list[dict[str, Any]]:
    try:
        count = min(int(post.get(f"{prefix}-rows", "0")), MAX_ROWS + BLANK_ROWS)
    except ValueError:
        count = 0
    rows = []
    for i in range(max(count, 0)):
        rows.append({"title": post.get(f"{prefix}-{i}-title", ""), "options": _lines(post.get(f"{prefix}-{i}-options", "")),
                     "sf_field": post.get(f"{prefix}-{i}-sf_field", ""), "required": post.get(f"{prefix}-{i}-required") == "on"})
    return rows


def rule_input_from_post(post: QueryDict, kind: str) -> RuleInput:
    data = RuleInput(
        enabled=post.get("enabled") == "on",
        file_name_template=post.get("file_name_template", "")[:1000],
        backup_recipients=[a for a in re.split(r"[\s,;]+", post.get("backup_recipients", "")[:5000]) if a],
    )
    if kind == RoutingKind.RESULTS:
        data.note_title = post.get("note_title", "")[:1000]
        data.object_class = post.get("object_class", "")[:120]
        data.sale_pickers = _picker_rows(post, "sale")
        data.no_sale_pickers = _picker_rows(post, "no_sale")
    if kind == RoutingKind.CREDIT_APP:
        data.disclosure = post.get("disclosure", "")[:25000]
        data.new_password = post.get("password", "")[:1000]
    return data


@dataclass
class PickerRow:
    index: int
    target: str  # the inputs' name prefix, "sale-0"
    title: str = ""
    options_text: str = ""
    sf_field: str = ""
    required: bool = False


def _rows(prefix: str, pickers: list[dict[str, Any]]) -> list[PickerRow]:
    rows = [PickerRow(index=i, target=f"{prefix}-{i}", title=p.get("title", ""), options_text="\n".join(p.get("options") or []),
                      sf_field=p.get("sf_field", ""), required=bool(p.get("required"))) for i, p in enumerate(pickers)]
    return rows + [PickerRow(index=len(rows) + n, target=f"{prefix}-{len(rows) + n}") for n in range(BLANK_ROWS)]


def form_values(*, rule: RoutingRule, submitted: RuleInput | None = None) -> dict[str, Any]:
    """The inputs' values: what was submitted (after an error) or the saved rule."""
    source = submitted or rule
    recipients = submitted.backup_recipients if submitted else rule.backup_recipients
    values: dict[str, Any] = {
        "enabled": source.enabled, "file_name_template": source.file_name_template,
        "backup_recipients": "\n".join(recipients or []),
        "note_title": source.note_title, "object_class": source.object_class, "disclosure": source.disclosure,
        "password_set": bool(rule.password_encrypted),
    }
    values["sections"] = [
        {"prefix": prefix, "label": label, "rows": _rows(prefix, getattr(source, f"{prefix}_pickers") or [])}
        for prefix, label in SECTIONS
    ]
    return values
