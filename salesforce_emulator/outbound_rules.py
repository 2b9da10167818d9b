"""Outbound Messages: the rule model and its evaluation (criteria, conditions, modes).

Kept apart from the service and the SOAP building so that deciding whether a write fires a
rule is pure, dependency-free code; see ``outbound`` for the feature's overview.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MODES = ("created", "created_and_every_edit", "created_and_edit_to_meet_criteria",
         "edit_to_meet_criteria")
OPS = ("=", "!=", "<", "<=", ">", ">=", "contains", "starts_with", "in", "not_in", "blank",
       "not_blank")


class RuleError(ValueError):
    pass


@dataclass
class Rule:
    id: str
    org: str
    name: str
    object: str
    field: str
    value: Any
    conditions: list[dict[str, Any]]
    evaluation: str
    endpoint_url: str
    fields: list[str]
    session: bool = False
    user: str | None = None
    api_version: str = "59.0"
    active: bool = True
    source: str = "hook"

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        out["action_id"] = self.id
        out["criteria"] = {"field": self.field, "value": self.value}
        return out


# -- rule evaluation --------------------------------------------------------------------------
def _norm(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        try:
            return float(text)
        except ValueError:
            return text.casefold()
    return value


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "blank":
        return actual in (None, "")
    if op == "not_blank":
        return actual not in (None, "")
    if op in ("in", "not_in"):
        values = expected if isinstance(expected, list) else [expected]
        found = _norm(actual) in [_norm(v) for v in values]
        return found if op == "in" else not found
    a, b = _norm(actual), _norm(expected)
    if op == "=":
        return a == b if actual is not None else expected in (None, "")
    if op == "!=":
        return a != b if actual is not None else expected not in (None, "")
    if actual is None:
        return False
    if op == "contains":
        return isinstance(a, str) and str(b) in a
    if op == "starts_with":
        return isinstance(a, str) and a.startswith(str(b))
    try:
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    except TypeError:
        return False


def meets(rule: Rule, record: dict[str, Any] | None) -> bool:
    if record is None:
        return False
    if not _compare("=", record.get(rule.field), rule.value):
        return False
    return all(_compare(c["op"], record.get(c["field"]), c.get("value"))
               for c in rule.conditions)


def fires(rule: Rule, old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    now_meets = meets(rule, new)
    if not now_meets:
        return False
    if old is None:  # created
        return rule.evaluation != "edit_to_meet_criteria"
    if rule.evaluation == "created":
        return False
    if rule.evaluation == "created_and_every_edit":
        return True
    return not meets(rule, old)
