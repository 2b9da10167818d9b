"""The appointment query's syntax check (Workflow › CRM and Appointments › Check syntax).

A SOQL grammar (lark, LALR) for the queries an appointment pull needs: SELECT fields (with
relationship paths such as `i360__Staff__r.Name`), FROM one object, WHERE with AND / OR / NOT and
parentheses, comparisons, IN / NOT IN lists, LIKE, date and datetime literals, date constants
(`TODAY`, `LAST_N_DAYS:7`), the `:user_identifier` placeholder, ORDER BY and LIMIT. Anything
else (subqueries, aggregates, GROUP BY) is refused with the position where it starts, because
the pull maps one row per record. Every problem carries its line and column so the editor can
put a caret under it. Against the org, `check_soql` also checks the object and every field path
with the org's describe (the integration user's view)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

PLACEHOLDERS = ("user_identifier",)
MAX_LIMIT = 50000
MAX_RELATIONSHIP_DEPTH = 5  # Salesforce allows five levels of child-to-parent paths

GRAMMAR = r"""
start: query
query: "SELECT"i select_list "FROM"i object_name where_clause? order_by? limit_clause?

select_list: field_path ("," field_path)*
field_path: IDENT ("." IDENT)*
object_name: IDENT

where_clause: "WHERE"i condition
// Salesforce refuses AND and OR mixed without parentheses, so a chain is all-AND or all-OR.
?condition: and_cond | or_cond | unary_cond
and_cond: unary_cond ("AND"i unary_cond)+
or_cond: unary_cond ("OR"i unary_cond)+
?unary_cond: "NOT"i unary_cond                  -> not_cond
           | "(" condition ")"
           | predicate
?predicate: field_path COMP_OP value            -> compare
          | field_path "LIKE"i value            -> like
          | field_path "IN"i "(" value_list ")"         -> in_list
          | field_path "NOT"i "IN"i "(" value_list ")"  -> not_in_list
COMP_OP: "!=" | "<>" | "<=" | ">=" | "=" | "<" | ">"

value_list: value ("," value)*
?value: STRING                 -> string_lit
      | DATETIME               -> datetime_lit
      | DATE                   -> date_lit
      | NUMBER                 -> number_lit
      | TRUE                   -> true_lit
      | FALSE                  -> false_lit
      | NULL                   -> null_lit
      | BIND                   -> placeholder
      | IDENT (":" INT)?       -> date_constant

order_by: "ORDER"i "BY"i order_item ("," order_item)*
order_item: field_path DIRECTION? NULLS_ORDER?
DIRECTION: "ASC"i | "DESC"i
NULLS_ORDER: /NULLS\s+(FIRST|LAST)/i

limit_clause: "LIMIT"i INT

TRUE: "TRUE"i
FALSE: "FALSE"i
NULL: "NULL"i
BIND: /:[a-z_][a-z0-9_]*/i
DATETIME.3: /\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})/
DATE.2: /\d{4}-\d{2}-\d{2}/
NUMBER: /[+-]?(\d+(\.\d*)?|\.\d+)/
INT: /\d+/
STRING: /'(?:[^'\\\n]|\\.)*'/
IDENT: /[a-z][a-z0-9_]*/i

