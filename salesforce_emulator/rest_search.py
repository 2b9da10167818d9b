"""A small SOSL: `GET /search?q=FIND {term} [IN ALL|NAME|EMAIL|PHONE FIELDS]
[RETURNING Obj[(f1, f2 [WHERE …] [ORDER BY …] [LIMIT n])], …] [LIMIT n]` and
`parameterizedSearch` (GET and POST), answering `{"searchRecords": [...]}`.

Matching is word based and case-insensitive, as Salesforce's search index is: every word of
the term must be a word of one searched field (`*` matches any ending, `?` one character),
`"a phrase"` must appear as written, and `OR` between words accepts either side. There is no
relevance ranking: records come object by object in RETURNING order (or the ORDER BY given).
WHERE/ORDER BY/field lists go through the SOQL engine, with the user's object and field access.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import RequestError
from .http import Call, json_response, render_version
from .runtime import StoreDataSource

DEFAULT_LIMIT = 2000
TEXT_TYPES = {"string", "textarea", "email", "phone", "url", "picklist", "multipicklist",
              "combobox"}
SCOPES = {"all": TEXT_TYPES, "name": None, "email": {"email"}, "phone": {"phone"},
          "sidebar": TEXT_TYPES}
WORD_RE = re.compile(r"\w+", re.UNICODE)
SPEC_RE = re.compile(r"^(?P<fields>.*?)(?:\s+WHERE\s+(?P<where>.*?))?"
                     r"(?:\s+ORDER\s+BY\s+(?P<order>.*?))?(?:\s+LIMIT\s+(?P<limit>\d+))?$",
                     re.IGNORECASE | re.DOTALL)


def malformed(message: str) -> RequestError:
    return RequestError("MALFORMED_SEARCH", message)


@dataclass
class Target:
    sobject: str
    fields: list[str] = field(default_factory=list)
    where: str | None = None
    order: str | None = None
    limit: int | None = None


@dataclass
class Search:
    term: str
    scope: str = "all"
    targets: list[Target] | None = None  # None: every searchable object, Id only
    limit: int = DEFAULT_LIMIT


# -- parsing -------------------------------------------------------------------------------
def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses and quotes."""
    parts, depth, quote, current = [], 0, None, []
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _target(text: str) -> Target:
    name, paren, rest = text.partition("(")
    target = Target(sobject=name.strip())
    if not re.fullmatch(r"\w+", target.sobject):
        raise malformed(f"unexpected token: '{text}'")
    if paren:
        if not rest.rstrip().endswith(")"):
            raise malformed(f"unexpected token: '{text}'")
        inner = rest.rstrip()[:-1].strip()
        match = SPEC_RE.match(inner)
        target.fields = [f.strip() for f in (match.group("fields") or "").split(",")
                         if f.strip()]
        target.where = match.group("where")
        target.order = match.group("order")
        target.limit = int(match.group("limit")) if match.group("limit") else None
    return target


def parse_sosl(sosl: str) -> Search:
    text = sosl.strip()
    if not re.match(r"FIND\b", text, re.IGNORECASE):
        raise malformed("unexpected token: the search must start with FIND")
    rest = text[4:].lstrip()
    if not rest.startswith("{"):
        raise malformed("No search term found. The search term must be enclosed in braces.")
    term, i, escaped = [], 1, False
    while i < len(rest):
        ch = rest[i]
        if escaped:
            term.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "}":
            break
        else:
            term.append(ch)
        i += 1
    else:
        raise malformed("No search term found. The search term must be enclosed in braces.")
    search = Search(term="".join(term))
    tail = rest[i + 1:].strip()
    scope = re.match(r"IN\s+(\w+)\s+FIELDS\b", tail, re.IGNORECASE)
    if scope:
        search.scope = scope.group(1).lower()
        if search.scope not in SCOPES:
            raise malformed(f"unexpected token: '{scope.group(1)}'")
        tail = tail[scope.end():].strip()
    limit = re.search(r"\s*\bLIMIT\s+(\d+)\s*$", tail, re.IGNORECASE)
    returning = re.match(r"RETURNING\s+(.*)$", tail, re.IGNORECASE | re.DOTALL)
    if returning:
        parts = _split_top(returning.group(1))
        if parts:
            # a LIMIT after the last object (outside its parentheses) is the overall limit
            last = re.match(r"^(\w+|.*\))\s+LIMIT\s+(\d+)$", parts[-1],
                            re.IGNORECASE | re.DOTALL)
            if last:
                parts[-1] = last.group(1)
                search.limit = int(last.group(2))
        search.targets = [_target(t) for t in parts]
        if not search.targets:
            raise malformed("unexpected token: RETURNING needs at least one object")
    elif limit:
        search.limit = int(limit.group(1))
        tail = tail[:limit.start()].strip()
        if tail:
            raise malformed(f"unexpected token: '{tail.split()[0]}'")
    elif tail:
        raise malformed(f"unexpected token: '{tail.split()[0]}'")
    return search


