"""Executes a resolved query against a data source and shapes Salesforce REST records.

One pass per object: the store is scanned once (narrowed by the `equals` hint when the WHERE
clause allows), rows are filtered by a compiled predicate, sorted, paged, and only the rows of
the page are projected. Parent records are fetched in batches (one `records()` call per
relationship level and target object) into a per-query cache keyed by 15-character id, and
only for the rows that need them: all scanned rows for a WHERE on a parent field, the sorted
rows for ORDER BY, the page for SELECT.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from . import literals
from .compare import ConditionCompiler, Getter, sort_key
from .interface import SoqlDataSource
from .nodes import DateLit, NumberLit, StringLit
from .resolved import (
    ID_TYPES,
    MULTIPICKLIST_TYPES,
    NUMBER_TYPES,
    ChildColumn,
    FieldColumn,
    Hop,
    RAnd,
    RCompare,
    RCondition,
    RIn,
    RIncludes,
    RLike,
    RNot,
    ROperand,
    ROr,
    ROrder,
    RSemiJoin,
    ResolvedField,
    ResolvedFunc,
    ResolvedQuery,
)

Row = dict[str, Any]
Chain = tuple[Hop, ...]


@dataclass
class QueryResult:
    """What the REST query resource pages out: `totalSize` and the records, in order."""

    total_size: int
    records: list[dict[str, Any]]
    # The selected columns as dotted canonical paths ("Id", "Account.Name") or aggregate keys
    # ("expr0"), in SELECT order, child subqueries excluded: the Bulk API's CSV header.
    columns: tuple[str, ...] = field(default=())


class Execution:
    """The state of one query execution: the data source, the parent cache, today's date."""

    def __init__(self, source: SoqlDataSource, *, api_version: str, include_deleted: bool) -> None:
        self.source = source
        self.include_deleted = include_deleted
        self.url_prefix = f"/services/data/v{api_version.lstrip('vV')}/sobjects/"
        self.today: date = source.now().astimezone(timezone.utc).date()
        # 15-character id -> (object name, record), or None once known to be absent.
        self.parents: dict[str, tuple[str, Row] | None] = {}
        self.conditions = ConditionCompiler(self.getter, self.today, self.semi_join_values)

    # --- the query ------------------------------------------------------------------------
    def run(self, rq: ResolvedQuery) -> QueryResult:
        rows = self.matching_rows(rq)
        if rq.aggregate:
            from .aggregates import run_aggregate  # aggregates builds on this module

            return run_aggregate(self, rq, rows)
        self.sort(rows, rq.order_by)
        page = page_rows(rows, rq.offset, rq.limit)
        records = self.materialize(rq, page)
        columns = tuple(c.field.dotted for c in rq.columns if isinstance(c, FieldColumn))
        return QueryResult(len(records), records, columns)

    def matching_rows(
        self,
        rq: ResolvedQuery,
        *,
        extra_equals: dict[str, frozenset[Any]] | None = None,
        keep: Callable[[Row], bool] | None = None,
    ) -> list[Row]:
        equals = _merge_hints(where_hint(rq.where), extra_equals)
        scanned: Iterable[Row] = self.source.records(
            rq.object.name, include_deleted=self.include_deleted, equals=equals or None
        )
        rows = [r for r in scanned if keep(r)] if keep else list(scanned)
        if rq.where is None:
            return rows
        self.prefetch(rows, chains_in_condition(rq.where))
        predicate = self.conditions.compile(rq.where)
        return [r for r in rows if predicate(r)]

    def semi_join_values(self, rq: ResolvedQuery) -> list[Any]:
        """Values of the single field a semi-join subquery selects, over its matching rows."""
        column = rq.columns[0]
        assert isinstance(column, FieldColumn)
        rows = self.matching_rows(rq)
        self.prefetch(rows, {column.field.hops} if column.field.hops else set())
        get = self.getter(column.field)
        return [get(r) for r in rows]

    # --- sorting and projection -----------------------------------------------------------
    def sort(
        self,
        rows: list[Any],
        order_by: tuple[ROrder, ...],
        getter_for: Callable[[ROperand], Getter] | None = None,
    ) -> None:
        if not order_by:
            return
        if getter_for is None:
            self.prefetch(rows, {c for item in order_by for c in chains_of(item.operand)})
            getter_for = self.getter
        # Successive stable sorts, least significant key first, give a multi-key order with a
        # direction per key. Nulls go first or last by a flag that survives `reverse`.
        for item in reversed(order_by):
            key = _null_aware_key(getter_for(item.operand), sort_key(item.operand.type), item)
            rows.sort(key=key, reverse=item.descending)

    def materialize(self, rq: ResolvedQuery, rows: list[Row]) -> list[dict[str, Any]]:
        """REST JSON records for `rows`, with parent fields nested and child subqueries run."""
        fields = [c.field for c in rq.columns if isinstance(c, FieldColumn)]
        self.prefetch(rows, [f.hops for f in fields if f.hops])
        root = _ProjectionNode()
        for f in fields:
            root.add(f)
        for column in rq.columns:
            if isinstance(column, ChildColumn):
                results = self.child_results(column, rows)
                root.entries.append(("child", column.relationship.relationship_name, results))
        name = rq.object.name
        return [self._render(r, root, name, name) for r in rows]

    def _render(self, row: Row, node: _ProjectionNode, type_name: str, url_object: str) -> dict[str, Any]:
        url = f"{self.url_prefix}{url_object}/{row.get('Id')}"
        out: dict[str, Any] = {"attributes": {"type": type_name, "url": url}}
        parents = self.parents
        for kind, key, payload in node.entries:
            if kind == "field":
                out[key] = row.get(payload)
            elif kind == "parent":
                ref_field, polymorphic, sub = payload
                ref = row.get(ref_field)
                hit = parents.get(ref[:15]) if ref else None
                if hit is None:
                    out[key] = None
                else:
                    # A polymorphic relationship (Owner on Lead, What on Task) reports the
                    # pseudo-type "Name"; its url still names the real object.
                    out[key] = self._render(hit[1], sub, "Name" if polymorphic else hit[0], hit[0])
            else:
                row_id = row.get("Id")
                out[key] = payload.get(row_id[:15]) if row_id else None
        return out

    def child_results(self, column: ChildColumn, parents: list[Row]) -> dict[str, dict[str, Any]]:
        """Child subquery results by parent 15-character id; parents without children are absent."""
        rel, crq = column.relationship, column.query
        parent_ids = {p["Id"][:15]: p["Id"] for p in parents if p.get("Id")}
        if not parent_ids:
            return {}
        ref_field = rel.field
        rows = self.matching_rows(
            crq,
            extra_equals={ref_field.lower(): frozenset(parent_ids.values())},
            keep=lambda r: (v := r.get(ref_field)) is not None and v[:15] in parent_ids,
        )
        self.sort(rows, crq.order_by)
        groups: dict[str, list[Row]] = {}
        for r in rows:
            groups.setdefault(r[ref_field][:15], []).append(r)
        for pid, group in groups.items():
            groups[pid] = page_rows(group, crq.offset, crq.limit)
        flat = [r for group in groups.values() for r in group]
        rendered = iter(self.materialize(crq, flat))
        results: dict[str, dict[str, Any]] = {}
        for pid, group in groups.items():
            if group:
                records = [next(rendered) for _ in group]
                results[pid] = {"totalSize": len(records), "done": True, "records": records}
        return results

    # --- reading operands -----------------------------------------------------------------
    def getter(self, operand: ROperand) -> Getter:
        """A function reading an operand's raw (stored) value from a row of the query's object."""
        if isinstance(operand, ResolvedFunc):
            assert operand.kind == "date" and operand.arg is not None, operand
            return _date_function(operand.name, operand.arg.type, self.getter(operand.arg))
        name = operand.field.name
        if not operand.hops:
            return lambda row: row.get(name)
        refs = [hop.field.name for hop in operand.hops]
        parents = self.parents

        def through_parents(row: Row) -> Any:
            for ref in refs:
                value = row.get(ref)
                hit = parents.get(value[:15]) if value else None
                if hit is None:
                    return None
                row = hit[1]
            return row.get(name)

        return through_parents

    def prefetch(self, rows: list[Row], chains: Iterable[Chain]) -> None:
        """Load into the cache every parent record reachable from `rows` along `chains`."""
        # Shorter chains first: their parents are the starting points of the longer ones.
        for chain in sorted(dict.fromkeys(chains), key=len):
            level = rows
            for depth, hop in enumerate(chain):
                ref = hop.field.name
                ids = {v[:15]: v for r in level if (v := r.get(ref))}
                missing = {k: v for k, v in ids.items() if k not in self.parents}
                if missing:
                    self._fetch_parents(hop.targets, missing)
                if depth + 1 < len(chain):
                    level = [hit[1] for k in ids if (hit := self.parents.get(k)) is not None]

    def _fetch_parents(self, targets: tuple[str, ...], wanted: dict[str, str]) -> None:
        hint = frozenset(wanted.values()) | {literals.to_18(k) for k in wanted}
        for target in targets:
            found = self.source.records(target, include_deleted=self.include_deleted, equals={"id": hint})
            for record in found:
                record_id = record.get("Id")
                if record_id and record_id[:15] in wanted:
                    self.parents[record_id[:15]] = (target, record)
        for k in wanted:
            self.parents.setdefault(k, None)