%import common.WS
%ignore WS
"""

_PARSER = Lark(GRAMMAR, parser="lalr", propagate_positions=True)

# Salesforce's date constants (SOQL reference, "Date Formats and Date Literals"); the N_ forms take ":n".
DATE_CONSTANTS = frozenset("""YESTERDAY TODAY TOMORROW LAST_WEEK THIS_WEEK NEXT_WEEK LAST_MONTH THIS_MONTH NEXT_MONTH
LAST_90_DAYS NEXT_90_DAYS THIS_QUARTER LAST_QUARTER NEXT_QUARTER THIS_YEAR LAST_YEAR NEXT_YEAR
THIS_FISCAL_QUARTER LAST_FISCAL_QUARTER NEXT_FISCAL_QUARTER THIS_FISCAL_YEAR LAST_FISCAL_YEAR NEXT_FISCAL_YEAR""".split())
DATE_CONSTANTS_N = frozenset("""LAST_N_DAYS NEXT_N_DAYS N_DAYS_AGO NEXT_N_WEEKS LAST_N_WEEKS N_WEEKS_AGO NEXT_N_MONTHS
LAST_N_MONTHS N_MONTHS_AGO NEXT_N_QUARTERS LAST_N_QUARTERS N_QUARTERS_AGO NEXT_N_YEARS LAST_N_YEARS N_YEARS_AGO
NEXT_N_FISCAL_QUARTERS LAST_N_FISCAL_QUARTERS N_FISCAL_QUARTERS_AGO NEXT_N_FISCAL_YEARS LAST_N_FISCAL_YEARS
N_FISCAL_YEARS_AGO""".split())

# What a person calls lark's terminals in "expected …".
_TERMINAL_WORDS = {
    "COMMA": "“,”", "LPAR": "“(”", "RPAR": "“)”", "DOT": "“.”", "COLON": "“:”", "IDENT": "a field or object name",
    "COMP_OP": "a comparison (=, !=, <, <=, >, >=)", "STRING": "a quoted text", "NUMBER": "a number", "INT": "a whole number",
    "DATE": "a date (YYYY-MM-DD)", "DATETIME": "a date-time (YYYY-MM-DDThh:mm:ssZ)", "BIND": ":user_identifier",
    "DIRECTION": "ASC or DESC", "NULLS_ORDER": "NULLS FIRST or NULLS LAST", "$END": "the end of the query",
}


@dataclass(frozen=True)
class SoqlProblem:
    """One thing wrong with a query, where it is (0-based `position`, 1-based line and column)."""

    message: str
    position: int
    line: int
    column: int
    length: int = 1

    def caret_lines(self, soql: str) -> tuple[str, str]:
        """The query's line holding the problem and a line with a caret under it."""
        text = soql.splitlines()[self.line - 1] if soql.splitlines() and self.line <= len(soql.splitlines()) else ""
        return text, " " * (self.column - 1) + "^" * max(1, min(self.length, max(1, len(text) - self.column + 1)))

    def __str__(self) -> str:
        return f"Line {self.line}, column {self.column}: {self.message}"


@dataclass(frozen=True)
class FieldRef:
    path: str
    position: int
    clause: str  # select, where, order


@dataclass
class ParsedQuery:
    sobject: str
    sobject_position: int
    selected: list[FieldRef] = field(default_factory=list)
    filtered: list[FieldRef] = field(default_factory=list)  # WHERE and ORDER BY
    placeholders: list[tuple[str, int]] = field(default_factory=list)
    limit_span: tuple[int, int] | None = None  # the whole "LIMIT n" clause

    def selects(self, path: str) -> bool:
        return path.lower() in {ref.path.lower() for ref in self.selected}


@dataclass
class SoqlCheck:
    """The result of `check_soql`: the parsed query when it parsed, every problem found, and the
    describe type of each selected field (lower-cased path → Salesforce type) when checked."""

    soql: str
    parsed: ParsedQuery | None
    problems: list[SoqlProblem]
    field_types: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _problem(soql: str, position: int, message: str, length: int = 1) -> SoqlProblem:
    position = max(0, min(position, len(soql)))
    line = soql.count("\n", 0, position) + 1
    column = position - (soql.rfind("\n", 0, position) + 1) + 1
    return SoqlProblem(message, position, line, column, length)