# -- matching ------------------------------------------------------------------------------
def _word_pattern(word: str) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in word)
    return re.compile(f"^{body}$", re.IGNORECASE)


def compile_term(term: str) -> list[list[tuple[str, Any]]]:
    """OR-groups of AND-ed conditions: ("phrase", text) or ("word", pattern)."""
    tokens = re.findall(r'"[^"]*"|\S+', term)
    groups: list[list[tuple[str, Any]]] = [[]]
    for token in tokens:
        if token.upper() == "OR":
            groups.append([])
            continue
        if token.upper() == "AND":
            continue
        if token.startswith('"'):
            phrase = " ".join(WORD_RE.findall(token.strip('"').lower()))
            if phrase:
                groups[-1].append(("phrase", phrase))
            continue
        for word in re.findall(r"[\w*?]+", token):
            groups[-1].append(("word", _word_pattern(word)))
    groups = [g for g in groups if g]
    letters = sum(len(re.sub(r"[*?]", "", w)) for w in re.findall(r"[\w*?]+", term))
    if not groups or letters < 2:
        raise malformed("search term must be longer than one character")
    return groups


def matches(groups: list[list[tuple[str, Any]]], texts: list[str]) -> bool:
    words = [w for t in texts for w in WORD_RE.findall(t.lower())]
    joined = " ".join(words)
    for group in groups:
        if all((f" {cond} " in f" {joined} ") if kind == "phrase"
               else any(cond.match(w) for w in words) for kind, cond in group):
            return True
    return False


# -- execution -----------------------------------------------------------------------------
def _searched_fields(call: Call, obj, scope: str) -> list[str]:
    visible = call.rt.schema.visible_fields(call.profile, obj)
    if SCOPES[scope] is None:  # NAME FIELDS
        names = [obj.name_field] if obj.name_field else []
        if obj.name in ("Contact", "Lead", "User"):
            names += ["FirstName", "LastName"]
        return [n for n in names if n and n.lower() in visible]
    return [f.name for f in visible.values() if f.type in SCOPES[scope]]


def _soql(call: Call, source: StoreDataSource, soql: str) -> list[dict[str, Any]]:
    from .soql import SoqlError, execute
    try:
        return list(execute(soql, source, api_version=call.version or "59.0").records)
    except SoqlError as exc:
        raise RequestError(exc.error_code, exc.message) from None


def run_search(call: Call, search: Search) -> list[dict[str, Any]]:
    groups = compile_term(search.term)
    schema, profile = call.rt.schema, call.profile
    source = StoreDataSource(call.rt, profile)
    targets = search.targets
    if targets is None:
        targets = [Target(o.name) for o in sorted(schema.objects.values(), key=lambda o: o.name)
                   if schema.readable(profile, o) and o.describe.get("searchable", True)]
    out: list[dict[str, Any]] = []
    for target in targets:
        obj = schema.get(target.sobject)
        if obj is None or not schema.readable(profile, obj):
            raise RequestError("INVALID_TYPE", f"sObject type '{target.sobject}' is not "
                               "supported.")
        room = search.limit - len(out)
        if room <= 0:
            break
        limit = min(room, target.limit if target.limit is not None else room)
        searched = _searched_fields(call, obj, search.scope)
        if not searched:
            continue
        where = f" WHERE {target.where}" if target.where else ""
        rows = _soql(call, source, f"SELECT Id, {', '.join(searched)} FROM {obj.name}{where}")
        hits = [r["Id"] for r in rows
                if matches(groups, [str(r[f]) for f in searched if r.get(f) not in (None, "")])]
        if not hits:
            continue
        fields = target.fields or ["Id"]
        order = f" ORDER BY {target.order}" if target.order else ""
        id_list = ", ".join(f"'{h}'" for h in hits)
        out += _soql(call, source, f"SELECT {', '.join(fields)} FROM {obj.name} "
                     f"WHERE Id IN ({id_list}){order} LIMIT {limit}")
    return out