@dataclass
class _ProjectionNode:
    """The output shape of one object level: fields in SELECT order, parents nested."""

    entries: list[tuple[str, str, Any]] = field(default_factory=list)
    parents: dict[str, _ProjectionNode] = field(default_factory=dict)

    def add(self, resolved: ResolvedField) -> None:
        node = self
        for hop in resolved.hops:
            sub = node.parents.get(hop.relationship)
            if sub is None:
                sub = node.parents[hop.relationship] = _ProjectionNode()
                node.entries.append(("parent", hop.relationship, (hop.field.name, hop.polymorphic, sub)))
            node = sub
        node.entries.append(("field", resolved.field.name, resolved.field.name))


# --- helpers --------------------------------------------------------------------------------


def page_rows(rows: list[Any], offset: int | None, limit: int | None) -> list[Any]:
    start = offset or 0
    return rows[start : None if limit is None else start + limit]


def _null_aware_key(get: Getter, key: Callable[[Any], Any], item: ROrder) -> Callable[[Any], tuple[int, Any]]:
    null_flag = 0 if (not item.nulls_last) != item.descending else 1
    value_flag = 1 - null_flag

    def sort_key_(row: Any) -> tuple[int, Any]:
        k = key(get(row))
        return (null_flag, None) if k is None else (value_flag, k)

    return sort_key_


