"""The quote settings page's form: the POST read into the settings service's input, and the
rows the template shows (saved values or what was typed, each with its errors).

No checks here: sync_engine.quotes.settings_services validates against the org's describe."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from sync_engine.quotes.models import ConditionOperator, QuoteSettings

NEW_ROWS = 2  # blank condition / mapping rows offered under the saved ones
MAX_ROWS = 40  # rows read from a POST, whatever its counts say


@dataclass
class Row:
    index: int
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    is_new: bool = False


@dataclass
class QuoteSettingsForm:
    data: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: QuoteSettings) -> "QuoteSettingsForm":
        return cls({
            "opportunity_to_quote": settings.opportunity_to_quote, "contact_to_person": settings.contact_to_person,
            "trigger_stage": settings.trigger_stage, "owner_id": str(settings.owner_id or ""),
            "sync_back": settings.sync_back,
            "conditions": [dict(c, value=str(c.get("value", ""))) for c in settings.conditions or []],
            "field_mappings": [dict(m) for m in settings.field_mappings or []],
        })

    @classmethod
    def from_post(cls, post: QueryDict) -> "QuoteSettingsForm":
        def rows(prefix: str, keys: tuple[str, ...]) -> list[dict[str, str]]:
            result = []
            for index in range(min(_count(post.get(f"{prefix}_count")), MAX_ROWS)):
                row = {key: post.get(f"{prefix}-{index}-{key}", "").strip() for key in keys}
                # Removed, or a blank row left as offered (its operator select always has a value).
                if post.get(f"{prefix}-{index}-remove") or not any(v for k, v in row.items() if k != "operator"):
                    continue
                result.append(row)
            return result

        return cls({
            "opportunity_to_quote": post.get("opportunity_to_quote") == "on",
            "contact_to_person": post.get("contact_to_person") == "on",
            "trigger_stage": post.get("trigger_stage", "").strip(),
            "owner_id": post.get("owner", "").strip(),
            "sync_back": post.get("sync_back") == "enabled",
            "conditions": rows("condition", ("field", "operator", "value")),
            "field_mappings": rows("mapping", ("sf_field", "target")),
        })

    def rows(self, key: str, blank: dict[str, str]) -> list[Row]:
        """The saved or typed rows with their errors, then blank ones to add more."""
        shown = [Row(index, {k: str(v) for k, v in values.items()}, self._row_errors(f"{key}.{index}"))
                 for index, values in enumerate(self.data.get(key) or [])]
        shown += [Row(len(shown) + n, dict(blank), is_new=True) for n in range(NEW_ROWS)]
        return shown

    @property
    def condition_rows(self) -> list[Row]:
        return self.rows("conditions", {"field": "", "operator": ConditionOperator.EQUALS, "value": ""})

    @property
    def mapping_rows(self) -> list[Row]:
        return self.rows("field_mappings", {"sf_field": "", "target": ""})

    @property
    def summary(self) -> list[str]:
        """Every problem in one list, each saying where (shown above the form)."""
        lines = []
        for key, messages in self.errors.items():
            parts = key.split(".")
            where = {"trigger_stage": "Trigger stage", "owner": "Owner"}.get(key, "")
            if len(parts) == 3:
                where = f"{'Condition' if parts[0] == 'conditions' else 'Mapping'} {int(parts[1]) + 1}"
            lines += [f"{where}: {message}" if where else message for message in messages]
        return lines

    @property
    def error_count(self) -> int:
        return sum(len(messages) for messages in self.errors.values())

    def _row_errors(self, prefix: str) -> dict[str, list[str]]:
        return {key.rsplit(".", 1)[1]: messages for key, messages in self.errors.items() if key.startswith(f"{prefix}.")}


def _count(raw: str | None) -> int:
    try:
        return max(0, int(raw or 0))
    except ValueError:
        return 0
