"""The SOQL syntax tree, as written by the client: names are not resolved, literals are typed.

Every node that can be the subject of an error keeps `pos`, its character offset in the query
text, so semantic errors can echo the query with a caret like Salesforce does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Union


@dataclass(frozen=True)
class FieldPath:
    parts: tuple[str, ...]  # as written: ("Account", "Name")
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class FuncCall:
    name: str  # as written: "count", "CALENDAR_YEAR", "toLabel"
    args: tuple[Operand, ...]
    pos: int


Operand = Union[FieldPath, FuncCall]


# --- literals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StringLit:
    value: str  # unescaped
    raw: str  # between the quotes, escapes kept (LIKE needs to tell \% from %)
    pos: int


@dataclass(frozen=True)
class NumberLit:
    value: int | float
    text: str
    pos: int


@dataclass(frozen=True)
class DateLit:
    value: date
    text: str
    pos: int


@dataclass(frozen=True)
class DateTimeLit:
    value: datetime  # timezone-aware
    text: str
    pos: int


@dataclass(frozen=True)
class BoolLit:
    value: bool
    pos: int


@dataclass(frozen=True)
class NullLit:
    pos: int


@dataclass(frozen=True)
class DateConstant:
    name: str  # upper case: "LAST_N_DAYS"
    n: int | None  # the ":n" part
    text: str
    pos: int


Literal = Union[StringLit, NumberLit, DateLit, DateTimeLit, BoolLit, NullLit, DateConstant]


# --- conditions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Compare:
    left: Operand
    op: str  # "=", "!=", "<", "<=", ">", ">=" ("<>" is normalised to "!=")
    value: Literal


@dataclass(frozen=True)
class Like:
    left: Operand
    value: Literal


@dataclass(frozen=True)
class InList:
    left: Operand
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class InQuery:
    """Semi-join (`Id IN (SELECT AccountId FROM Opportunity)`) or anti-join (NOT IN)."""

    left: Operand
    query: Query
    negated: bool


@dataclass(frozen=True)
class Includes:
    left: Operand
    values: tuple[Literal, ...]
    excludes: bool


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Union[Compare, Like, InList, InQuery, Includes, And, Or, Not]


# --- query ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SelectField:
    path: FieldPath
    alias: str | None


@dataclass(frozen=True)
class SelectFunc:
    call: FuncCall
    alias: str | None


@dataclass(frozen=True)
class SelectSubquery:
    query: Query
    pos: int


SelectItem = Union[SelectField, SelectFunc, SelectSubquery]


@dataclass(frozen=True)
class OrderItem:
    operand: Operand
    descending: bool = False
    nulls_last: bool | None = None  # None: Salesforce's default (first for ASC, last for DESC)


@dataclass(frozen=True)
class Query:
    select: tuple[SelectItem, ...]
    from_name: str
    from_pos: int
    alias: str | None = None
    where: Condition | None = None
    group_by: tuple[Operand, ...] = ()
    having: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    limit_pos: int = 0
    offset: int | None = None
    offset_pos: int = 0
    all_rows: bool = False
    # FOR UPDATE / FOR VIEW / FOR REFERENCE / UPDATE TRACKING / USING SCOPE: accepted, ignored.
    ignored_clauses: tuple[str, ...] = field(default=())
