"""Outbound Messages: the rule model and its evaluation (criteria, conditions, modes).

Kept apart from the service and the SOAP building so that deciding whether a write fires a
rule is pure, dependency-free code; see ``outbound`` for the feature's overview.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

MODES = ("created", "created_and_every_edit", "created_and_edit_to_meet_criteria",
         "edit_to_meet_criteria", "every_edit")
OPS = ("=", "!=", "<", "<=", ">", ">=", "contains", "not_contains", "starts_with", "in",
       "not_in", "blank", "not_blank")


class RuleError(ValueError):
    pass


@dataclass
class Rule:
    id: str
    org: str
    name: str
    object: str
    field: str | None  # None: no single criterion (a workflow rule's formula "true")
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
    # A Tooling API workflow rule: the outbound message's id is the SOAP ActionId (one message
    # can serve several rules, so it cannot be the registry key), and criteria items may be
    # combined by a filter such as "1 AND (2 OR 3)" instead of all being required.
    action_id: str | None = None
    boolean_filter: str | None = None

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        out["action_id"] = self.action_id or self.id
        out["criteria"] = {"field": self.field, "value": self.value}
        return out

    def matches(self, record: dict[str, Any]) -> bool:
        """Whether a record meets the criteria (a flow's rule compares by field type)."""
        return _matches(self, record)


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
        return op == "not_contains"
    if op in ("contains", "not_contains", "starts_with"):
        # a list means "any of" (Salesforce's comma-separated filter values)
        wanted = [str(v).strip().casefold()
                  for v in (expected if isinstance(expected, list) else [expected])]
        text = str(actual).casefold()
        if op == "starts_with":
            return any(text.startswith(str(w)) for w in wanted)
        found = any(str(w) in text for w in wanted)
        return found if op == "contains" else not found
    try:
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    except TypeError:
        return False


def meets(rule: Rule, record: dict[str, Any] | None) -> bool:
    if record is None:
        return False
    return rule.matches(record)


def _matches(rule: Rule, record: dict[str, Any]) -> bool:
    if rule.field is not None and not _compare("=", record.get(rule.field), rule.value):
        return False
    results = [_compare(c["op"], record.get(c["field"]), c.get("value"))
               for c in rule.conditions]
    if rule.boolean_filter:
        return evaluate_filter(rule.boolean_filter, results)
    return all(results)


# -- boolean filters ("1 AND (2 OR NOT 3)") ---------------------------------------------------
_TOKEN_RE = re.compile(r"\s*(\d+|AND\b|OR\b|NOT\b|\(|\))", re.IGNORECASE)


def _tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            raise RuleError(f"unexpected text in filter at {text[pos:pos + 10]!r}")
        tokens.append(match.group(1).upper())
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


def evaluate_filter(text: str, results: list[bool]) -> bool:
    """Evaluate a filter over numbered results (1-based); RuleError when it is malformed."""
    tokens = _tokens(text)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise RuleError("the filter ends too early")
        pos += 1
        return tokens[pos - 1]

    def operand() -> bool:
        token = take()
        if token == "NOT":
            return not operand()
        if token == "(":
            value = expression()
            if take() != ")":
                raise RuleError("missing closing parenthesis in the filter")
            return value
        if token.isdigit():
            number = int(token)
            if not 1 <= number <= len(results):
                raise RuleError(f"the filter refers to condition {number}, which does not "
                                "exist")
            return results[number - 1]
        raise RuleError(f"unexpected {token} in the filter")

    def expression() -> bool:
        value = operand()
        joiner = None
        while peek() in ("AND", "OR"):
            op = take()
            if joiner and op != joiner:  # Salesforce asks for parentheses when mixing
                raise RuleError("mix of AND and OR needs parentheses in the filter")
            joiner = op
            right = operand()
            value = (value and right) if op == "AND" else (value or right)
        return value

    value = expression()
    if pos != len(tokens):
        raise RuleError(f"unexpected {tokens[pos]} in the filter")
    return value


def fires(rule: Rule, old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    now_meets = meets(rule, new)
    if not now_meets:
        return False
    if old is None:  # created
        return rule.evaluation not in ("edit_to_meet_criteria", "every_edit")
    if rule.evaluation == "created":
        return False
    if rule.evaluation in ("created_and_every_edit", "every_edit"):
        return True
    return not meets(rule, old)
