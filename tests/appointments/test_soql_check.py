"""The appointment query's syntax check: what it accepts, and errors that point at the position."""

from __future__ import annotations

import pytest

from sync_engine.appointments.config_services import improveit_defaults
from sync_engine.appointments.soql_check import check_soql, parse_soql, with_limit

GOOD = [
    "SELECT Id FROM i360__Appointment__c",
    "select id, name from Account where name like 'A%' order by name limit 5",
    "SELECT Id, i360__Staff__r.Name, i360__Staff__r.i360__User__r.Email FROM i360__Appointment__c",
    "SELECT Id FROM X WHERE a = :user_identifier AND (b = 1 OR c != 'x') AND NOT d = TRUE",
    "SELECT Id FROM X WHERE a IN ('a', 'b') AND c NOT IN (1, 2.5) AND e = NULL",
    "SELECT Id FROM X WHERE s >= 2026-01-01 AND t < 2026-01-01T10:00:00Z AND u = LAST_N_DAYS:30 AND v = TODAY",
    "SELECT Id FROM X ORDER BY a DESC NULLS LAST, b ASC",
    "SELECT Id FROM X WHERE a = 'it\\'s'",
]


@pytest.mark.parametrize("soql", GOOD)
def test_it_accepts_the_queries_an_appointment_pull_needs(soql):
    check = check_soql(soql)
    assert check.ok, [str(p) for p in check.problems]


def test_the_improveit_default_query_is_valid():
    soql, _ = improveit_defaults()
    parsed, problems = parse_soql(soql)
    assert problems == []
    assert parsed.sobject == "i360__Appointment__c"
    assert [name for name, _ in parsed.placeholders] == ["user_identifier"]


@pytest.mark.parametrize(("soql", "line", "column", "words"), [
    ("SELECT Id FORM X", 1, 11, "expected FROM"),
    ("SELECT Id,\nName\nFROM X WHERE a = 1 AND b = 2 OR c = 3", 3, 30, "parentheses"),
    ("SELECT Id FROM X WHERE a = 'open", 1, 28, "never closed"),
    ("SELECT Id FROM X\nWHERE a = :staff", 2, 11, "unknown placeholder :staff"),
    ("SELECT Id FROM X WHERE d = 2026-13-01", 1, 28, "not a date"),
    ("SELECT Id FROM X WHERE d = LAST_N_DAYS", 1, 28, "needs a number"),
    ("SELECT Id FROM X WHERE d = Bob", 1, 28, "is not a value"),
    ("SELECT COUNT(Id) FROM X", 1, 13, "functions and subqueries are not supported"),
    ("SELECT Id FROM X GROUP BY Id", 1, 18, "GROUP is not supported"),
    ("SELECT Id FROM X LIMIT 0", 1, 24, "LIMIT must be between"),
    ("SELECT Id, Name, id FROM X", 1, 18, "selected twice"),
    ("SELECT Id FROM X WHERE a = \"x\"", 1, 28, "single quotes"),
    ("  SELECT Id FROM", 1, 17, "ends too early"),
    ("", 1, 1, "empty"),
    ("SELECT Id FROM X WHERE a 1", 1, 26, "comparison"),
])
def test_bad_soql_gets_a_message_with_line_and_column(soql, line, column, words):
    check = check_soql(soql)
    assert not check.ok
    problem = check.problems[0]
    assert (problem.line, problem.column) == (line, column), str(problem)
    assert words in problem.message
    assert str(problem).startswith(f"Line {line}, column {column}: ")


def test_the_caret_sits_under_the_offending_text():
    soql = "SELECT Id\nFROM X\nWHERE Name = 'a' OR Email = 'b' AND Phone = 'c'"
    problem = check_soql(soql).problems[0]
    text, caret = problem.caret_lines(soql)
    assert text == "WHERE Name = 'a' OR Email = 'b' AND Phone = 'c'"
    assert caret.index("^") == text.index("AND")
    assert caret.strip() == "^^^"


def _describe(objects: dict[str, list[dict]]):
    return lambda name: {"name": name, "fields": objects[name]} if name in objects else None


ORG = {
    "i360__Appointment__c": [
        {"name": "Id", "type": "id"}, {"name": "i360__Start__c", "type": "datetime"},
        {"name": "i360__Staff__c", "type": "reference", "relationshipName": "i360__Staff__r", "referenceTo": ["i360__Staff__c"]},
    ],
    "i360__Staff__c": [{"name": "Id", "type": "id"}, {"name": "Name", "type": "string"}],
}


def test_fields_and_relationship_paths_are_checked_against_the_describe():
    check = check_soql("SELECT Id, i360__Start__c, i360__Staff__r.Name FROM i360__Appointment__c "
                       "WHERE i360__Staff__c = :user_identifier", describe=_describe(ORG))
    assert check.ok, [str(p) for p in check.problems]
    assert check.field_types == {"id": "id", "i360__start__c": "datetime", "i360__staff__r.name": "string"}


def test_unknown_object_and_fields_are_reported_where_they_are():
    check = check_soql("SELECT Id FROM i360__Appointments__c", describe=_describe(ORG))
    assert [(p.column, "no object i360__Appointments__c" in p.message) for p in check.problems] == [(16, True)]

    soql = "SELECT Id, i360__Finish__c, i360__Staff__c.Name FROM i360__Appointment__c ORDER BY i360__Nope__c"
    problems = check_soql(soql, describe=_describe(ORG)).problems
    assert [soql[p.position:p.position + p.length] for p in problems] == ["i360__Finish__c", "i360__Staff__c.Name", "i360__Nope__c"]
    assert "__r" in problems[1].message  # the hint for a custom lookup's path


@pytest.mark.parametrize(("soql", "expected"), [
    ("SELECT Id FROM X", "SELECT Id FROM X LIMIT 10"),
    ("SELECT Id FROM X\nORDER BY Name\nLIMIT 500\n", "SELECT Id FROM X\nORDER BY Name\nLIMIT 10\n"),
    ("SELECT Id FROM X WHERE a = 'LIMIT 5' limit 3", "SELECT Id FROM X WHERE a = 'LIMIT 5' LIMIT 10"),
])
def test_test_query_limit_replaces_or_adds_the_limit(soql, expected):
    assert with_limit(soql, 10) == expected
