"""soql_bind: a member's identifier filters an admin's query as a quoted literal, never as SOQL."""

from __future__ import annotations

import pytest

from integrations.salesforce.soql import PlaceholderError, soql_bind

QUERY = "SELECT Id FROM i360__Appointment__c WHERE i360__Staff__c = :user_identifier AND CreatedDate = LAST_N_DAYS:7"


def test_the_identifier_is_bound_as_a_quoted_literal():
    assert soql_bind(QUERY, {"user_identifier": "a0B5e00000AbCdE"}) == (
        "SELECT Id FROM i360__Appointment__c WHERE i360__Staff__c = 'a0B5e00000AbCdE' AND CreatedDate = LAST_N_DAYS:7")


@pytest.mark.parametrize("hostile", ["x' OR Name != '", "x\\' OR Id != null OR Name = \\'", "' LIMIT 1 --"])
def test_an_injection_attempt_stays_inside_the_literal(hostile):
    bound = soql_bind("SELECT Id FROM Staff WHERE Id = :user_identifier", {"user_identifier": hostile})
    literal = bound.split("= ", 1)[1]
    assert literal.startswith("'") and literal.endswith("'")
    body = literal[1:-1]
    i = 0
    while i < len(body):  # every quote inside is escaped: the literal never ends early
        if body[i] == "\\":
            i += 2
            continue
        assert body[i] != "'"
        i += 1


def test_placeholders_inside_string_literals_and_time_literals_are_left_alone():
    soql = "SELECT Id FROM Event WHERE Subject = 'Call at 10:30 :user_identifier' AND StartDateTime > 2026-01-01T10:00:00Z"
    assert soql_bind(soql, {"user_identifier": "x"}) == soql


def test_an_unknown_placeholder_names_itself_and_its_position():
    with pytest.raises(PlaceholderError) as caught:
        soql_bind("SELECT Id FROM Account WHERE OwnerId = :owner", {"user_identifier": "x"})
    assert caught.value.name == "owner" and caught.value.position == 39 and "position 40" in str(caught.value)
