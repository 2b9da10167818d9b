"""Settings › Integrations › Salesforce › Quotes: the page, its save and its "Set up again", for
admins of the connection's tenant only (another tenant's connection is a 404)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sync_engine.quotes.models import QuoteSettings

pytestmark = pytest.mark.django_db


def form(alice, **changes) -> dict:
    data = {"opportunity_to_quote": "on", "contact_to_person": "on", "trigger_stage": "Proposal",
            "owner": str(alice.member.pk), "sync_back": "enabled",
            "condition_count": "3", "condition-0-field": "Amount", "condition-0-operator": ">", "condition-0-value": "10000",
            "condition-1-field": "", "condition-1-operator": "=", "condition-1-value": "",
            "condition-2-field": "", "condition-2-operator": "=", "condition-2-value": "",
            "mapping_count": "2", "mapping-0-sf_field": "NextStep", "mapping-0-target": "notes",
            "mapping-1-sf_field": "", "mapping-1-target": ""}
    data.update(changes)
    return data


def test_the_page_shows_the_orgs_stages_and_fields_and_the_tab(alice, connected, web_as):
    response = web_as(alice.admin).get(reverse("quote_settings:edit", args=[connected.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for stage in ("Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"):
        assert f'<option value="{stage}">{stage}</option>' in html
    assert 'value="Amount"' in html and "Account → Company" not in html  # the locked row says it in its own words
    assert "Always on, with the opportunity" in html and "Automation in the org" in html
    assert f'href="{reverse("quote_settings:edit", args=[connected.pk])}" aria-current="page"' in html


def test_saving_stores_the_settings_and_sets_up_the_org(alice, connected, web_as):
    client = web_as(alice.admin)
    response = client.post(reverse("quote_settings:edit", args=[connected.pk]), form(alice))
    assert response.status_code == 302
    saved = QuoteSettings.objects.get(connection=connected)
    assert saved.trigger_stage == "Proposal" and saved.owner == alice.member and saved.sync_back
    assert saved.conditions == [{"field": "Amount", "operator": ">", "value": "10000"}]
    assert saved.field_mappings == [{"sf_field": "NextStep", "target": "notes"}]
    assert saved.automation["state"] == "ok", saved.automation
    page = client.get(response["Location"]).content.decode()
    assert "Quote settings saved. In the org: outbound message created, flow new version (version 1)." in page
    assert 'data-state="ok"' in page


def test_a_removed_row_is_dropped(alice, connected, web_as):
    client = web_as(alice.admin)
    client.post(reverse("quote_settings:edit", args=[connected.pk]), form(alice))
    client.post(reverse("quote_settings:edit", args=[connected.pk]), form(alice, **{"condition-0-remove": "on"}))
    assert QuoteSettings.objects.get().conditions == []


@pytest.mark.parametrize("changes, message", [
    ({"condition-0-field": "NextStep"}, "NextStep is a string field: &gt; compares numbers only."),
    ({"condition-0-value": "lots"}, "Amount is a number field: “lots” is not a number"),
    ({"condition-0-field": "Budget__c"}, "“Budget__c” is not a field of this org&#x27;s Opportunity."),
    ({"trigger_stage": "Closed Maybe"}, "“Closed Maybe” is not a stage of this org."),
    ({"mapping-0-sf_field": "Amount", "mapping-0-target": "valid_until"}, "Amount is a currency field; Valid until holds a date."),
])
def test_bad_input_on_the_page_is_shown_and_nothing_is_saved(alice, connected, web_as, changes, message):
    response = web_as(alice.admin).post(reverse("quote_settings:edit", args=[connected.pk]), form(alice, **changes))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved: 1 problem to fix." in html and message in html
    assert not QuoteSettings.objects.exists()


def test_an_owner_from_another_tenant_is_refused_on_the_page(alice, bob, connected, web_as):
    response = web_as(alice.admin).post(reverse("quote_settings:edit", args=[connected.pk]), form(alice, owner=str(bob.admin.pk)))
    assert response.status_code == 400
    assert "Choose a member of this organization (an admin or member) as the owner." in response.content.decode()
    assert not QuoteSettings.objects.exists()


def test_set_up_again_reapplies_the_saved_settings(alice, connected, web_as):
    client = web_as(alice.admin)
    url = reverse("quote_settings:automation", args=[connected.pk])
    client.post(url)
    assert not QuoteSettings.objects.exists()  # nothing saved yet: nothing to set up
    client.post(reverse("quote_settings:edit", args=[connected.pk]), form(alice))
    first = QuoteSettings.objects.get().automation["at"]
    assert client.post(url).status_code == 302
    again = QuoteSettings.objects.get().automation
    assert again["state"] == "ok" and again["flow"]["outcome"] == "unchanged" and again["at"] > first


@pytest.mark.parametrize("name, method", [("edit", "get"), ("edit", "post"), ("automation", "post")])
def test_another_tenants_connection_is_a_404(alice, bob, connected, web_as, name, method):
    client = web_as(bob.admin)
    response = getattr(client, method)(reverse(f"quote_settings:{name}", args=[connected.pk]), form(alice))
    assert response.status_code == 404
    assert not QuoteSettings.objects.exists()


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_only_admins_see_the_page(alice, connected, web_as, role):
    response = web_as(getattr(alice, role)).get(reverse("quote_settings:edit", args=[connected.pk]))
    assert response.status_code == 403
