"""Custom quote fields: definitions (create/update/delete) and quote_custom_values_clean, the one
check of their values (the inbound Salesforce sync calls it for mapped values)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from proposals import quote_services
from proposals.models import Quote, QuoteCustomField
from proposals.quote_custom_fields import (
    CUSTOM_FIELDS_MAX,
    quote_custom_field_create,
    quote_custom_field_delete,
    quote_custom_field_update,
    quote_custom_values_clean,
)


@pytest.fixture
def fields(alice):
    tenant = alice.tenant
    return {
        "po": quote_custom_field_create(tenant=tenant, label="PO number", field_type="text"),
        "hours": quote_custom_field_create(tenant=tenant, label="Estimated hours", field_type="number"),
        "cleared": quote_custom_field_create(tenant=tenant, label="Security clearance", field_type="checkbox"),
        "vehicle": quote_custom_field_create(tenant=tenant, label="Vehicle", field_type="dropdown",
                                             options=["Standing offer", "Supply arrangement", " "]),
    }


def test_keys_come_from_labels_and_options_are_trimmed(fields):
    assert [f.key for f in fields.values()] == ["po_number", "estimated_hours", "security_clearance", "vehicle"]
    assert fields["vehicle"].options == ["Standing offer", "Supply arrangement"]
    assert [f.position for f in fields.values()] == [0, 1, 2, 3]


def test_values_are_cleaned_by_type(alice, fields):
    cleaned = quote_custom_values_clean(tenant=alice.tenant, values={
        "po_number": "  PO-77 ", "estimated_hours": "1,250.50", "security_clearance": "yes", "vehicle": "Standing offer"})
    assert cleaned == {"po_number": "PO-77", "estimated_hours": "1250.5", "security_clearance": True,
                       "vehicle": "Standing offer"}
    assert quote_custom_values_clean(tenant=alice.tenant, values={"estimated_hours": 0.1, "security_clearance": False}) == {
        "estimated_hours": "0.1", "security_clearance": False}
    assert quote_custom_values_clean(tenant=alice.tenant, values={"po_number": "", "vehicle": None}) == {
        "po_number": None, "vehicle": None}


@pytest.mark.parametrize("values, errors", [
    ({"estimated_hours": "lots"}, {"estimated_hours": ["Enter a number."]}),
    ({"estimated_hours": "NaN"}, {"estimated_hours": ["Enter a number."]}),
    ({"estimated_hours": "1e400"}, {"estimated_hours": ["A number can be at most 9,999,999,999,999.99 (either sign)."]}),
    ({"estimated_hours": "1.00001"}, {"estimated_hours": ["A number can have at most 4 decimals."]}),
    ({"estimated_hours": True}, {"estimated_hours": ["Enter a number."]}),
    ({"security_clearance": "maybe"}, {"security_clearance": ["Enter true or false."]}),
    ({"vehicle": "Sole source"}, {"vehicle": ["“Sole source” is not an option; choose one of: Standing offer, Supply arrangement."]}),
    ({"po_number": "x" * 1001}, {"po_number": ["A text can be at most 1000 characters."]}),
    ({"po_number": ["a", "list"]}, {"po_number": ["Enter a text."]}),
    ({"nope": "1"}, {"nope": ["No custom quote field has this key."]}),
])
def test_bad_values_are_refused_keyed_by_field(alice, fields, values, errors):
    with pytest.raises(ValidationError) as exc:
        quote_custom_values_clean(tenant=alice.tenant, values=values)
    assert exc.value.message_dict == errors


def test_another_tenants_field_is_unknown(alice, bob, fields):
    with pytest.raises(ValidationError) as exc:
        quote_custom_values_clean(tenant=bob.tenant, values={"po_number": "PO-1"})
    assert list(exc.value.message_dict) == ["po_number"]


def test_a_quote_merges_its_custom_values_and_a_bad_one_writes_nothing(alice, fields):
    quote = quote_services.quote_create(tenant=alice.tenant, title="Q", custom_values={"po_number": "PO-1",
                                                                                       "estimated_hours": 10})
    quote_services.quote_update(tenant=alice.tenant, quote=quote, data={"custom_values": {"po_number": None,
                                                                                          "vehicle": "Standing offer"}})
    quote.refresh_from_db()
    assert quote.custom_values == {"estimated_hours": "10", "vehicle": "Standing offer"}
    with pytest.raises(ValidationError):
        quote_services.quote_update(tenant=alice.tenant, quote=quote, data={"title": "Changed",
                                                                            "custom_values": {"vehicle": "Other"}})
    quote.refresh_from_db()
    assert (quote.title, quote.custom_values["vehicle"]) == ("Q", "Standing offer")


@pytest.mark.parametrize("kwargs, key", [
    ({"label": "", "field_type": "text"}, "label"),
    ({"label": "L" * 81, "field_type": "text"}, "label"),
    ({"label": "Colour", "field_type": "colour"}, "field_type"),
    ({"label": "Choice", "field_type": "dropdown"}, "options"),
    ({"label": "Choice", "field_type": "dropdown", "options": ["a", "a"]}, "options"),
    ({"label": "Choice", "field_type": "dropdown", "options": ["x" * 101]}, "options"),
    ({"label": "Choice", "field_type": "dropdown", "options": [str(n) for n in range(101)]}, "options"),
    ({"label": "Text", "field_type": "text", "options": ["a"]}, "options"),
    ({"label": "PO", "field_type": "text", "key": "po_number"}, "key"),
    ({"label": "PO", "field_type": "text", "key": "Bad Key!"}, "key"),
    ({"label": "PO", "field_type": "text", "key": "9lives"}, "key"),
])
def test_bad_definitions_are_refused(alice, fields, kwargs, key):
    count = QuoteCustomField.objects.count()
    with pytest.raises(ValidationError) as exc:
        quote_custom_field_create(tenant=alice.tenant, **kwargs)
    assert key in exc.value.message_dict
    assert QuoteCustomField.objects.count() == count


def test_an_organization_has_at_most_50_fields(alice, fields):
    for n in range(CUSTOM_FIELDS_MAX - len(fields)):
        quote_custom_field_create(tenant=alice.tenant, label=f"Field {n}", field_type="text")
    with pytest.raises(ValidationError) as exc:
        quote_custom_field_create(tenant=alice.tenant, label="One more", field_type="text")
    assert exc.value.message_dict == {"label": ["An organization can have at most 50 custom quote fields."]}


def test_an_option_in_use_cannot_be_removed(alice, fields):
    quote_services.quote_create(tenant=alice.tenant, title="Q", custom_values={"vehicle": "Standing offer"})
    with pytest.raises(ValidationError) as exc:
        quote_custom_field_update(tenant=alice.tenant, field=fields["vehicle"], options=["Supply arrangement"])
    assert exc.value.message_dict == {"options": [
        "Quotes use “Standing offer”: change their value before removing the option."]}
    updated = quote_custom_field_update(tenant=alice.tenant, field=fields["vehicle"], label="Contract vehicle",
                                        options=["Standing offer", "Sole source"])
    assert (updated.label, updated.options, updated.key) == ("Contract vehicle", ["Standing offer", "Sole source"], "vehicle")


def test_deleting_a_field_removes_its_values(alice, fields):
    quote = quote_services.quote_create(tenant=alice.tenant, title="Q", custom_values={"po_number": "PO-1",
                                                                                       "estimated_hours": Decimal("2")})
    assert quote_custom_field_delete(tenant=alice.tenant, field=fields["po"]) == 1
    assert Quote.objects.get(pk=quote.pk).custom_values == {"estimated_hours": "2"}
    with pytest.raises(PermissionError):
        quote_custom_field_delete(tenant=alice.tenant, field=QuoteCustomField(tenant_id=alice.tenant.pk + 1000, pk=1))
