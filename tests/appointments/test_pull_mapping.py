"""Mapping a pulled Salesforce row into an appointment: every Salesforce data type the field
mappings offer converts to its value (and refuses what is not one), fits its Cothon field, and
reads well in the notes."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal

import pytest

from sync_engine.appointments.convert import SF_TYPES, ConversionError, appointment_values, convert, display, field_value

TORONTO = zoneinfo.ZoneInfo("America/Toronto")


@pytest.mark.parametrize(("sf_type", "raw", "expected", "shown"), [
    ("string", "  Jordan Homeowner ", "Jordan Homeowner", "Jordan Homeowner"),
    ("picklist", "Demo Sold", "Demo Sold", "Demo Sold"),
    ("multipicklist", "Windows;Doors", "Windows;Doors", "Windows;Doors"),
    ("email", "jordan@example.com", "jordan@example.com", "jordan@example.com"),
    ("phone", "(613) 555-0101", "(613) 555-0101", "(613) 555-0101"),
    ("url", "https://example.com/a", "https://example.com/a", "https://example.com/a"),
    ("textarea", "Gate code 4412.\nDog in the yard. ", "Gate code 4412.\nDog in the yard. ", "Gate code 4412.\nDog in the yard. "),
    ("reference", "a0S5g0SD0000005EGA", "a0S5g0SD0000005EGA", "a0S5g0SD0000005EGA"),
    ("id", "a0P5g0SD0000008EGA", "a0P5g0SD0000008EGA", "a0P5g0SD0000008EGA"),
    ("date", "2026-12-07", datetime.date(2026, 12, 7), "2026-12-07"),
    ("datetime", "2026-12-07T19:30:00.000+0000", datetime.datetime(2026, 12, 7, 19, 30, tzinfo=datetime.UTC), "2026-12-07 14:30"),
    ("double", 90.0, Decimal("90.0"), "90"),
    ("currency", 12500, Decimal("12500"), "$12,500.00"),
    ("percent", 12.5, Decimal("12.5"), "12.5%"),
    ("int", 3, 3, "3"),
    ("int", "4", 4, "4"),
    ("boolean", True, True, "Yes"),
    ("boolean", "false", False, "No"),
])
def test_each_salesforce_type_converts_and_displays(sf_type, raw, expected, shown):
    value = convert(raw, sf_type, field="F__c")
    assert value == expected and type(value) is type(expected)
    assert display(value, sf_type, TORONTO) == shown


def test_every_offered_type_is_covered_by_the_table_above():
    covered = {"string", "picklist", "multipicklist", "email", "phone", "url", "textarea", "reference", "id", "date", "datetime",
               "double", "currency", "percent", "int", "boolean"}
    assert set(SF_TYPES) == covered


@pytest.mark.parametrize(("sf_type", "raw"), [
    ("date", "07/12/2026"), ("date", "2026-02-30"), ("datetime", "2026-12-07"), ("datetime", "tomorrow"),
    ("double", "ninety"), ("currency", "NaN"), ("int", 2.5), ("int", "K1S 2L7"), ("int", True), ("boolean", "yes"),
    ("boolean", 1), ("string", {"Name": "nested"}), ("no_such_type", "x"),
])
def test_a_value_that_is_not_of_its_type_is_refused_with_the_field_named(sf_type, raw):
    with pytest.raises(ConversionError, match=r"^F__c: .* is not a valid"):
        convert(raw, sf_type, field="F__c")


@pytest.mark.parametrize("sf_type", SF_TYPES)
def test_empty_values_are_none_whatever_the_type(sf_type):
    assert convert(None, sf_type) is None and convert("", sf_type) is None


def test_relationship_paths_are_read_case_insensitively_and_an_empty_parent_is_none():
    row = {"Id": "a0P1", "i360__Staff__r": {"attributes": {}, "Name": "Riley Rep"}, "Other__r": None}
    assert field_value(row, "i360__staff__r.name") == "Riley Rep"
    assert field_value(row, "Other__r.Name") is None and field_value(row, "Missing__c") is None


def _m(sf_field, sf_type, target="", notes=False, title=""):
    return {"title": title or sf_field, "sf_field": sf_field, "sf_type": sf_type, "target": target, "show_in_notes": notes}


def test_a_row_becomes_appointment_values_addresses_joined_and_notes_after_the_mapped_text():
    row = {"Id": "a0P5g0SD0000008", "Name__c": "Casey Client", "Street__c": "34 Oak Avenue", "City__c": "Gatineau",
           "Zip__c": None, "Start__c": "2026-12-07T15:00:00.000+0000", "Minutes__c": 89.6, "Notes__c": "Side entrance.",
           "Estimate__c": 8400, "Confirmed__c": False, "Lead__c": "2026-11-20", "Visit__c": 2, "Staff__c": "a0S5g0SD0000005EGA"}
    mappings = [_m("Name__c", "string", "customer_name"), _m("Street__c", "string", "address"), _m("City__c", "string", "address"),
                _m("Zip__c", "string", "address"), _m("Start__c", "datetime", "starts_at"), _m("Minutes__c", "double", "duration_minutes"),
                _m("Notes__c", "textarea", "notes"), _m("Estimate__c", "currency", notes=True, title="Estimate"),
                _m("Confirmed__c", "boolean", notes=True, title="Confirmed"), _m("Lead__c", "date", notes=True, title="Lead date"),
                _m("Visit__c", "int", notes=True, title="Visit"), _m("Staff__c", "reference")]

    values, record_id, source = appointment_values(row, mappings, TORONTO)

    assert record_id == "a0P5g0SD0000008"
    assert values == {"customer_name": "Casey Client", "address": "34 Oak Avenue, Gatineau",
                      "starts_at": datetime.datetime(2026, 12, 7, 15, 0, tzinfo=datetime.UTC), "duration_minutes": 90,
                      "notes": "Side entrance.\n\nEstimate: $8,400.00\nConfirmed: No\nLead date: 2026-11-20\nVisit: 2"}
    assert source["Staff__c"] == {"title": "Staff__c", "type": "reference", "value": "a0S5g0SD0000005EGA", "in_notes": False,
                                  "order": 11}


def test_a_date_only_start_is_midnight_where_the_tenant_is_and_a_mapped_record_id_wins():
    values, record_id, _ = appointment_values({"Id": "x", "Ext__c": "a0P000000000001", "Day__c": "2026-12-07"},
                                              [_m("Day__c", "date", "starts_at"), _m("Ext__c", "string", "salesforce_id")], TORONTO)
    assert values["starts_at"] == datetime.datetime(2026, 12, 7, 0, 0, tzinfo=TORONTO)
    assert record_id == "a0P000000000001"


def test_a_start_or_duration_of_the_wrong_kind_is_refused():
    with pytest.raises(ConversionError, match="the start needs a date or a datetime"):
        appointment_values({"Start__c": "soon"}, [_m("Start__c", "string", "starts_at")], TORONTO)
    with pytest.raises(ConversionError, match="the duration needs a number of minutes"):
        appointment_values({"Minutes__c": -5}, [_m("Minutes__c", "int", "duration_minutes")], TORONTO)


def test_text_longer_than_its_cothon_field_is_cut_to_fit():
    values, _, _ = appointment_values({"Phone__c": "6" * 60}, [_m("Phone__c", "phone", "phone")], TORONTO)
    assert values["phone"] == "6" * 40