def _answer(call: Call, records: list[dict[str, Any]]):
    body = json.dumps({"searchRecords": records}, separators=(",", ":"))
    return json_response(None, text=render_version(body, call.version))


def search(call: Call):
    sosl = call.request.args.get("q")
    if not sosl:
        raise malformed("No search term found. The search term must be enclosed in braces.")
    return _answer(call, run_search(call, parse_sosl(sosl)))


def _int(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise RequestError("INVALID_SEARCH", f"{name} must be a positive integer") from None
    if number < 1:
        raise RequestError("INVALID_SEARCH", f"{name} must be a positive integer")
    return number


def _names(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RequestError("INVALID_SEARCH", f"{what} must be a list of field names")
    return [v.strip() for v in value]


def parameterized(call: Call):
    """GET ?q=&sobject=&<Obj>.fields=&<Obj>.limit=&fields=&in=&overallLimit= or the POST body
    {q, fields, sobjects: [{name, fields, limit, where}], in, overallLimit, defaultLimit}."""
    if call.request.method == "POST":
        body = call.json_object()
        term, scope = body.get("q"), str(body.get("in") or "ALL")
        default_fields = _names(body.get("fields"), "fields")
        default_limit = body.get("defaultLimit")
        specs = body.get("sobjects")
        if specs is not None and not isinstance(specs, list):
            raise RequestError("INVALID_SEARCH", "sobjects must be a list")
        targets = None
        if specs:
            targets = []
            for spec in specs:
                if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                    raise RequestError("INVALID_SEARCH", "each sobjects entry needs a name")
                where = spec.get("where")
                if where is not None and not isinstance(where, str):
                    raise RequestError("INVALID_SEARCH", "where must be a string")
                limit = spec.get("limit", default_limit)
                targets.append(Target(spec["name"], _names(spec.get("fields"), "fields")
                                      or default_fields, where, None,
                                      _int(limit, "limit") if limit is not None else None))
        overall = body.get("overallLimit")
    else:
        args = call.request.args
        term, scope = args.get("q"), args.get("in") or "ALL"
        default_fields = [f for f in (args.get("fields") or "").split(",") if f]
        default_limit = args.get("defaultLimit")
        names = args.getlist("sobject")
        targets = None
        if names:
            targets = []
            for name in names:
                fields = [f for f in (args.get(f"{name}.fields") or "").split(",") if f]
                limit = args.get(f"{name}.limit", default_limit)
                targets.append(Target(name, fields or default_fields, args.get(f"{name}.where"),
                                      None, _int(limit, "limit") if limit is not None else None))
        overall = args.get("overallLimit")
    if not isinstance(term, str) or not term.strip():
        raise RequestError("MISSING_ARGUMENT", "Missing required parameter: q")
    if scope.lower() not in SCOPES:
        raise RequestError("INVALID_SEARCH", f"in must be ALL, NAME, EMAIL or PHONE: {scope}")
    search_ = Search(term=term, scope=scope.lower(), targets=targets,
                     limit=_int(overall, "overallLimit") if overall is not None
                     else DEFAULT_LIMIT)
    return _answer(call, run_search(call, search_))


def register(router) -> None:
    v = "/services/data/v<version>"
    router.add(f"{v}/search", ["GET"], search, operation="query", name="search")
    router.add(f"{v}/parameterizedSearch", ["GET", "POST"], parameterized, operation="query",
               name="parameterizedSearch")