def chains_of(operand: ROperand) -> set[Chain]:
    field_ = operand.arg if isinstance(operand, ResolvedFunc) else operand
    return {field_.hops} if field_ is not None and field_.hops else set()


def chains_in_condition(cond: RCondition) -> set[Chain]:
    if isinstance(cond, (RAnd, ROr)):
        return set().union(*(chains_in_condition(c) for c in cond.items))
    if isinstance(cond, RNot):
        return chains_in_condition(cond.item)
    assert isinstance(cond, (RCompare, RLike, RIn, RIncludes, RSemiJoin))
    return chains_of(cond.left)


# Types whose `=` the store can answer from an index on the stored value. Text is passed as
# written in the query: Salesforce matches it case-insensitively, so must the store.
_HINT_EXCLUDED = MULTIPICKLIST_TYPES | {"boolean", "datetime", "textarea"}


def where_hint(cond: RCondition | None) -> dict[str, frozenset[Any]]:
    """`equals` hints from top-level `field = literal` / `field IN (...)` conjunctions."""
    if cond is None:
        return {}
    items = cond.items if isinstance(cond, RAnd) else (cond,)
    hints: dict[str, frozenset[Any]] = {}
    for item in items:
        if isinstance(item, RCompare) and item.op == "=":
            values = (item.value,)
        elif isinstance(item, RIn) and not item.negated:
            values = item.values
        else:
            continue
        left = item.left
        if not isinstance(left, ResolvedField) or left.hops or left.type in _HINT_EXCLUDED:
            continue
        accepted = _hint_values(left.type, values)
        if accepted is None:
            continue
        key = left.field.name.lower()
        hints[key] = hints[key] & accepted if key in hints else accepted
    return hints


def _hint_values(describe_type: str, values: tuple[Any, ...]) -> frozenset[Any] | None:
    accepted: set[Any] = set()
    for value in values:
        if isinstance(value, StringLit) and value.value and describe_type not in NUMBER_TYPES:
            accepted.add(value.value)
            if describe_type in ID_TYPES:
                accepted.add(literals.to_18(value.value))
        elif isinstance(value, NumberLit) and describe_type in NUMBER_TYPES:
            accepted.add(value.value)
        elif isinstance(value, DateLit) and describe_type == "date":
            accepted.add(value.value.isoformat())
        else:
            return None  # null, '' or a range: the store cannot answer it with equality
    return frozenset(accepted)


def _merge_hints(
    a: dict[str, frozenset[Any]], b: dict[str, frozenset[Any]] | None
) -> dict[str, frozenset[Any]]:
    if not b:
        return a
    merged = dict(a)
    for key, values in b.items():
        merged[key] = merged[key] & values if key in merged else values
    return merged


def _as_utc_naive(value: str) -> datetime:
    if value.endswith(("+0000", "Z")) and len(value) >= 19:
        return datetime.fromisoformat(value[:19])
    return literals.parse_datetime(value).astimezone(timezone.utc).replace(tzinfo=None)


_DATE_PARTS: dict[str, Callable[[datetime], Any]] = {
    "CALENDAR_YEAR": lambda d: d.year,
    "CALENDAR_QUARTER": lambda d: (d.month - 1) // 3 + 1,
    "CALENDAR_MONTH": lambda d: d.month,
    "DAY_IN_MONTH": lambda d: d.day,
    "DAY_IN_WEEK": lambda d: d.isoweekday() % 7 + 1,  # Sunday is 1
    "DAY_IN_YEAR": lambda d: d.timetuple().tm_yday,
    "DAY_ONLY": lambda d: d.date().isoformat(),
    "HOUR_IN_DAY": lambda d: d.hour,
    "WEEK_IN_MONTH": lambda d: (d.day - 1) // 7 + 1,
    "WEEK_IN_YEAR": lambda d: (d.timetuple().tm_yday - 1) // 7 + 1,
    # The emulator's fiscal year is the calendar year.
    "FISCAL_YEAR": lambda d: d.year,
    "FISCAL_QUARTER": lambda d: (d.month - 1) // 3 + 1,
    "FISCAL_MONTH": lambda d: d.month,
}


def _date_function(name: str, arg_type: str, get: Getter) -> Getter:
    part = _DATE_PARTS[name]
    to_datetime: Callable[[str], datetime]
    if arg_type == "date":
        to_datetime = lambda s: datetime.fromisoformat(s[:10])  # noqa: E731
    else:
        to_datetime = _as_utc_naive

    def date_part(row: Any) -> Any:
        value = get(row)
        return part(to_datetime(value)) if value else None

    return date_part

