"""The routing settings pages: each kind saves its rule; unknown placeholders, bad e-mail
addresses, an object class or picker field the org does not have are refused with nothing
saved; the credit application password is encrypted and never shown back; "Load from
Salesforce" fills a picker's options; another tenant's connection is a 404."""

from __future__ import annotations

import pytest

from integrations.crypto import decrypt_token
from sync_engine.appointments.models import RoutingKind, RoutingRule
from sync_engine.appointments.placeholders import PLACEHOLDERS

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]


def _url(connection, kind):
    return f"/settings/integrations/salesforce/{connection.pk}/routing/{kind}/"


def _results_post(**overrides):
    data = {"enabled": "on", "file_name_template": "%customerName% Results %date%.pdf", "backup_recipients": "office@alice.example",
            "note_title": "Appointment results", "object_class": "i360__Appointment__c",
            "sale-rows": "3", "sale-0-title": "Lead Result", "sale-0-options": "Sold", "sale-0-sf_field": "i360__Result__c",
            "sale-0-required": "on",
            "no_sale-rows": "3", "no_sale-0-title": "Lead Result", "no_sale-0-options": "Demo Not Sold\nDemo Maybe",
            "no_sale-0-sf_field": "i360__Result__c", "no_sale-0-required": "on",
            "no_sale-1-title": "Result Reason", "no_sale-1-options": "Too Expensive\r\nGetting Other Estimates",
            "no_sale-1-sf_field": "i360__result_reason__c"}
    data.update(overrides)
    return data


@pytest.mark.parametrize("kind", [RoutingKind.CONTRACT, RoutingKind.PROPOSAL, RoutingKind.CUSTOM_DOCUMENT])
def test_a_document_routing_rule_saves(alice, connected, web_as, kind):
    client = web_as(alice.admin)
    assert client.get(_url(connected, kind)).status_code == 200
    response = client.post(_url(connected, kind), {"enabled": "on", "file_name_template": "%customerName%  Contract %date%.pdf",
                                                   "backup_recipients": "office@alice.example, Backup@alice.example\noffice@alice.example"})
    assert response.status_code == 302
    rule = RoutingRule.objects.get(connection=connected, kind=kind)
    assert rule.enabled and rule.file_name_template == "%customerName% Contract %date%.pdf"
    assert rule.backup_recipients == ["office@alice.example", "Backup@alice.example"]
    assert rule.updated_by == alice.admin
    page = client.get(_url(connected, kind)).content.decode()
    assert "%customerName% Contract %date%.pdf" in page and "Backup@alice.example" in page


