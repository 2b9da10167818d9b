"""SOQL text -> syntax tree (nodes.py), with Salesforce's MALFORMED_QUERY errors.

One LALR parser is built per process from soql.lark; the tree is built by a transformer that
runs inside the parser (no intermediate lark tree). Parsed queries are cached by text: the tree
is immutable and the emulator's clients repeat the same few queries (paging, polling).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import errors, literals
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
    SelectItem,
    SelectSubquery,
    StringLit,
)

# Salesforce's reserved words: never an identifier, whatever the parser state.
RESERVED = frozenset(
    "AND ASC DESC EXCLUDES FIRST FROM GROUP HAVING IN INCLUDES LAST LIKE LIMIT NOT NULL NULLS "
    "OR SELECT WHERE WITH".split()
)


class _Malformed(Exception):
    """Raised inside the lexer/transformer; turned into a positioned SoqlError by parse()."""

    def __init__(self, pos: int, reason: str) -> None:
        super().__init__(reason)
        self.pos = pos
        self.reason = reason


def _refuse_reserved(token: Token) -> Token:
    # In a state where a keyword is acceptable lark already typed it as that keyword; an IDENT
    # that spells a reserved word is therefore one used where Salesforce would choke on it.
    if token.value.upper() in RESERVED:
        raise _Malformed(token.start_pos or 0, f"unexpected token: '{token.value}'")
    return token


def _pos(item: Any) -> int:
    if isinstance(item, Token):
        return item.start_pos or 0
    return item.pos


class _ToAst(Transformer[Token, Any]):
    """Builds nodes.py objects bottom-up while the LALR parser reduces."""

    # --- select ---------------------------------------------------------------------------
    def field_path(self, parts: list[Token]) -> FieldPath:
        return FieldPath(tuple(str(p) for p in parts), _pos(parts[0]))

    def func_call(self, children: list[Any]) -> FuncCall:
        name, *args = children
        return FuncCall(str(name), tuple(a for a in args if a is not None), _pos(name))

    def alias(self, children: list[Token]) -> str:
        return str(children[0])

    def select_field(self, children: list[Any]) -> SelectField:
        return SelectField(children[0], children[1] if len(children) > 1 else None)

    def select_func(self, children: list[Any]) -> SelectFunc:
        return SelectFunc(children[0], children[1] if len(children) > 1 else None)

    def select_subquery(self, children: list[Any]) -> SelectSubquery:
        query: Query = children[0]
        return SelectSubquery(query, query.from_pos)

    def select_list(self, items: list[SelectItem]) -> tuple[SelectItem, ...]:
        return tuple(items)

    def from_object(self, children: list[Token]) -> tuple[str, str, int, str | None]:
        alias = str(children[1]) if len(children) > 1 else None
        return ("from", str(children[0]), _pos(children[0]), alias)

    def using_scope(self, children: list[Token]) -> tuple[str, str]:
        return ("ignored", f"USING SCOPE {children[0]}")

    # --- conditions -----------------------------------------------------------------------
    def where_clause(self, children: list[Condition]) -> tuple[str, Condition]:
        return ("where", children[0])

    def having_clause(self, children: list[Condition]) -> tuple[str, Condition]:
        return ("having", children[0])

    def and_cond(self, items: list[Condition]) -> And:
        return And(tuple(items))

    def or_cond(self, items: list[Condition]) -> Or:
        return Or(tuple(items))

    def not_cond(self, children: list[Condition]) -> Not:
        return Not(children[0])

    def compare(self, children: list[Any]) -> Compare:
        left, op, value = children
        op = "!=" if op == "<>" else str(op)
        return Compare(left, op, value)

    def like(self, children: list[Any]) -> Like:
        return Like(children[0], children[1])

    def in_list(self, children: list[Any]) -> InList:
        return InList(children[0], children[1], negated=False)

    def not_in_list(self, children: list[Any]) -> InList:
        return InList(children[0], children[1], negated=True)

    def in_query(self, children: list[Any]) -> InQuery:
        return InQuery(children[0], children[1], negated=False)

    def not_in_query(self, children: list[Any]) -> InQuery:
        return InQuery(children[0], children[1], negated=True)

    def includes(self, children: list[Any]) -> Includes:
        return Includes(children[0], children[1], excludes=False)

    def excludes(self, children: list[Any]) -> Includes:
        return Includes(children[0], children[1], excludes=True)

    def value_list(self, values: list[Literal]) -> tuple[Literal, ...]:
        return tuple(values)

    # --- literals -------------------------------------------------------------------------
    def string_lit(self, children: list[Token]) -> StringLit:
        token = children[0]
        raw = token.value[1:-1]
        try:
            value = literals.unescape_string(raw)
        except literals.LiteralError as exc:
            raise _Malformed(_pos(token), str(exc)) from None
        return StringLit(value, raw, _pos(token))

    def number_lit(self, children: list[Token]) -> NumberLit:
        token = children[0]
        text = token.value
        value: int | float = int(text) if text.lstrip("+-").isdigit() else float(text)
        return NumberLit(value, text, _pos(token))

    def date_lit(self, children: list[Token]) -> DateLit:
        token = children[0]
        try:
            return DateLit(literals.parse_date(token.value), token.value, _pos(token))
        except literals.LiteralError as exc:
            raise _Malformed(_pos(token), str(exc)) from None

    def datetime_lit(self, children: list[Token]) -> DateTimeLit:
        token = children[0]
        try:
            return DateTimeLit(literals.parse_datetime(token.value), token.value, _pos(token))
        except literals.LiteralError as exc:
            raise _Malformed(_pos(token), str(exc)) from None

    def true_lit(self, children: list[Token]) -> BoolLit:
        return BoolLit(True, 0)

    def false_lit(self, children: list[Token]) -> BoolLit:
        return BoolLit(False, 0)

    def null_lit(self, children: list[Token]) -> NullLit:
        return NullLit(0)

    def date_constant(self, children: list[Token]) -> DateConstant:
        name = children[0]
        n: int | None = None
        text = str(name)
        if len(children) > 1:
            number = children[1]
            if not number.value.isdigit():
                raise _Malformed(_pos(number), f"unexpected token: '{number.value}'")
            n = int(number.value)
            text = f"{name}:{number.value}"
        return DateConstant(str(name).upper(), n, text, _pos(name))

    # --- group / order / limit ------------------------------------------------------------
    def group_by(self, operands: list[Operand]) -> tuple[str, tuple[Operand, ...]]:
        return ("group_by", tuple(operands))

    def order_by(self, items: list[OrderItem]) -> tuple[str, tuple[OrderItem, ...]]:
        return ("order_by", tuple(items))

    def order_item(self, children: list[Any]) -> OrderItem:
        operand, *modifiers = children
        descending = "desc" in modifiers
        nulls_last: bool | None = None
        if "nulls_last" in modifiers:
            nulls_last = True
        elif "nulls_first" in modifiers:
            nulls_last = False
        return OrderItem(operand, descending, nulls_last)

    def asc(self, _: list[Any]) -> str:
        return "asc"

    def desc(self, _: list[Any]) -> str:
        return "desc"

    def nulls_first(self, _: list[Any]) -> str:
        return "nulls_first"

    def nulls_last(self, _: list[Any]) -> str:
        return "nulls_last"

    def limit_clause(self, children: list[Token]) -> tuple[str, int, int]:
        return ("limit", _non_negative_int(children[0]), _pos(children[0]))

    def offset_clause(self, children: list[Token]) -> tuple[str, int, int]:
        return ("offset", _non_negative_int(children[0]), _pos(children[0]))

    def for_update(self, _: list[Any]) -> tuple[str, str]:
        return ("ignored", "FOR UPDATE")

    def for_view(self, _: list[Any]) -> tuple[str, str]:
        return ("ignored", "FOR VIEW")

    def for_reference(self, _: list[Any]) -> tuple[str, str]:
        return ("ignored", "FOR REFERENCE")

    def update_tracking(self, _: list[Any]) -> tuple[str, str]:
        return ("ignored", "UPDATE TRACKING")

    def update_viewstat(self, _: list[Any]) -> tuple[str, str]:
        return ("ignored", "UPDATE VIEWSTAT")

    def all_rows(self, _: list[Any]) -> tuple[str, bool]:
        return ("all_rows", True)

    # --- the query ------------------------------------------------------------------------
    def query(self, children: list[Any]) -> Query:
        select, (_, from_name, from_pos, alias), *clauses = children
        parts: dict[str, Any] = {"ignored_clauses": ()}
        for clause in clauses:
            kind = clause[0]
            if kind == "ignored":
                parts["ignored_clauses"] += (clause[1],)
            elif kind in ("limit", "offset"):
                parts[kind] = clause[1]
                parts[f"{kind}_pos"] = clause[2]
            else:
                parts[kind] = clause[1]
        return Query(select=select, from_name=from_name, from_pos=from_pos, alias=alias, **parts)

    def start(self, children: list[Query]) -> Query:
        return children[0]


def _non_negative_int(token: Token) -> int:
    if not token.value.isdigit():
        raise _Malformed(_pos(token), f"unexpected token: '{token.value}'")
    return int(token.value)


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = (Path(__file__).parent / "soql.lark").read_text()
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        transformer=_ToAst(),
        lexer_callbacks={"IDENT": _refuse_reserved},
        maybe_placeholders=True,
    )


@functools.lru_cache(maxsize=1024)
def parse(soql: str) -> Query:
    """Parse SOQL text into a syntax tree; raises SoqlError(MALFORMED_QUERY) with the position."""
    try:
        tree = _parser().parse(soql)
    except _Malformed as exc:
        raise errors.positioned(soql, exc.pos, errors.MALFORMED_QUERY, exc.reason) from None
    except UnexpectedToken as exc:
        token = exc.token
        if token.type == "$END":
            raise errors.unexpected_token(soql, _eof_pos(soql), "<EOF>") from None
        raise errors.unexpected_token(soql, token.start_pos or 0, token.value) from None
    except UnexpectedCharacters as exc:
        raise errors.unexpected_token(soql, exc.pos_in_stream, soql[exc.pos_in_stream]) from None
    except (UnexpectedEOF, UnexpectedInput):
        raise errors.unexpected_token(soql, _eof_pos(soql), "<EOF>") from None
    assert isinstance(tree, Query)
    return tree


def _eof_pos(soql: str) -> int:
    # Salesforce points just past the last character of the query, ignoring trailing blanks.
    return len(soql.rstrip())
