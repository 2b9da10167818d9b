"""Type-aware comparison: value keys per field type and compiled WHERE/HAVING predicates.

A condition is compiled once per query into a closure over plain Python values; the per-row
work is a getter, a key function and a comparison. Keys make Salesforce's semantics cheap:
text compares case-insensitively (casefolded), ids on their case-sensitive 15-character form,
dates and datetimes as canonical UTC strings (see literals.py), multipicklists as sets.

Null semantics follow SOQL, which is two-valued: `x != 'a'` and `x NOT IN (...)` match rows
where x is null, `x < 5` does not, and NOT simply negates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from . import literals
from .nodes import BoolLit, DateConstant, DateLit, DateTimeLit, Literal, NullLit, NumberLit, StringLit
from .resolved import (
    BOOLEAN_TYPES,
    DATE_TYPES,
    DATETIME_TYPES,
    ID_TYPES,
    MULTIPICKLIST_TYPES,
    NUMBER_TYPES,
    RAnd,
    RCompare,
    RCondition,
    RIn,
    RIncludes,
    RLike,
    RNot,
    ROperand,
    ROr,
    RSemiJoin,
    ResolvedQuery,
)

Getter = Callable[[Any], Any]
KeyFn = Callable[[Any], Any]
Predicate = Callable[[Any], bool]


# --- keys -----------------------------------------------------------------------------------


def _text_key(value: Any) -> Any:
    # Salesforce stores no empty strings: '' and null are the same value.
    if value is None or value == "":
        return None
    return value.casefold() if isinstance(value, str) else str(value).casefold()


def _id_key(value: Any) -> Any:
    return value[:15] if value else None


def _number_key(value: Any) -> Any:
    if value is None or isinstance(value, (int, float)):
        return value
    # Defensive: a number the store kept as text still compares as a number.
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _boolean_key(value: Any) -> Any:
    # A checkbox is never null in Salesforce; a record stored without it is unchecked.
    return bool(value)


def _date_key(value: Any) -> Any:
    return literals.stored_date_key(value) if value else None


def _datetime_key(value: Any) -> Any:
    return literals.stored_datetime_key(value) if value else None


def _multipicklist_key(value: Any) -> Any:
    if not value:
        return None
    return frozenset(part.strip().casefold() for part in value.split(";") if part.strip())


def value_key(describe_type: str) -> KeyFn:
    """The key function for stored values of a describe type."""
    if describe_type in NUMBER_TYPES:
        return _number_key
    if describe_type in ID_TYPES:
        return _id_key
    if describe_type in DATE_TYPES:
        return _date_key
    if describe_type in DATETIME_TYPES:
        return _datetime_key
    if describe_type in BOOLEAN_TYPES:
        return _boolean_key
    if describe_type in MULTIPICKLIST_TYPES:
        return _multipicklist_key
    return _text_key


def sort_key(describe_type: str) -> KeyFn:
    # Sets do not order; a multipicklist sorts by its text.
    return _text_key if describe_type in MULTIPICKLIST_TYPES else value_key(describe_type)


class Range:
    """A date constant on a field: the half-open key interval [start, end)."""

    __slots__ = ("start", "end")

    def __init__(self, start: str, end: str) -> None:
        self.start = start
        self.end = end


def literal_key(describe_type: str, lit: Literal, today: date) -> Any:
    """The key a literal compares with, for an operand of `describe_type` (already type-checked)."""
    if isinstance(lit, NullLit):
        return None
    if isinstance(lit, DateConstant):
        start, end = literals.date_constant_range(lit.name, lit.n, today)
        if describe_type in DATETIME_TYPES:
            return Range(literals.day_start_key(start), literals.day_start_key(end))
        return Range(literals.date_key(start), literals.date_key(end))
    if isinstance(lit, StringLit):
        return value_key(describe_type)(lit.value)
    if isinstance(lit, (NumberLit, BoolLit)):
        return lit.value
    if isinstance(lit, DateLit):
        return literals.date_key(lit.value)
    if isinstance(lit, DateTimeLit):
        return literals.datetime_key(lit.value)
    raise TypeError(lit)


# --- predicates -----------------------------------------------------------------------------


class ConditionCompiler:
    """Compiles resolved conditions against a way of reading operands (rows or groups)."""

    def __init__(
        self,
        getter_for: Callable[[ROperand], Getter],
        today: date,
        semi_join: Callable[[ResolvedQuery], list[Any]],
    ) -> None:
        self.getter_for = getter_for
        self.today = today
        self.semi_join = semi_join

    def compile(self, cond: RCondition) -> Predicate:
        if isinstance(cond, RAnd):
            parts = [self.compile(c) for c in cond.items]
            return lambda row: all(p(row) for p in parts)
        if isinstance(cond, ROr):
            parts = [self.compile(c) for c in cond.items]
            return lambda row: any(p(row) for p in parts)
        if isinstance(cond, RNot):
            inner = self.compile(cond.item)
            return lambda row: not inner(row)
        get = self.getter_for(cond.left)
        key = value_key(cond.left.type)
        if isinstance(cond, RCompare):
            return _compare(get, key, cond.op, literal_key(cond.left.type, cond.value, self.today))
        if isinstance(cond, RLike):
            return self._like(get, cond)
        if isinstance(cond, RIn):
            keys = [literal_key(cond.left.type, v, self.today) for v in cond.values]
            return _member(get, key, frozenset(k for k in keys if k is not None), None in keys, cond.negated)
        if isinstance(cond, RIncludes):
            return self._includes(get, cond)
        assert isinstance(cond, RSemiJoin)
        values = {key(v) for v in self.semi_join(cond.query)}
        values.discard(None)
        return _member(get, key, frozenset(values), False, cond.negated)

    @staticmethod
    def _like(get: Getter, cond: RLike) -> Predicate:
        if isinstance(cond.pattern, NullLit):
            return lambda row: False
        matches = literals.like_matcher(cond.pattern.raw)

        def like(row: Any) -> bool:
            value = get(row)
            if value is None or value == "":
                return False
            return matches(value if isinstance(value, str) else str(value))

        return like

    @staticmethod
    def _includes(get: Getter, cond: RIncludes) -> Predicate:
        # INCLUDES ('a;b', 'c') means (a AND b) OR c.
        terms = [_multipicklist_key(v.value) for v in cond.values if isinstance(v, StringLit)]
        terms = [t for t in terms if t]

        def includes(row: Any) -> bool:
            selected = _multipicklist_key(get(row))
            hit = selected is not None and any(t <= selected for t in terms)
            return not hit if cond.excludes else hit

        return includes


def _compare(get: Getter, key: KeyFn, op: str, lit: Any) -> Predicate:
    if isinstance(lit, Range):
        lo, hi = lit.start, lit.end
        tests: dict[str, Callable[[Any], bool]] = {
            "=": lambda k: k is not None and lo <= k < hi,
            "!=": lambda k: k is None or not lo <= k < hi,
            "<": lambda k: k is not None and k < lo,
            "<=": lambda k: k is not None and k < hi,
            ">": lambda k: k is not None and k >= hi,
            ">=": lambda k: k is not None and k >= lo,
        }
    elif lit is None:
        tests = {
            "=": lambda k: k is None,
            "!=": lambda k: k is not None,
        }
    else:
        tests = {
            "=": lambda k: k == lit,
            "!=": lambda k: k != lit,
            "<": lambda k: k is not None and k < lit,
            "<=": lambda k: k is not None and k <= lit,
            ">": lambda k: k is not None and k > lit,
            ">=": lambda k: k is not None and k >= lit,
        }
    test = tests.get(op)
    if test is None:  # e.g. `Amount > null`: never true
        return lambda row: False
    return lambda row: test(key(get(row)))


def _member(get: Getter, key: KeyFn, keys: frozenset[Any], with_null: bool, negated: bool) -> Predicate:
    def member(row: Any) -> bool:
        k = key(get(row))
        found = k in keys if k is not None else with_null
        return not found if negated else found

    return member
