"""A query after name resolution: canonical schema entries instead of names as written.

Produced by semantic.py, consumed by the evaluator. Operands carry their FieldInfo (and the
parent hops leading to it); conditions keep their literals, already checked against the type
of what they are compared with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from .interface import ChildRelationshipInfo, FieldInfo, ObjectInfo
from .nodes import Literal, NullLit, Query, StringLit

# Describe types by how SOQL compares them.
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent", "long"})
ID_TYPES = frozenset({"id", "reference"})
DATE_TYPES = frozenset({"date"})
DATETIME_TYPES = frozenset({"datetime"})
BOOLEAN_TYPES = frozenset({"boolean"})
MULTIPICKLIST_TYPES = frozenset({"multipicklist"})
# Everything else (string, textarea, picklist, email, phone, url, combobox, ...) is text.


# --- resolved operands ----------------------------------------------------------------------


@dataclass(frozen=True)
class Hop:
    """One step up a parent relationship, e.g. Opportunity.AccountId -> Account."""

    field: FieldInfo  # the reference field on the child side (AccountId)
    relationship: str  # canonical relationship name (Account)
    targets: tuple[str, ...]  # canonical names of the objects it can point to

    @property
    def polymorphic(self) -> bool:
        return len(self.targets) > 1


@dataclass(frozen=True)
class ResolvedField:
    hops: tuple[Hop, ...]
    field: FieldInfo
    pos: int

    @property
    def type(self) -> str:
        return self.field.type

    @property
    def dotted(self) -> str:
        return ".".join([h.relationship for h in self.hops] + [self.field.name])

    @property
    def identity(self) -> tuple[str, ...]:
        return tuple(h.field.name.lower() for h in self.hops) + (self.field.name.lower(),)


@dataclass(frozen=True)
class ResolvedFunc:
    name: str  # upper case
    kind: str  # "aggregate" or "date" (toLabel() & co. resolve to their field)
    arg: ResolvedField | None  # None for COUNT()
    type: str  # describe type of the result
    pos: int

    @property
    def identity(self) -> tuple[str, ...]:
        return (self.name,) + (self.arg.identity if self.arg else ())


ROperand = Union[ResolvedField, ResolvedFunc]


# --- resolved conditions --------------------------------------------------------------------


@dataclass(frozen=True)
class RCompare:
    left: ROperand
    op: str
    value: Literal


@dataclass(frozen=True)
class RLike:
    left: ROperand
    pattern: StringLit | NullLit


@dataclass(frozen=True)
class RIn:
    left: ROperand
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class RSemiJoin:
    left: ROperand
    query: ResolvedQuery
    negated: bool


@dataclass(frozen=True)
class RIncludes:
    left: ROperand
    values: tuple[Literal, ...]
    excludes: bool


@dataclass(frozen=True)
class RAnd:
    items: tuple[RCondition, ...]


@dataclass(frozen=True)
class ROr:
    items: tuple[RCondition, ...]


@dataclass(frozen=True)
class RNot:
    item: RCondition


RCondition = Union[RCompare, RLike, RIn, RSemiJoin, RIncludes, RAnd, ROr, RNot]


# --- resolved select list -------------------------------------------------------------------


@dataclass(frozen=True)
class FieldColumn:
    """A plain or parent field of a non-aggregate query, placed in the record by its hops."""

    field: ResolvedField


@dataclass(frozen=True)
class ChildColumn:
    relationship: ChildRelationshipInfo
    query: ResolvedQuery


@dataclass(frozen=True)
class GroupColumn:
    """A grouped field (or date function) of an aggregate query."""

    operand: ROperand
    key: str


@dataclass(frozen=True)
class AggregateColumn:
    func: ResolvedFunc
    key: str


Column = Union[FieldColumn, ChildColumn, GroupColumn, AggregateColumn]


@dataclass(frozen=True)
class ROrder:
    operand: ROperand
    descending: bool
    nulls_last: bool


@dataclass
class ResolvedQuery:
    object: ObjectInfo
    columns: list[Column]
    where: RCondition | None = None
    group_by: tuple[ROperand, ...] = ()
    having: RCondition | None = None
    order_by: tuple[ROrder, ...] = ()
    limit: int | None = None
    offset: int | None = None
    aggregate: bool = False
    count_only: bool = False  # SELECT COUNT() FROM ...
    all_rows: bool = False
    source: Query | None = field(default=None, repr=False)