def test_an_unknown_placeholder_is_refused_with_its_name_and_nothing_is_saved(alice, connected, web_as):
    client = web_as(alice.admin)
    response = client.post(_url(connected, "contract"), {"enabled": "on", "file_name_template": "%custmerName% Contract %date% %foo%.pdf",
                                                         "backup_recipients": "office@alice.example"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was saved" in page and "%custmerName%" in page and "%foo%" in page
    assert not RoutingRule.objects.exists()


def test_percent_signs_that_are_not_placeholders_are_text(alice, connected, web_as):
    response = web_as(alice.admin).post(_url(connected, "contract"), {"file_name_template": "100% signed %date%.pdf"})
    assert response.status_code == 302


def test_bad_backup_recipients_are_refused(alice, connected, web_as):
    response = web_as(alice.admin).post(_url(connected, "proposal"), {"enabled": "on", "file_name_template": "%customerName%.pdf",
                                                                      "backup_recipients": "office@alice.example not-an-address"})
    assert response.status_code == 400
    assert "“not-an-address” is not an e-mail address." in response.content.decode()
    assert not RoutingRule.objects.exists()


def test_a_rule_that_is_on_needs_a_file_name(alice, connected, web_as):
    response = web_as(alice.admin).post(_url(connected, "contract"), {"enabled": "on", "file_name_template": ""})
    assert response.status_code == 400 and "A file name is required" in response.content.decode()


def test_results_routing_saves_pickers_checked_against_the_org(alice, connected, web_as):
    client = web_as(alice.admin)
    response = client.post(_url(connected, "results"), _results_post())
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = RoutingRule.objects.get(connection=connected, kind=RoutingKind.RESULTS)
    assert rule.note_title == "Appointment results" and rule.object_class == "i360__Appointment__c"
    assert rule.sale_pickers == [{"title": "Lead Result", "options": ["Sold"], "sf_field": "i360__Result__c", "required": True}]
    assert rule.no_sale_pickers == [
        {"title": "Lead Result", "options": ["Demo Not Sold", "Demo Maybe"], "sf_field": "i360__Result__c", "required": True},
        # The field's name as the org spells it.
        {"title": "Result Reason", "options": ["Too Expensive", "Getting Other Estimates"], "sf_field": "i360__Result_Reason__c",
         "required": False},
    ]
    page = client.get(_url(connected, "results")).content.decode()
    assert "Demo Not Sold\nDemo Maybe" in page and 'name="no_sale-2-title"' in page  # blank rows to add more


@pytest.mark.parametrize(("overrides", "message"), [
    ({"object_class": "i360__Apointment__c"}, "The org has no object i360__Apointment__c"),
    ({"object_class": ""}, "The object class is required"),
    ({"sale-0-sf_field": "i360__Outcome__c"}, "Sale row 1: i360__Appointment__c has no field i360__Outcome__c."),
    ({"sale-0-sf_field": "i360__Start__c"}, "is a datetime field"),
    ({"no_sale-0-options": ""}, "No sale row 1: give at least one option"),
    ({"no_sale-1-title": ""}, "No sale row 2: a title is required."),
    ({"sale-0-sf_field": ""}, "Sale row 1: the Salesforce field is required."),
    ({"note_title": ""}, "A note title is required"),
])
def test_results_routing_refuses_what_the_org_does_not_have(alice, connected, web_as, overrides, message):
    response = web_as(alice.admin).post(_url(connected, "results"), _results_post(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not RoutingRule.objects.exists()


def test_load_from_salesforce_fills_a_pickers_options_with_the_picklist_values(alice, connected, web_as):
    client = web_as(alice.admin)
    url = f"/settings/integrations/salesforce/{connected.pk}/routing/picklist/"
    response = client.get(url, {"target": "no_sale-1", "object_class": "i360__Appointment__c", "no_sale-1-sf_field": "i360__Result_Reason__c",
                                "no_sale-1-options": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = response.content.decode()
    # The demo org's Result Reason picklist, in its order (salesforce_emulator/orgs/demo.yaml).
    assert ("Appointment Cancelled\nToo Expensive\nGetting Other Estimates\nNeeds Spouse\nNot Interested\nFinancing Declined"
            in page and "Loaded from Salesforce" in page)
    response = client.get(url, {"target": "sale-0", "object_class": "i360__Appointment__c", "sale-0-sf_field": "i360__Notes__c",
                                "sale-0-options": "kept"})
    assert "without picklist values" in response.content.decode() and ">kept</textarea>" in response.content.decode()
    assert client.get(url, {"target": "<script>"}).status_code == 404


def test_credit_app_password_is_encrypted_and_never_shown_back(alice, connected, web_as):
    client = web_as(alice.admin)
    response = client.post(_url(connected, "credit_app"), {"enabled": "on", "file_name_template": "%customerName% Credit App %date%.pdf",
                                                           "disclosure": "By signing you allow us to check your credit.",
                                                           "password": "Sekret-Pass-42"})
    assert response.status_code == 302
    rule = RoutingRule.objects.get(connection=connected, kind=RoutingKind.CREDIT_APP)
    assert b"Sekret-Pass-42" not in bytes(rule.password_encrypted)
    assert decrypt_token(rule.password_encrypted) == "Sekret-Pass-42"
    page = client.get(_url(connected, "credit_app")).content.decode()
    assert "Sekret-Pass-42" not in page and "A password is set" in page
    # Blank keeps it.
    client.post(_url(connected, "credit_app"), {"enabled": "on", "file_name_template": "x.pdf", "disclosure": "Changed", "password": ""})
    rule.refresh_from_db()
    assert rule.disclosure == "Changed" and decrypt_token(rule.password_encrypted) == "Sekret-Pass-42"


@pytest.mark.parametrize(("data", "message"), [
    ({"enabled": "on", "file_name_template": "x.pdf", "disclosure": "D", "password": ""}, "A password is required"),
    ({"enabled": "on", "file_name_template": "x.pdf", "disclosure": "D", "password": "short"}, "8 to 128 characters"),
    ({"enabled": "on", "file_name_template": "x.pdf", "disclosure": "", "password": "Long-enough-1"}, "The disclosure"),
])
def test_credit_app_bad_input_is_refused(alice, connected, web_as, data, message):
    response = web_as(alice.admin).post(_url(connected, "credit_app"), data)
    assert response.status_code == 400 and message in response.content.decode()
    assert not RoutingRule.objects.exists()


def test_the_page_lists_every_placeholder(alice, connected, web_as):
    page = web_as(alice.admin).get(_url(connected, "contract")).content.decode()
    for name in PLACEHOLDERS:
        assert f"%{name}%" in page


def test_the_routing_overview_shows_each_kind(alice, connected, web_as):
    page = web_as(alice.admin).get(f"/settings/integrations/salesforce/{connected.pk}/routing/").content.decode()
    for heading in ("Workflow › Document Routing", "Workflow › Results Routing", "Finance › Credit App Sending"):
        assert heading in page


def test_another_tenants_connection_is_a_404_and_members_are_refused(alice, bob, connected, web_as, client):
    base = f"/settings/integrations/salesforce/{connected.pk}/routing/"
    web_as(bob.admin)
    for url in (base, base + "contract/", base + "files/", base + "picklist/?target=sale-0"):
        assert client.get(url).status_code == 404, url
    assert client.post(base + "contract/", {"file_name_template": "x.pdf"}).status_code == 404
    assert not RoutingRule.objects.exists()
    web_as(alice.member)
    assert client.get(base).status_code == 403
    web_as(alice.admin)
    assert client.get(base + "invoice/").status_code == 404
