"""Name resolution and validation: syntax tree + schema -> a resolved query.

Every object, field and relationship name is resolved here, once per query, to its canonical
schema entry; literals are checked against the type of what they are compared with. The
evaluator then works on canonical names only. Errors use Salesforce's codes and wording
(errors.py) and point at the offending part of the query.
"""

from __future__ import annotations

from . import errors, literals
from .interface import FieldInfo, ObjectInfo, SoqlDataSource
from .nodes import (
    And,
    BoolLit,
    Compare,
    Condition,
    DateConstant,
    DateLit,
    DateTimeLit,
    FieldPath,
    FuncCall,
    Includes,
    InList,
    InQuery,
    Like,
    Literal,
    Not,
    NullLit,
    NumberLit,
    Operand,
    Or,
    OrderItem,
    Query,
    SelectField,
    SelectFunc,
    SelectSubquery,
    StringLit,
)
from .resolved import (
    BOOLEAN_TYPES,
    DATE_TYPES,
    DATETIME_TYPES,
    ID_TYPES,
    MULTIPICKLIST_TYPES,
    NUMBER_TYPES,
    AggregateColumn,
    ChildColumn,
    Column,
    FieldColumn,
    GroupColumn,
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

MAX_PARENT_DEPTH = 5
MAX_OFFSET = 2000
FIELDS_FUNCTION_MAX_LIMIT = 200

AGGREGATES = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})
# Date functions and the type of what they return.
DATE_FUNCTIONS = {
    "CALENDAR_YEAR": "int",
    "CALENDAR_QUARTER": "int",
    "CALENDAR_MONTH": "int",
    "DAY_IN_MONTH": "int",
    "DAY_IN_WEEK": "int",
    "DAY_IN_YEAR": "int",
    "DAY_ONLY": "date",
    "HOUR_IN_DAY": "int",
    "WEEK_IN_MONTH": "int",
    "WEEK_IN_YEAR": "int",
    "FISCAL_YEAR": "int",
    "FISCAL_QUARTER": "int",
    "FISCAL_MONTH": "int",
}
# Functions that change how Salesforce renders a value, not which rows match; the emulator
# (one locale, one currency, UTC) returns the value unchanged.
PASSTHROUGH_FUNCTIONS = frozenset({"TOLABEL", "FORMAT", "CONVERTCURRENCY", "CONVERTTIMEZONE"})


def soap_type(describe_type: str) -> str:
    """The type name Salesforce uses in "must be of type X" messages."""
    if describe_type in ("currency", "percent", "double"):
        return "double"
    if describe_type in ("int", "long"):
        return "int" if describe_type == "int" else "long"
    if describe_type == "datetime":
        return "dateTime"
    if describe_type in ("date", "boolean"):
        return describe_type
    return "string"


# --- the resolver ---------------------------------------------------------------------------