class SoqlSyntaxError(ValueError):
    def __init__(self, problem: SoqlProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _expected_words(expected: set[str] | frozenset[str]) -> str:
    if {"STRING", "NUMBER"} <= set(expected):
        return "a value (quoted text, a number, a date, TRUE, FALSE, NULL or :user_identifier)"
    words = sorted({_TERMINAL_WORDS.get(name, name.upper()) for name in expected if not name.startswith("__")})
    if len(words) > 6:
        return ""
    return " or ".join(words)


def _really_expected(exc: UnexpectedToken) -> set[str]:
    """The tokens the parser would accept here. LALR's `expected` is the union over merged
    states (after "SELECT Id" it lists LIKE and ASC); the interactive parser tries each one."""
    try:
        return set(exc.interactive_parser.accepts())
    except Exception:  # noqa: BLE001 - older lark or no parser state: fall back to the union
        return set(exc.expected)


def _syntax_problem(soql: str, exc: UnexpectedInput) -> SoqlProblem:
    if isinstance(exc, UnexpectedCharacters):
        char = soql[exc.pos_in_stream] if exc.pos_in_stream < len(soql) else ""
        if char == "'":
            return _problem(soql, exc.pos_in_stream, "this text literal is never closed (a ' is missing).")
        if char == ":":
            return _problem(soql, exc.pos_in_stream, "a placeholder is a colon followed by its name, e.g. :user_identifier.")
        if char == '"':
            return _problem(soql, exc.pos_in_stream, "SOQL quotes text with single quotes ('…'), not double quotes.")
        return _problem(soql, exc.pos_in_stream, f"unexpected character “{char}”.")
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        expected = _expected_words(_really_expected(exc) if isinstance(exc, UnexpectedToken) else set(exc.expected))
        return _problem(soql, len(soql.rstrip()), "the query ends too early" + (f": expected {expected}." if expected else "."))
    assert isinstance(exc, UnexpectedToken)
    token = exc.token
    expected_now = _really_expected(exc)
    word = str(token)
    position = token.start_pos if token.start_pos is not None else 0
    upper = word.upper()
    if upper in ("AND", "OR"):
        message = f"unexpected {upper}: put parentheses around conditions when AND and OR are mixed."
    elif upper in ("GROUP", "HAVING", "OFFSET", "FOR", "WITH", "USING", "TYPEOF"):
        message = f"{upper} is not supported in an appointment query (one row per appointment, LIMIT at most)."
    elif word == "(" and "LPAR" not in expected_now:
        message = "functions and subqueries are not supported here: use plain fields (relationship paths like i360__Staff__r.Name are fine)."
    else:
        expected = _expected_words(expected_now)
        message = f"unexpected “{word}”" + (f"; expected {expected}." if expected else ".")
    return _problem(soql, position, message, len(word) or 1)


def _path(tree: Tree) -> tuple[str, int]:
    tokens = [child for child in tree.children if isinstance(child, Token)]
    return ".".join(str(t) for t in tokens), tokens[0].start_pos or 0


def _literal_problems(soql: str, tree: Tree) -> list[SoqlProblem]:
    problems: list[SoqlProblem] = []
    for node in tree.iter_subtrees():
        if node.data == "date_lit":
            token = node.children[0]
            try:
                datetime.date.fromisoformat(str(token))
            except ValueError:
                problems.append(_problem(soql, token.start_pos, f"{token} is not a date (YYYY-MM-DD).", len(token)))
        elif node.data == "datetime_lit":
            token = node.children[0]
            try:
                datetime.datetime.fromisoformat(re.sub(r"[Zz]$", "+00:00", str(token)))
            except ValueError:
                problems.append(_problem(soql, token.start_pos, f"{token} is not a date-time (YYYY-MM-DDThh:mm:ssZ).", len(token)))
        elif node.data == "date_constant":
            name, *count = node.children
            upper = str(name).upper()
            if upper in DATE_CONSTANTS_N and not count:
                problems.append(_problem(soql, name.start_pos, f"{upper} needs a number, e.g. {upper}:7.", len(name)))
            elif upper in DATE_CONSTANTS and count:
                problems.append(_problem(soql, name.start_pos, f"{upper} takes no number.", len(name)))
            elif upper not in DATE_CONSTANTS and upper not in DATE_CONSTANTS_N:
                problems.append(_problem(soql, name.start_pos, f"“{name}” is not a value: quote text ('…'), or use a date "
                                                              "constant such as TODAY or LAST_N_DAYS:7.", len(name)))
    return problems


def parse_soql(soql: str) -> tuple[ParsedQuery | None, list[SoqlProblem]]:
    """Parse an appointment query. Returns the parsed query (None on a syntax error) and the
    problems found without the org: syntax, literals, placeholders, LIMIT."""
    if not soql.strip():
        return None, [_problem(soql, 0, "the query is empty: start with SELECT.")]
    try:
        tree = _PARSER.parse(soql)
    except UnexpectedInput as exc:
        return None, [_syntax_problem(soql, exc)]
    query = tree.children[0]
    problems = _literal_problems(soql, query)
    object_token = next(query.find_data("object_name")).children[0]
    parsed = ParsedQuery(sobject=str(object_token), sobject_position=object_token.start_pos)
    for child in query.children:
        if not isinstance(child, Tree):
            continue
        clause = {"select_list": "select", "where_clause": "where", "order_by": "order"}.get(child.data)
        if clause:
            for node in child.find_data("field_path"):
                path, position = _path(node)
                (parsed.selected if clause == "select" else parsed.filtered).append(FieldRef(path, position, clause))
        if child.data == "limit_clause":
            parsed.limit_span = (child.meta.start_pos, child.meta.end_pos)
            value = int(str(child.children[0]))
            if not 1 <= value <= MAX_LIMIT:
                token = child.children[0]
                problems.append(_problem(soql, token.start_pos, f"LIMIT must be between 1 and {MAX_LIMIT:,}.", len(token)))
    parsed.selected.sort(key=lambda ref: ref.position)
    for node in query.find_data("placeholder"):
        token = node.children[0]
        name = str(token)[1:]
        parsed.placeholders.append((name, token.start_pos))
        if name not in PLACEHOLDERS:
            problems.append(_problem(soql, token.start_pos, f"unknown placeholder {token}: the only one is :user_identifier.", len(token)))
    seen: dict[str, FieldRef] = {}
    for ref in parsed.selected:
        if ref.path.lower() in seen:
            problems.append(_problem(soql, ref.position, f"{ref.path} is selected twice.", len(ref.path)))
        seen[ref.path.lower()] = ref
    return parsed, problems


Describe = Callable[[str], dict | None]


def _resolve(path: str, sobject: str, describe: Describe) -> tuple[str | None, str]:
    """The Salesforce type of a field path from `sobject`, or None and why not."""
    parts = path.split(".")
    if len(parts) > MAX_RELATIONSHIP_DEPTH + 1:
        return None, f"{path} goes more than {MAX_RELATIONSHIP_DEPTH} relationships deep."
    current = sobject
    for index, part in enumerate(parts):
        payload = describe(current) or {}
        fields = payload.get("fields", [])
        if index == len(parts) - 1:
            match = next((f for f in fields if f.get("name", "").lower() == part.lower()), None)
            if match is None:
                return None, f"{current} has no field {part} (or the integration user cannot see it)."
            return str(match.get("type", "")), ""
        relation = next((f for f in fields if (f.get("relationshipName") or "").lower() == part.lower()), None)
        if relation is None:
            hint = f" (a custom lookup's path ends in __r, e.g. {part[:-3]}__r)" if part.lower().endswith("__c") else ""
            return None, f"{current} has no relationship {part}{hint}."
        targets = relation.get("referenceTo") or []
        if len(targets) != 1:
            return None, f"{part} can point to several objects ({', '.join(targets)}); select fields of one object only."
        current = targets[0]
    return None, f"{path} is not a field."


def check_soql(soql: str, *, describe: Describe | None = None) -> SoqlCheck:
    """Syntax first; then, with `describe` (sobject → describe payload or None), the object and
    every field path of SELECT, WHERE and ORDER BY against the org."""
    parsed, problems = parse_soql(soql)
    check = SoqlCheck(soql=soql, parsed=parsed, problems=problems)
    if parsed is None or describe is None:
        return check
    if not describe(parsed.sobject):
        problems.append(_problem(soql, parsed.sobject_position, f"the org has no object {parsed.sobject} "
                                                                "(or the integration user cannot read it).", len(parsed.sobject)))
        return check
    for ref in [*parsed.selected, *parsed.filtered]:
        sf_type, why = _resolve(ref.path, parsed.sobject, describe)
        if sf_type is None:
            problems.append(_problem(soql, ref.position, why, len(ref.path)))
        elif ref.clause == "select":
            check.field_types[ref.path.lower()] = sf_type
    problems.sort(key=lambda p: p.position)
    return check


def with_limit(soql: str, limit: int) -> str:
    """The query with its LIMIT replaced by `limit`, or LIMIT added (Test query runs LIMIT 10).
    The query must parse."""
    parsed, _ = parse_soql(soql)
    if parsed is None:
        raise ValueError("the query does not parse")
    if parsed.limit_span:
        start, end = parsed.limit_span
        return f"{soql[:start]}LIMIT {limit}{soql[end:]}"
    return f"{soql.rstrip()} LIMIT {limit}"
