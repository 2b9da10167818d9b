"""Record-triggered flows at run time: entry conditions evaluated by field type, and each
active version's outbound-message actions turned into outbound rules (``outbound_rules.Rule``
with a typed matcher), which the outbound service evaluates on every committed write.

Comparisons follow Flow, not workflow: text is compared case-sensitively and as text (so "9"
is greater than "10" in a text field), numbers as numbers, dates and datetimes in time order;
a blank field meets only EqualTo an empty value, NotEqualTo a value, and IsNull true. The
conditions come from ``tooling_flow.flow_metadata`` (its ``_conditions``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import clock
from .outbound_rules import Rule, evaluate_filter
from .tooling_flow import RECORD_TRIGGERS


def _condition_met(cond: dict[str, Any], actual: Any) -> bool:
    operator, kind, expected = cond["operator"], cond["kind"], cond["value"]
    blank = actual is None or actual == ""
    if operator == "IsNull":
        return blank == expected
    if operator in ("EqualTo", "NotEqualTo"):
        if expected is None or blank:
            same = blank and expected in (None, "")
        else:
            same = _comparable(kind, actual) == expected
        return same if operator == "EqualTo" else not same
    if blank:
        return False
    value = _comparable(kind, actual)
    if value is None:
        return False
    if operator == "Contains":
        return expected in value
    if operator == "StartsWith":
        return value.startswith(expected)
    return {"GreaterThan": value > expected, "LessThan": value < expected,
            "GreaterThanOrEqualTo": value >= expected,
            "LessThanOrEqualTo": value <= expected}[operator]


def _comparable(kind: str, actual: Any) -> Any:
    if kind == "number":
        try:
            return float(actual)
        except (TypeError, ValueError):
            return None
    if kind == "boolean":
        return bool(actual)
    if kind == "datetime":
        parsed = clock.parse_datetime(str(actual))
        return clock.sf_datetime(parsed) if parsed else None
    if kind == "date":
        return str(actual)[:10]
    return str(actual)


def conditions_met(conditions: list[dict[str, Any]], logic: str | None,
                   record: dict[str, Any]) -> bool:
    if not conditions:
        return True
    results = [_condition_met(c, record.get(c["field"])) for c in conditions]
    if logic in (None, "and"):
        return all(results)
    if logic == "or":
        return any(results)
    return evaluate_filter(logic, results)


@dataclass
class FlowRule(Rule):
    """An outbound rule fed by an active flow version: its entry conditions, typed."""

    flow_conditions: list[dict[str, Any]] = field(default_factory=list)
    flow_logic: str | None = None

    def matches(self, record: dict[str, Any]) -> bool:
        return conditions_met(self.flow_conditions, self.flow_logic, record)


def registry_rules(org: str, definitions: list[dict[str, Any]], versions: list[dict[str, Any]],
                   messages: list[dict[str, Any]]) -> list[Rule]:
    """One outbound rule per (flow with an active version, outbound message it sends). The
    rule id is the flow definition's, so messages queued by an older version still resolve."""
    by_name = {(m["object"], m["name"].lower()): m for m in messages}
    built: list[Rule] = []
    for definition in definitions:
        active = next((v for v in versions if v["definition_id"] == definition["id"]
                       and v["status"] == "Active"), None)
        if active is None:
            continue
        meta = active["metadata"]
        start = meta["start"]
        changed = start["doesRequireRecordChangedToMeetCriteria"]
        evaluation = RECORD_TRIGGERS[start["recordTriggerType"]][1 if changed else 0]
        for name in meta["_messages"]:
            message = by_name.get((start["object"], name.lower()))
            if message is None:
                continue
            out = message["metadata"]
            built.append(FlowRule(
                id=f"{definition['id']}:{message['id']}", org=org, name=meta["label"],
                object=start["object"], field=None, value=None, conditions=[],
                evaluation=evaluation, endpoint_url=out["endpointUrl"],
                fields=list(out["fields"]), session=out["includeSessionId"],
                user=out["integrationUser"], api_version=f"{out['apiVersion']:.1f}",
                active=True, source="flow", action_id=message["id"],
                flow_conditions=[dict(c) for c in meta["_conditions"]],
                flow_logic=start["filterLogic"]))
    return built
