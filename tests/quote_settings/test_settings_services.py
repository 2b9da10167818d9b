"""Saving a connection's quote settings: checked against the org's Opportunity describe and the
tenant's own records; any bad input refuses the whole save with a clear message, nothing written
(and nothing set up in the org)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from proposals.models import QuoteCustomField
from sync_engine.quotes import settings_services
from sync_engine.quotes.models import QuoteSettings

pytestmark = pytest.mark.django_db


def valid(alice, **changes) -> dict:
    data = {"opportunity_to_quote": True, "contact_to_person": True, "trigger_stage": "Proposal",
            "conditions": [{"field": "Amount", "operator": ">", "value": "10000"}], "owner_id": alice.member.pk,
            "sync_back": True, "field_mappings": [{"sf_field": "Description", "target": "notes"}]}
    data.update(changes)
    return data


def refused(alice, connection, data) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        settings_services.quote_settings_save(tenant=alice.tenant, connection=connection, data=data, actor=alice.admin,
                                              apply_automation=False)
    assert not QuoteSettings.objects.exists(), "a refused save wrote settings"
    return caught.value.message_dict


def test_valid_settings_are_stored_with_the_orgs_spelling_of_each_field(alice, connected):
    data = valid(alice, conditions=[{"field": "amount", "operator": ">=", "value": "10,000.50"},
                                    {"field": "Type", "operator": "=", "value": "New Business"}],
                 field_mappings=[{"sf_field": "description", "target": "notes"}])
    saved = settings_services.quote_settings_save(tenant=alice.tenant, connection=connected, data=data, actor=alice.admin,
                                                  apply_automation=False)
    saved.refresh_from_db()
    assert saved.trigger_stage == "Proposal" and saved.opportunity_to_quote and saved.sync_back
    assert saved.conditions == [{"field": "Amount", "operator": ">=", "value": "10000.50"},
                                {"field": "Type", "operator": "=", "value": "New Business"}]
    assert saved.field_mappings == [{"sf_field": "Description", "target": "notes"}]
    assert saved.owner == alice.member and saved.updated_by == alice.admin


def test_an_unknown_condition_field_is_refused(alice, connected):
    errors = refused(alice, connected, valid(alice, conditions=[{"field": "Budget__c", "operator": "=", "value": "1"}]))
    assert errors["conditions.0.field"] == ["“Budget__c” is not a field of this org's Opportunity."]


def test_a_number_operator_on_a_text_field_is_refused(alice, connected):
    errors = refused(alice, connected, valid(alice, conditions=[{"field": "NextStep", "operator": ">", "value": "5"}]))
    assert "NextStep is a string field: > compares numbers only" in errors["conditions.0.operator"][0]


def test_a_value_that_is_not_a_number_for_a_number_field_is_refused(alice, connected):
    errors = refused(alice, connected, valid(alice, conditions=[{"field": "Amount", "operator": ">", "value": "ten thousand"}]))
    assert errors["conditions.0.value"] == ["Amount is a number field: “ten thousand” is not a number (e.g. 10000 or 2500.50)."]


def test_other_condition_values_are_parsed_by_the_fields_type(alice, connected):
    errors = refused(alice, connected, valid(alice, conditions=[
        {"field": "IsPrivate", "operator": "=", "value": "yes"},
        {"field": "CloseDate", "operator": "=", "value": "14/05/2031"},
        {"field": "Type", "operator": "=", "value": "Charity"},
        {"field": "Amount", "operator": "≠", "value": "1"},
        {"field": "Description", "operator": "=", "value": "x"},
        {"field": "Amount", "operator": "=", "value": ""}]))
    assert errors["conditions.0.value"] == ["IsPrivate is a checkbox: enter true or false."]
    assert errors["conditions.1.value"] == ["CloseDate is a date: enter it as YYYY-MM-DD."]
    assert errors["conditions.2.value"][0].startswith("“Charity” is not a value of Type. Choose one of: New Business")
    assert errors["conditions.3.operator"] == ["Choose =, >, <, <= or >=."]
    assert "cannot be used in a flow condition" in errors["conditions.4.field"][0]  # long text is not filterable
    assert errors["conditions.5.value"] == ["Enter the value Amount is compared with."]


def test_a_stage_that_is_not_in_the_orgs_picklist_is_refused(alice, connected):
    errors = refused(alice, connected, valid(alice, trigger_stage="Proposal/Price Quote"))  # the sandbox's, not the demo org's
    assert errors["trigger_stage"] == ["“Proposal/Price Quote” is not a stage of this org. Choose one of: "
                                       "Prospecting, Qualification, Proposal, Negotiation, Closed Won, Closed Lost."]


def test_opportunity_to_quote_needs_a_stage_and_an_owner(alice, connected):
    errors = refused(alice, connected, valid(alice, trigger_stage="", owner_id=""))
    assert errors["trigger_stage"] == ["Choose the stage that turns an opportunity into a quote."]
    assert errors["owner"] == ["Choose who authors the quotes synced from Salesforce."]


@pytest.mark.parametrize("who", ["bob-admin", "alice-viewer", "no-such-user", "not-a-number"])
def test_an_owner_who_is_not_a_writing_member_of_this_tenant_is_refused(alice, bob, connected, who):
    owner = {"bob-admin": bob.admin.pk, "alice-viewer": alice.viewer.pk, "no-such-user": 999999, "not-a-number": "x"}[who]
    errors = refused(alice, connected, valid(alice, owner_id=owner))
    assert errors["owner"] == ["Choose a member of this organization (an admin or member) as the owner."]


def test_a_mapping_whose_types_do_not_fit_is_refused(alice, connected):
    for key, label, kind, options in (("budget", "Budget", "number", []), ("private", "Private", "checkbox", []),
                                      ("deal_type", "Deal type", "dropdown", ["New Business", "Services"])):
        QuoteCustomField.objects.create(tenant=alice.tenant, key=key, label=label, field_type=kind, options=options)
    errors = refused(alice, connected, valid(alice, field_mappings=[
        {"sf_field": "Name", "target": "custom:budget"},
        {"sf_field": "Amount", "target": "custom:private"},
        {"sf_field": "Type", "target": "custom:deal_type"},
        {"sf_field": "Amount", "target": "valid_until"},
        {"sf_field": "Nope__c", "target": "notes"},
        {"sf_field": "Name", "target": "custom:missing"},
        {"sf_field": "Description", "target": "notes"},
        {"sf_field": "NextStep", "target": "notes"}]))
    assert errors["field_mappings.0.target"] == ["Name is a string field; Budget holds a number."]
    assert errors["field_mappings.1.target"] == ["Amount is a currency field; Private holds a checkbox (true/false)."]
    assert errors["field_mappings.2.target"] == ["Deal type has no option for Existing Business (values of Type): add them "
                                                 "to the drop-down list or map another field."]
    assert errors["field_mappings.3.target"] == ["Amount is a currency field; Valid until holds a date."]
    assert errors["field_mappings.4.sf_field"] == ["“Nope__c” is not a field of this org's Opportunity."]
    assert errors["field_mappings.5.target"] == ["Choose a quote field or a custom quote field."]
    assert errors["field_mappings.7.target"] == ["Notes is already filled by another mapping."]
    assert "field_mappings.6.target" not in errors


def test_another_tenants_custom_field_is_not_a_target(alice, bob, connected):
    QuoteCustomField.objects.create(tenant=bob.tenant, key="budget", label="Budget", field_type="number")
    errors = refused(alice, connected, valid(alice, field_mappings=[{"sf_field": "Amount", "target": "custom:budget"}]))
    assert errors["field_mappings.0.target"] == ["Choose a quote field or a custom quote field."]


def test_compatible_custom_fields_are_accepted(alice, connected):
    QuoteCustomField.objects.create(tenant=alice.tenant, key="budget", label="Budget", field_type="number")
    QuoteCustomField.objects.create(tenant=alice.tenant, key="sf_id", label="Salesforce id", field_type="text")
    QuoteCustomField.objects.create(tenant=alice.tenant, key="deal_type", label="Deal type", field_type="dropdown",
                                    options=["New Business", "Existing Business", "Services"])
    mappings = [{"sf_field": "Amount", "target": "custom:budget"}, {"sf_field": "Id", "target": "custom:sf_id"},
                {"sf_field": "Type", "target": "custom:deal_type"}, {"sf_field": "CloseDate", "target": "valid_until"}]
    saved = settings_services.quote_settings_save(tenant=alice.tenant, connection=connected,
                                                  data=valid(alice, field_mappings=mappings), actor=alice.admin,
                                                  apply_automation=False)
    assert saved.field_mappings == mappings


def test_a_disconnected_org_cannot_be_checked_so_nothing_is_saved(alice, connected):
    connected.status = "disconnected"
    connected.save(update_fields=["status"])
    errors = refused(alice, connected, valid(alice))
    assert "connect the org" in errors["__all__"][0]


def test_another_tenants_connection_is_refused(alice, bob, connected):
    with pytest.raises(ValidationError):
        settings_services.quote_settings_save(tenant=bob.tenant, connection=connected, data=valid(alice), actor=bob.admin,
                                              apply_automation=False)
    assert not QuoteSettings.objects.exists()
