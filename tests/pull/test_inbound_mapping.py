"""The mapping back, as pure functions: no database writes, no calls."""

from __future__ import annotations

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from integrations.mapping.defaults import default_settings
from integrations.mapping.opportunity_inbound import (
    InboundContext,
    id18,
    normalize,
    opportunity_from_salesforce,
    parse_date,
    pulls_field,
    value_range_for_amount,
)

D = Decimal


@pytest.mark.parametrize("amount, low, high, conversion, expected", [
    (D("250000"), D("100000"), D("300000"), "midpoint", (D("150000.00"), D("350000.00"))),
    (D("250000"), D("100000"), D("300000"), "min", (D("250000"), D("450000"))),
    (D("250000"), D("100000"), D("300000"), "max", (D("50000"), D("250000"))),
    (D("50000"), D("100000"), D("300000"), "max", (D("0"), D("50000"))),
    (D("40000"), D("100000"), D("300000"), "midpoint", (D("0.00"), D("80000.00"))),  # never below zero, still centred
    (D("70000"), D("100000"), None, "midpoint", (D("70000"), None)),  # no max: min = Amount
    (D("70000"), None, D("300000"), "midpoint", (None, D("70000"))),
    (D("70000"), None, None, "midpoint", (D("70000"), None)),
    (None, D("1"), D("2"), "midpoint", (None, None)),
])
def test_amount_moves_the_range_keeping_its_width(amount, low, high, conversion, expected):
    assert value_range_for_amount(amount, low, high, conversion) == expected


def test_the_configured_conversion_of_the_new_range_is_the_amount():
    from integrations.mapping.opportunity import amount_for

    for conversion in ("midpoint", "min", "max"):
        low, high = value_range_for_amount(D("123456.78"), D("1000"), D("2001"), conversion)
        assert amount_for(SimpleNamespace(value_min=low, value_max=high), conversion) == D("123456.78")
        assert high - low == D("1001")


def test_close_dates_keep_their_calendar_day():
    assert parse_date("2030-12-31") == datetime.date(2030, 12, 31)
    assert parse_date("2030-12-31T23:30:00.000+0000") == datetime.date(2030, 12, 31)
    assert parse_date("2031-01-01T00:30:00.000-1100") == datetime.date(2031, 1, 1)
    assert parse_date(None) is None


def test_values_normalize_to_one_comparable_form():
    assert normalize(200000) == normalize(200000.0) == normalize(D("200000.00")) == 200000.0
    assert normalize("12345") == "12345"  # text stays text (the receiver types numbers by the describe)
    assert normalize("2030-06-01T12:30:00.000+0000") == normalize(datetime.datetime(2030, 6, 1, 12, 30, tzinfo=datetime.timezone.utc)) \
        == normalize("2030-06-01T12:30:00.000+00:00") == "2030-06-01T12:30:00.000Z"
    assert normalize("") is None and normalize("Proposal") == "Proposal"


def test_fifteen_character_ids_get_their_checksum():
    assert id18("001000000000001") == "001000000000001AAA"
    assert id18("0065g000000000dAAA") == "0065g000000000dAAA"
    assert id18("00D5g000000DEMO")[:15] == "00D5g000000DEMO" and len(id18("00D5g000000DEMO")) == 18


@pytest.mark.parametrize("direction, field_directions, expected", [
    ("bidirectional", {}, True), ("pull", {}, True), ("push", {}, False),
    ("hybrid", {"Description": "pull"}, True), ("hybrid", {"Description": "both"}, True),
    ("hybrid", {"Description": "push"}, False), ("hybrid", {}, True),
])
def test_direction_decides_which_fields_are_pulled(direction, field_directions, expected):
    assert pulls_field({"direction": direction, "field_directions": field_directions}, "Description") is expected


def _current(**values):
    base = dict(title="T", reference="R", value_min=None, value_max=None, closing_date=None, department_id=None, status="identified",
                category="", procurement_method="", location="", unspsc_code="", compliance_score=None, pursuit_decision="",
                win_probability=None, analysis_status="not_started", assignee_id=None, last_analyzed_at=None, description="")
    base.update(values)
    return SimpleNamespace(**base)


def test_a_value_equal_to_what_cothon_sends_changes_nothing():
    ctx = InboundContext(settings=default_settings())
    result = opportunity_from_salesforce({"Type": "New Business", "StageName": "Prospecting"}, _current(category="goods"), ctx)
    assert result.changes == {} and result.skipped == []
    assert result.agreed == {"Type": "New Business", "StageName": "Prospecting"}


def test_a_declared_reverse_value_resolves_a_shared_picklist_value():
    settings = default_settings()
    settings["picklist_reverse"] = {"category_to_type": {"Services": "professional"}}
    result = opportunity_from_salesforce({"Type": "Services"}, _current(category="goods"), InboundContext(settings=settings))
    assert result.changes == {"category": "professional"}


def test_a_stage_outside_the_map_is_skipped_with_its_reason():
    result = opportunity_from_salesforce({"StageName": "Id. Decision Makers"}, _current(), InboundContext(settings=default_settings()))
    assert result.changes == {} and "not in the stage mapping" in result.skipped[0][1]


def test_a_field_equal_to_the_base_while_cothon_differs_keeps_cothons_value():
    result = opportunity_from_salesforce({"Description": "Old"}, _current(description="New in Cothon"),
                                         InboundContext(settings=default_settings()), base={"Description": "Old"})
    assert result.changes == {} and "Changed in Cothon" in result.skipped[0][1]


def test_cothon_only_fields_are_never_pulled():
    result = opportunity_from_salesforce({"Cothon_Source__c": "Someone", "Cothon_Url__c": "http://x", "Cothon_Full_Title__c": "x"},
                                         _current(), InboundContext(settings=default_settings()))
    assert result.changes == {} and result.extra == {}


def test_settings_validation_can_list_the_shared_values_without_a_reverse():
    from integrations.mapping.opportunity_inbound import missing_reverse_values

    settings = default_settings()
    assert missing_reverse_values(settings) == []  # the shipped maps declare their reverse values
    settings["picklist_reverse"] = {}  # as a version saved before reverse values existed
    assert missing_reverse_values(settings) == [
        ("category_to_type", "New Business", ["construction", "goods"]),
        ("category_to_type", "Services", ["it", "professional", "services"]),
    ]
    settings["picklist_reverse"] = {"category_to_type": {"New Business": "goods", "Services": "it"}}
    assert missing_reverse_values(settings) == []
    settings["direction"] = "push"
    settings["picklist_reverse"] = {}
    assert missing_reverse_values(settings) == []