class Resolver:
    """Resolves one query text against a data source's schema (cached per resolver)."""

    def __init__(self, text: str, source: SoqlDataSource) -> None:
        self.text = text
        self.source = source
        self._objects: dict[str, ObjectInfo | None] = {}
        self._relationships: dict[str, dict[str, FieldInfo]] = {}

    # schema helpers -----------------------------------------------------------------------
    def object_info(self, name: str) -> ObjectInfo | None:
        key = name.lower()
        if key not in self._objects:
            info = self.source.object_info(name)
            self._objects[key] = info if info is not None and info.queryable else None
        return self._objects[key]

    def _relationship_fields(self, obj: ObjectInfo) -> dict[str, FieldInfo]:
        rels = self._relationships.get(obj.name)
        if rels is None:
            rels = {
                f.relationship_name.lower(): f
                for f in obj.fields.values()
                if f.relationship_name and f.reference_to
            }
            self._relationships[obj.name] = rels
        return rels

    # queries ------------------------------------------------------------------------------
    def resolve(self, query: Query) -> ResolvedQuery:
        obj = self.object_info(query.from_name)
        if obj is None:
            raise errors.no_such_object(self.text, query.from_pos, query.from_name)
        return self._resolve_on(query, obj, query.alias)

    def _resolve_child(self, parent: ObjectInfo, sub: SelectSubquery) -> ChildColumn:
        query = sub.query
        rel = parent.child_relationships.get(query.from_name.lower())
        child = self.object_info(rel.child_object) if rel else None
        if rel is None or child is None:
            raise errors.unknown_child_relationship(self.text, query.from_pos, query.from_name)
        # Inside a subquery fields may be prefixed with the relationship name.
        resolved = self._resolve_on(query, child, query.alias or rel.relationship_name)
        if resolved.aggregate:
            raise errors.positioned(
                self.text, query.from_pos, errors.MALFORMED_QUERY,
                "Aggregate queries are not supported in a nested query",
            )
        return ChildColumn(rel, resolved)

    def _resolve_on(self, query: Query, obj: ObjectInfo, alias: str | None) -> ResolvedQuery:
        self._check_paging(query)
        aggregate = bool(query.group_by) or any(
            isinstance(item, SelectFunc) and item.call.name.upper() in AGGREGATES
            for item in query.select
        )
        rq = ResolvedQuery(object=obj, columns=[], aggregate=aggregate, all_rows=query.all_rows, source=query)
        rq.limit, rq.offset = query.limit, query.offset
        if aggregate:
            rq.group_by = tuple(self._operand(obj, alias, op, clause="group") for op in query.group_by)
            self._aggregate_columns(query, obj, alias, rq)
        else:
            self._plain_columns(query, obj, alias, rq)
        if query.where is not None:
            rq.where = self._condition(obj, alias, query.where, clause="where")
        if query.having is not None:
            if not aggregate:
                raise errors.positioned(
                    self.text, query.from_pos, errors.MALFORMED_QUERY,
                    "HAVING clause requires GROUP BY or aggregate functions",
                )
            rq.having = self._condition(obj, alias, query.having, clause="having", rq=rq)
        rq.order_by = tuple(self._order_item(obj, alias, item, rq) for item in query.order_by)
        return rq

    def _check_paging(self, query: Query) -> None:
        if query.offset is not None and query.offset > MAX_OFFSET:
            raise errors.positioned(
                self.text, query.offset_pos, errors.NUMBER_OUTSIDE_VALID_RANGE,
                f"Maximum SOQL offset allowed is {MAX_OFFSET}",
            )

    # select lists -------------------------------------------------------------------------
    def _plain_columns(self, query: Query, obj: ObjectInfo, alias: str | None, rq: ResolvedQuery) -> None:
        seen: set[str] = set()

        def add(resolved: ResolvedField) -> None:
            key = resolved.dotted.lower()
            if key in seen:
                # Salesforce answers this one without echoing the query.
                raise errors.SoqlError(errors.INVALID_FIELD, f"duplicate field selected: {resolved.dotted}")
            seen.add(key)
            rq.columns.append(FieldColumn(resolved))

        for item in query.select:
            if isinstance(item, SelectField):
                if item.alias is not None:
                    raise errors.positioned(
                        self.text, item.path.pos, errors.MALFORMED_QUERY,
                        "Only aggregate expressions use field aliasing",
                    )
                add(self._field(obj, alias, item.path))
            elif isinstance(item, SelectSubquery):
                rq.columns.append(self._resolve_child(obj, item))
            else:
                call = item.call
                name = call.name.upper()
                if name == "FIELDS":
                    for resolved in self._fields_function(query, obj, call):
                        add(resolved)
                elif name in PASSTHROUGH_FUNCTIONS and len(call.args) == 1:
                    arg = call.args[0]
                    if not isinstance(arg, FieldPath):
                        raise errors.unexpected_token(self.text, arg.pos, arg.name)
                    add(self._field(obj, alias, arg))
                elif name in DATE_FUNCTIONS:
                    raise errors.positioned(
                        self.text, call.pos, errors.MALFORMED_QUERY,
                        f"Field must be grouped or aggregated: {call.name}",
                    )
                else:
                    raise self._unknown_function(call)

    def _fields_function(self, query: Query, obj: ObjectInfo, call: FuncCall) -> list[ResolvedField]:
        arg = call.args[0] if len(call.args) == 1 and isinstance(call.args[0], FieldPath) else None
        kind = arg.text.upper() if arg else ""
        if kind not in ("ALL", "STANDARD", "CUSTOM"):
            raise errors.unexpected_token(self.text, call.pos, call.name)
        if kind != "STANDARD" and (query.limit is None or query.limit > FIELDS_FUNCTION_MAX_LIMIT):
            raise errors.positioned(
                self.text, call.pos, errors.MALFORMED_QUERY,
                f"The SOQL FIELDS function must have a LIMIT of at most {FIELDS_FUNCTION_MAX_LIMIT}",
            )
        chosen = [
            f for f in obj.fields.values()
            if kind == "ALL" or (kind == "CUSTOM") == f.name.endswith("__c")
        ]
        return [ResolvedField((), f, call.pos) for f in chosen]

    def _aggregate_columns(self, query: Query, obj: ObjectInfo, alias: str | None, rq: ResolvedQuery) -> None:
        grouped = {op.identity for op in rq.group_by}
        for item in query.select:
            if isinstance(item, SelectFunc) and item.call.name.upper() == "COUNT" and not item.call.args:
                if len(query.select) > 1:
                    raise errors.positioned(
                        self.text, item.call.pos, errors.MALFORMED_QUERY,
                        "COUNT() must be the only element in the SELECT list.",
                    )
                rq.count_only = True
                return
        unnamed = 0  # exprN counts only aggregates/functions without an alias
        used_keys: set[str] = set()
        for item in query.select:
            if isinstance(item, SelectSubquery):
                raise errors.positioned(
                    self.text, item.pos, errors.MALFORMED_QUERY,
                    "Nested queries are not supported in aggregate queries",
                )
            if isinstance(item, SelectField):
                resolved: ROperand = self._field(obj, alias, item.path)
                key = item.alias or resolved.field.name
            else:
                resolved = self._operand(obj, alias, item.call, clause="select")
                if item.alias:
                    key = item.alias
                else:
                    key = f"expr{unnamed}"
                    unnamed += 1
            if isinstance(resolved, ResolvedFunc) and resolved.kind == "aggregate":
                column: Column = AggregateColumn(resolved, key)
            else:
                if resolved.identity not in grouped:
                    label = resolved.dotted if isinstance(resolved, ResolvedField) else resolved.name
                    raise errors.positioned(
                        self.text, resolved.pos, errors.MALFORMED_QUERY,
                        f"Field must be grouped or aggregated: {label}",
                    )
                column = GroupColumn(resolved, key)
            if key.lower() in used_keys:
                raise errors.SoqlError(errors.INVALID_FIELD, f"duplicate alias: {key}")
            used_keys.add(key.lower())
            rq.columns.append(column)

    def _order_item(self, obj: ObjectInfo, alias: str | None, item: OrderItem, rq: ResolvedQuery) -> ROrder:
        operand = self._operand(obj, alias, item.operand, clause="order")
        if rq.aggregate:
            grouped = {op.identity for op in rq.group_by}
            is_aggregate = isinstance(operand, ResolvedFunc) and operand.kind == "aggregate"
            if not is_aggregate and operand.identity not in grouped:
                label = operand.dotted if isinstance(operand, ResolvedField) else operand.name
                raise errors.positioned(
                    self.text, operand.pos, errors.MALFORMED_QUERY,
                    f"Ordered field must be grouped or aggregated: {label}",
                )
        nulls_last = item.descending if item.nulls_last is None else item.nulls_last
        return ROrder(operand, item.descending, nulls_last)

    # operands -----------------------------------------------------------------------------
    def _operand(self, obj: ObjectInfo, alias: str | None, op: Operand, *, clause: str) -> ROperand:
        if isinstance(op, FieldPath):
            resolved = self._field(obj, alias, op)
            self._check_capability(resolved, clause)
            return resolved
        return self._function(obj, alias, op, clause)

    def _check_capability(self, resolved: ResolvedField, clause: str) -> None:
        f = resolved.field
        verb = _CAPABILITIES.get(clause)
        if verb and not getattr(f, verb[0]):
            raise errors.positioned(
                self.text, resolved.pos, errors.INVALID_FIELD,
                f"field '{f.name}' can not be {verb[1]} in a query call",
            )

    def _function(self, obj: ObjectInfo, alias: str | None, call: FuncCall, clause: str) -> ResolvedFunc:
        name = call.name.upper()
        if name == "CONVERTTIMEZONE" and len(call.args) == 1:
            inner = call.args[0]
            return self._operand(obj, alias, inner, clause=clause)  # type: ignore[return-value]
        if name not in AGGREGATES and name not in DATE_FUNCTIONS:
            raise self._unknown_function(call)
        if name in AGGREGATES and clause in ("where", "group"):
            where = "WHERE" if clause == "where" else "GROUP BY"
            raise errors.positioned(
                self.text, call.pos, errors.MALFORMED_QUERY,
                f"Aggregate functions are not supported in the {where} clause",
            )
        if name == "COUNT" and not call.args:
            return ResolvedFunc("COUNT", "aggregate", None, "int", call.pos)
        if len(call.args) != 1:
            raise errors.unexpected_token(self.text, call.pos, call.name)
        inner = call.args[0]
        if isinstance(inner, FuncCall) and inner.name.upper() == "CONVERTTIMEZONE" and len(inner.args) == 1:
            inner = inner.args[0]  # the emulator's org runs in UTC
        if not isinstance(inner, FieldPath):
            raise errors.unexpected_token(self.text, inner.pos, inner.name)
        arg = self._field(obj, alias, inner)
        if name in DATE_FUNCTIONS:
            allowed = DATETIME_TYPES if name == "HOUR_IN_DAY" else DATE_TYPES | DATETIME_TYPES
            if arg.type not in allowed:
                raise errors.positioned(
                    self.text, call.pos, errors.MALFORMED_QUERY,
                    f"{name} cannot be applied to field '{arg.field.name}' of type {arg.type}",
                )
            if clause == "group":
                self._check_capability(arg, "group")
            return ResolvedFunc(name, "date", arg, DATE_FUNCTIONS[name], call.pos)
        return ResolvedFunc(name, "aggregate", arg, self._aggregate_type(name, arg, call), call.pos)

    def _aggregate_type(self, name: str, arg: ResolvedField, call: FuncCall) -> str:
        t = arg.type
        if name in ("COUNT", "COUNT_DISTINCT"):
            return "int"
        numeric_only = name in ("SUM", "AVG")
        unordered = t in BOOLEAN_TYPES | MULTIPICKLIST_TYPES
        if (numeric_only and t not in NUMBER_TYPES) or (not numeric_only and unordered):
            raise errors.positioned(
                self.text, call.pos, errors.INVALID_FIELD,
                f"field {arg.field.name} does not support aggregate operator {name}",
            )
        if name == "AVG":
            return "double"
        if name == "SUM":
            return "int" if t in ("int", "long") else "double"
        return t

    def _unknown_function(self, call: FuncCall) -> errors.SoqlError:
        return errors.positioned(
            self.text, call.pos, errors.MALFORMED_QUERY, f"unknown function: {call.name}",
        )

    def _field(self, obj: ObjectInfo, alias: str | None, path: FieldPath) -> ResolvedField:
        parts = list(path.parts)
        if len(parts) > 1:
            first = parts[0].lower()
            is_relationship = first in self._relationship_fields(obj)
            is_alias = alias is not None and first == alias.lower()
            if is_alias or (first == obj.name.lower() and not is_relationship):
                parts = parts[1:]
        if len(parts) - 1 > MAX_PARENT_DEPTH:
            raise errors.positioned(
                self.text, path.pos, errors.MALFORMED_QUERY,
                f"SOQL statements cannot query more than {MAX_PARENT_DEPTH} levels of relationships",
            )
        current = [obj]
        hops: list[Hop] = []
        for part in parts[:-1]:
            ref = None
            for candidate in current:
                ref = self._relationship_fields(candidate).get(part.lower())
                if ref is not None:
                    break
            # A lookup whose targets the caller cannot see is as unknown as a misspelt one.
            targets = [] if ref is None else [
                info for name in ref.reference_to if (info := self.object_info(name)) is not None
            ]
            if ref is None or not targets:
                raise errors.unknown_relationship(self.text, path.pos, part)
            hops.append(Hop(ref, ref.relationship_name or part, tuple(t.name for t in targets)))
            current = targets
        last = parts[-1].lower()
        for candidate in current:
            found = candidate.fields.get(last)
            if found is not None:
                return ResolvedField(tuple(hops), found, path.pos)
        entity = current[0].name if len(current) == 1 else "Name"
        raise errors.no_such_column(self.text, path.pos, parts[-1], entity)

    # conditions ---------------------------------------------------------------------------
    def _condition(
        self,
        obj: ObjectInfo,
        alias: str | None,
        cond: Condition,
        *,
        clause: str,
        rq: ResolvedQuery | None = None,
    ) -> RCondition:
        if isinstance(cond, And):
            return RAnd(tuple(self._condition(obj, alias, c, clause=clause, rq=rq) for c in cond.items))
        if isinstance(cond, Or):
            return ROr(tuple(self._condition(obj, alias, c, clause=clause, rq=rq) for c in cond.items))
        if isinstance(cond, Not):
            return RNot(self._condition(obj, alias, cond.item, clause=clause, rq=rq))
        left = self._operand(obj, alias, cond.left, clause=clause)
        if clause == "having":
            self._check_having_operand(left, rq)
        if isinstance(cond, Compare):
            self._check_literal(left, cond.value, cond.op)
            return RCompare(left, cond.op, cond.value)
        if isinstance(cond, Like):
            if left.type in NUMBER_TYPES | DATE_TYPES | DATETIME_TYPES | BOOLEAN_TYPES | MULTIPICKLIST_TYPES:
                raise errors.positioned(
                    self.text, left.pos, errors.INVALID_FIELD,
                    f"invalid operator on {soap_type(left.type)} field: LIKE",
                )
            if not isinstance(cond.value, (StringLit, NullLit)):
                self._wrong_type(left, cond.value)
            return RLike(left, cond.value)
        if isinstance(cond, InList):
            for value in cond.values:
                self._check_literal(left, value, "IN")
            return RIn(left, cond.values, cond.negated)
        if isinstance(cond, Includes):
            if left.type not in MULTIPICKLIST_TYPES:
                raise errors.positioned(
                    self.text, left.pos, errors.INVALID_FIELD,
                    "includes or excludes operator only valid on multipicklist field",
                )
            for value in cond.values:
                if not isinstance(value, (StringLit, NullLit)):
                    self._wrong_type(left, value)
            return RIncludes(left, cond.values, cond.excludes)
        assert isinstance(cond, InQuery)
        return RSemiJoin(left, self._semi_join(left, cond), cond.negated)

    def _check_having_operand(self, left: ROperand, rq: ResolvedQuery | None) -> None:
        if isinstance(left, ResolvedFunc) and left.kind == "aggregate":
            return
        grouped = {op.identity for op in rq.group_by} if rq else set()
        if left.identity not in grouped:
            label = left.dotted if isinstance(left, ResolvedField) else left.name
            raise errors.positioned(
                self.text, left.pos, errors.MALFORMED_QUERY,
                f"Field must be grouped or aggregated: {label}",
            )

    def _semi_join(self, left: ROperand, cond: InQuery) -> ResolvedQuery:
        inner = self.resolve(cond.query)
        columns = inner.columns
        if inner.aggregate or len(columns) != 1 or not isinstance(columns[0], FieldColumn):
            raise errors.positioned(
                self.text, cond.query.from_pos, errors.MALFORMED_QUERY,
                "The selected field in a semi join subquery must be a single Id or reference field",
            )
        selected = columns[0].field
        if selected.type not in ID_TYPES or left.type not in ID_TYPES:
            raise errors.positioned(
                self.text, selected.pos, errors.INVALID_FIELD,
                "The selected field in a semi join subquery must be a single Id or reference field",
            )
        return inner

    def _check_literal(self, left: ROperand, value: Literal, op: str) -> None:
        """Refuse a literal Salesforce would refuse for this operand's type."""
        t = left.type
        if isinstance(value, NullLit):
            return
        if isinstance(value, DateConstant):
            if not literals.is_known_date_constant(value.name, value.n):
                raise errors.unexpected_token(self.text, value.pos, value.text)
            if t in DATE_TYPES | DATETIME_TYPES and op != "IN":
                return
            self._wrong_type(left, value)
        ok = {
            "number": isinstance(value, NumberLit),
            "boolean": isinstance(value, BoolLit),
            "date": isinstance(value, DateLit),
            "datetime": isinstance(value, DateTimeLit),
            "text": isinstance(value, StringLit),
        }[_category(t)]
        if not ok:
            self._wrong_type(left, value)
        bad_id = isinstance(value, StringLit) and value.value and not literals.is_valid_id(value.value)
        if t in ID_TYPES and bad_id:
            raise errors.positioned(
                self.text, value.pos, errors.MALFORMED_QUERY, f"invalid ID field: {value.value}",
            )
        if op in ("<", "<=", ">", ">=") and t in BOOLEAN_TYPES | MULTIPICKLIST_TYPES:
            raise errors.positioned(
                self.text, left.pos, errors.INVALID_FIELD,
                f"invalid operator on {soap_type(t)} field: {op}",
            )

    def _wrong_type(self, left: ROperand, value: Literal) -> None:
        name = left.field.name if isinstance(left, ResolvedField) else left.name
        text_like = _category(left.type) == "text"
        raise errors.wrong_value_type(self.text, left.pos, name, soap_type(left.type), should_quote=text_like)


# Clause -> the FieldInfo flag it needs and the verb of Salesforce's refusal.
_CAPABILITIES = {
    "where": ("filterable", "filtered"),
    "order": ("sortable", "sorted"),
    "group": ("groupable", "grouped"),
}


def _category(describe_type: str) -> str:
    if describe_type in NUMBER_TYPES:
        return "number"
    if describe_type in BOOLEAN_TYPES:
        return "boolean"
    if describe_type in DATE_TYPES:
        return "date"
    if describe_type in DATETIME_TYPES:
        return "datetime"
    return "text"
