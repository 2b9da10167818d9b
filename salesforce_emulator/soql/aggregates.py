"""Aggregate queries: COUNT(), COUNT/COUNT_DISTINCT/SUM/AVG/MIN/MAX, GROUP BY, HAVING.

Rows are `{"attributes": {"type": "AggregateResult"}, <key>: value}` where the key is the
alias, the grouped field's name, or exprN for the Nth aggregate or function without an alias
(restforce's captured aggregate response). Without GROUP BY there is exactly one row, even
over no records. SELECT COUNT() alone returns no rows: its count is the totalSize.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .compare import ConditionCompiler, Getter, sort_key, value_key
from .evaluator import Execution, QueryResult, page_rows, chains_in_condition, chains_of
from .resolved import AggregateColumn, GroupColumn, ROperand, ResolvedFunc, ResolvedQuery

Row = dict[str, Any]


class _Group:
    __slots__ = ("rows", "first", "memo")

    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows
        self.first = rows[0] if rows else None
        self.memo: dict[tuple[str, ...], Any] = {}


def run_aggregate(ex: Execution, rq: ResolvedQuery, rows: list[Row]) -> QueryResult:
    operands: list[ROperand] = list(rq.group_by)
    operands += [c.func for c in rq.columns if isinstance(c, AggregateColumn)]
    operands += [item.operand for item in rq.order_by]
    chains = {c for op in operands for c in chains_of(op)}
    if rq.having is not None:
        chains |= chains_in_condition(rq.having)
    ex.prefetch(rows, chains)

    groups = _group(ex, rq, rows)
    getter_for = _GroupReader(ex).getter
    if rq.having is not None:
        having = ConditionCompiler(getter_for, ex.today, ex.semi_join_values).compile(rq.having)
        groups = [g for g in groups if having(g)]

    if rq.count_only:
        total = len(groups) if rq.group_by else len(rows)
        total = max(0, total - (rq.offset or 0))
        return QueryResult(total if rq.limit is None else min(total, rq.limit), [], ())

    ex.sort(groups, rq.order_by, getter_for)
    groups = page_rows(groups, rq.offset, rq.limit)
    readers = [
        (c.key, getter_for(c.func if isinstance(c, AggregateColumn) else c.operand)) for c in rq.columns
    ]
    records = []
    for g in groups:
        record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
        for key, read in readers:
            record[key] = read(g)
        records.append(record)
    keys = tuple(c.key for c in rq.columns if isinstance(c, (AggregateColumn, GroupColumn)))
    return QueryResult(len(records), records, keys)


def _group(ex: Execution, rq: ResolvedQuery, rows: list[Row]) -> list[_Group]:
    if not rq.group_by:
        return [_Group(rows)]
    readers = [(ex.getter(op), value_key(op.type)) for op in rq.group_by]
    buckets: dict[tuple[Any, ...], list[Row]] = {}
    for row in rows:
        # Text groups case-insensitively, like Salesforce; the first row's spelling is shown.
        buckets.setdefault(tuple(key(get(row)) for get, key in readers), []).append(row)
    return [_Group(members) for members in buckets.values()]


class _GroupReader:
    """Reads operands of a group: aggregates over its rows, grouped fields from its first row."""

    def __init__(self, ex: Execution) -> None:
        self.ex = ex

    def getter(self, operand: ROperand) -> Callable[[_Group], Any]:
        if isinstance(operand, ResolvedFunc) and operand.kind == "aggregate":
            compute = _aggregate(operand, None if operand.arg is None else self.ex.getter(operand.arg))
            identity = operand.identity

            def aggregate(group: _Group) -> Any:
                if identity not in group.memo:
                    group.memo[identity] = compute(group.rows)
                return group.memo[identity]

            return aggregate
        read = self.ex.getter(operand)
        return lambda group: None if group.first is None else read(group.first)


def _aggregate(func: ResolvedFunc, get: Getter | None) -> Callable[[list[Row]], Any]:
    name = func.name
    if get is None:  # COUNT()
        return len
    assert func.arg is not None
    arg_type = func.arg.type
    key = value_key(arg_type)

    def present(rows: list[Row]) -> list[Any]:
        return [v for v in map(get, rows) if v is not None and v != ""]

    if name == "COUNT":
        return lambda rows: len(present(rows))
    if name == "COUNT_DISTINCT":
        return lambda rows: len({key(v) for v in present(rows)})
    if name in ("SUM", "AVG"):
        as_int = func.type == "int"

        def total(rows: list[Row]) -> Any:
            values = present(rows)
            if not values:
                return None
            if name == "AVG":
                return sum(values) / len(values)
            return int(sum(values)) if as_int else float(sum(values))

        return total
    order = sort_key(arg_type)
    pick = min if name == "MIN" else max
    return lambda rows: pick(present(rows), key=order, default=None)
